"""Buffers job outcomes and writes them in batched transactions while a chunk runs.

Writing as results arrive (not only at the end of a chunk) keeps ``sluice status`` live;
batching keeps it to one statement per table per flush rather than one per job. Outcomes
stay buffered until Postgres has them: while it is unreachable the writer waits and retries
(the results were paid for), and a row Postgres refuses is isolated so it cannot sink the rest.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from types import TracebackType

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from worker.domain.log import log_event
from worker.domain.states import JobState
from worker.jobstore import JobOutcome, record_outcomes

logger = logging.getLogger("sluice.results")

FLUSH_AT_OUTCOMES = 200  #: flush early once this many outcomes wait
RETRY_FIRST_WAIT_S = 0.2  #: first wait after Postgres refused a connection
RETRY_MAX_WAIT_S = 5.0  #: longest wait between tries while Postgres is down


class ResultWriter:
    def __init__(self, *, flush_s: float) -> None:
        self._flush_s = flush_s
        self._buffer: list[JobOutcome] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.lost_lease = 0
        self.finished_batches = 0
        self.written_ids: set[int] = set()

    def add(self, outcome: JobOutcome) -> None:
        self._buffer.append(outcome)
        if len(self._buffer) >= FLUSH_AT_OUTCOMES:
            self._wake.set()

    async def __aenter__(self) -> ResultWriter:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._flush_s)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()
            if self._closing and not self._buffer:
                return

    async def flush(self) -> None:
        if not self._buffer:
            return
        pending, self._buffer = self._buffer, []
        try:
            written, finished = await self._write_reachable(pending)
        except SQLAlchemyError:  # Postgres refused something in this lot: find what
            written, finished = await self._write_one_by_one(pending)
        except BaseException:
            self._buffer = pending + self._buffer  # nothing was written; keep every outcome
            raise
        self._account(pending, written, finished)

    async def _write_reachable(self, outcomes: list[JobOutcome]) -> tuple[set[int], set[object]]:
        """Write, waiting out a Postgres that is down or restarting for as long as it takes."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(OperationalError),
            wait=wait_exponential(multiplier=RETRY_FIRST_WAIT_S, max=RETRY_MAX_WAIT_S),
            before_sleep=lambda state: log_event(
                logger,
                "results_write_waiting",
                level=logging.WARNING,
                jobs=len(outcomes),
                tries=state.attempt_number,
            ),
            reraise=True,
        ):
            with attempt:
                written, finished = await asyncio.to_thread(record_outcomes, outcomes)
                return set(written), set(finished)
        raise AssertionError("unreachable: the retry loop returns or raises")

    async def _write_one_by_one(self, outcomes: list[JobOutcome]) -> tuple[set[int], set[object]]:
        written: set[int] = set()
        finished: set[object] = set()
        for outcome in outcomes:
            # as it is; else failed without its output; else failed without its attempts too
            versions = [outcome, _unstorable(outcome), replace(_unstorable(outcome), attempts=[])]
            for version in versions:
                try:
                    one_written, one_finished = await self._write_reachable([version])
                except SQLAlchemyError as err:
                    log_event(
                        logger,
                        "result_unstorable",
                        level=logging.ERROR,
                        job=outcome.job.id,
                        batch=outcome.job.batch_id,
                        error=type(err).__name__,
                        cost_usd=sum(a.cost_usd for a in version.attempts),
                    )
                    continue
                written |= one_written
                finished |= one_finished
                break
        return written, finished

    def _account(self, pending: list[JobOutcome], written: set[int], finished: set[object]) -> None:
        self.written += len(written)
        self.written_ids |= written
        self.finished_batches += len(finished)
        lost = len(pending) - len(written)
        if lost:
            self.lost_lease += lost
            log_event(logger, "results_skipped_lease_lost", level=logging.WARNING, jobs=lost)
        for batch_id in finished:
            log_event(logger, "batch_completed", batch=batch_id)


def _unstorable(outcome: JobOutcome) -> JobOutcome:
    """The same job failed with a stated reason, keeping only fields that are always storable."""
    attempts = [replace(a, error_message=None) for a in outcome.attempts]
    return replace(
        outcome,
        state=JobState.failed,
        label=None,
        output=None,
        error_code="unstorable_output",
        error_message="Postgres refused to store this job's output",
        attempts=attempts,
    )

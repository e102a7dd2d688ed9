"""Writes calls and job results to Postgres in batched transactions while a chunk runs.

Calls are written as they finish, not when their job ends: the attempts table is the spend
ledger the budget counters are rebuilt from, so it must not lag behind a job's retries.
Results are written as jobs finish, which keeps ``sluice status`` live; batching keeps it to
one statement per table per flush. Nothing leaves the buffer until Postgres has it: while
Postgres is unreachable the writer waits and retries (the calls were paid for), and a row
Postgres refuses is isolated so it cannot sink the rest.
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
from worker.jobstore import JobOutcome, PendingAttempt, new_attempts, record

logger = logging.getLogger("sluice.results")

FLUSH_AT_OUTCOMES = 200  #: flush early once this many outcomes wait
RETRY_FIRST_WAIT_S = 0.2  #: first wait after Postgres refused a connection
RETRY_MAX_WAIT_S = 5.0  #: longest wait between tries while Postgres is down

Written = tuple[set[int], set[object]]  #: (job ids written, batches finished)


class ResultWriter:
    def __init__(self, *, flush_s: float) -> None:
        self._flush_s = flush_s
        self._running: dict[int, JobOutcome] = {}  #: jobs in progress, by job id
        self._finished: list[JobOutcome] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.lost_lease = 0
        self.finished_batches = 0

    def track(self, outcome: JobOutcome) -> None:
        """Store this job's calls as they finish, before the job does."""
        self._running[outcome.job.id] = outcome

    def add(self, outcome: JobOutcome) -> None:
        """The job is done: store its result (and any calls not stored yet)."""
        self._running.pop(outcome.job.id, None)
        self._finished.append(outcome)
        if len(self._finished) >= FLUSH_AT_OUTCOMES:
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
            if self._closing and not self._finished:
                return

    async def flush(self) -> None:
        outcomes, self._finished = self._finished, []
        involved = [*self._running.values(), *outcomes]  # jobs may finish while we write
        batches = {id(o): new_attempts(o) for o in involved}
        attempts = [attempt for pending in batches.values() for attempt in pending]
        if not attempts and not outcomes:
            return
        try:
            try:
                written, finished = await self._write_reachable(attempts, outcomes)
            except SQLAlchemyError:  # Postgres refused something in this lot: find what
                written, finished = await self._write_one_by_one(involved, outcomes, batches)
        except BaseException:
            self._finished = outcomes + self._finished  # nothing was stored; keep it all
            raise
        for outcome in involved:
            outcome.persisted_attempts += len(batches[id(outcome)])
        self._account(outcomes, written, finished)

    async def _write_reachable(
        self, attempts: list[PendingAttempt], outcomes: list[JobOutcome]
    ) -> Written:
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
                written, finished = await asyncio.to_thread(record, attempts, outcomes)
                return set(written), set(finished)
        raise AssertionError("unreachable: the retry loop returns or raises")

    async def _write_one_by_one(
        self,
        involved: list[JobOutcome],
        outcomes: list[JobOutcome],
        batches: dict[int, list[PendingAttempt]],
    ) -> Written:
        written: set[int] = set()
        finished: set[object] = set()
        for outcome in involved:
            pending = batches.get(id(outcome), [])
            is_done = outcome in outcomes
            # as it is; else failed without its output; else without its calls too
            versions = [
                (pending, outcome),
                (pending, _unstorable(outcome)),
                ([], _unstorable(outcome)),
            ]
            for calls, version in versions:
                try:
                    one = await self._write_reachable(calls, [version] if is_done else [])
                except SQLAlchemyError as err:
                    log_event(
                        logger,
                        "result_unstorable",
                        level=logging.ERROR,
                        job=outcome.job.id,
                        batch=outcome.job.batch_id,
                        error=type(err).__name__,
                        cost_usd=sum(a.cost_usd for _, a in calls),
                    )
                    continue
                written |= one[0]
                finished |= one[1]
                break
        return written, finished

    def _account(
        self, outcomes: list[JobOutcome], written: set[int], finished: set[object]
    ) -> None:
        self.written += len(written)
        self.finished_batches += len(finished)
        lost = len(outcomes) - len(written)
        if lost:
            self.lost_lease += lost
            log_event(logger, "results_skipped_lease_lost", level=logging.WARNING, jobs=lost)
        for batch_id in finished:
            log_event(logger, "batch_completed", batch=batch_id)


def _unstorable(outcome: JobOutcome) -> JobOutcome:
    """The same job failed with a stated reason, keeping only fields that are always storable."""
    return replace(
        outcome,
        state=JobState.failed,
        label=None,
        output=None,
        error_code="unstorable_output",
        error_message="Postgres refused to store this job's output",
    )

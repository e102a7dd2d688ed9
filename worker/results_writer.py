"""Buffers job outcomes and writes them in batched transactions while a chunk runs.

Writing as results arrive (not only at the end of a chunk) keeps ``sluice status`` live;
batching keeps it to one statement per table per flush rather than one per job.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

from sqlalchemy.exc import OperationalError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from worker.domain.log import log_event
from worker.jobstore import JobOutcome, record_outcomes

logger = logging.getLogger("sluice.results")

FLUSH_AT_OUTCOMES = 200  #: flush early once this many outcomes wait
WRITE_RETRY_FOR_S = 60.0  #: keep retrying a write this long while Postgres is unreachable


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
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(OperationalError),
            stop=stop_after_delay(WRITE_RETRY_FOR_S),
            wait=wait_exponential(multiplier=0.2, max=5),
            reraise=True,
        ):
            with attempt:
                written, finished = await asyncio.to_thread(record_outcomes, pending)
        self.written += len(written)
        self.finished_batches += len(finished)
        lost = len(pending) - len(written)
        if lost:
            self.lost_lease += lost
            log_event(logger, "results_skipped_lease_lost", level=logging.WARNING, jobs=lost)
        for batch_id in finished:
            log_event(logger, "batch_completed", batch=batch_id)

"""Runs a chunk of jobs concurrently on the process's event loop.

For each job: render the task, walk its route (primary model, then fallbacks), let the Caller
make each guarded call, re-ask once on an answer outside the task's schema, and hand the
outcome to the result writer. A job whose next call no budget can cover stops as
``waiting_budget``; the sweeper sends it again when a budget has room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial

from sqlalchemy.exc import OperationalError

from worker.calls import Caller
from worker.domain.config import TaskConfig
from worker.domain.errors import BudgetExhausted, Permanent, ProviderError, Retryable
from worker.domain.log import log_event
from worker.domain.states import JobState
from worker.domain.tasks_spec import TaskRequest, build_request, validate_output
from worker.jobstore import ClaimedJob, JobOutcome, claim_jobs, extend_leases, hand_back
from worker.providers.base import MAX_ERROR_CHARS
from worker.results_writer import ResultWriter
from worker.shutdown import StopWatch

logger = logging.getLogger("sluice.executor")

HEARTBEATS_PER_LEASE = 3  #: leases are renewed this many times per lease period


@dataclass
class ChunkReport:
    claimed: int
    written: int
    finished_batches: int
    batch_ids: tuple[str, ...] = ()
    handed_back: int = 0  #: jobs given back unfinished because the worker is stopping


class Executor:
    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.config = caller.config

    async def aclose(self) -> None:
        """Close the provider clients and the Redis connections."""
        await self.caller.providers.aclose()
        await self.caller.limiter.aclose()
        await self.caller.ledger.aclose()

    async def run_chunk(
        self, job_ids: Sequence[int], *, stop: StopWatch | None = None
    ) -> ChunkReport:
        jobs = await asyncio.to_thread(claim_jobs, job_ids, lease_s=self.config.worker.lease_s)
        if not jobs:
            return ChunkReport(claimed=0, written=0, finished_batches=0)
        writer = ResultWriter(flush_s=self.config.worker.result_flush_s)
        limit = asyncio.Semaphore(self.config.worker.max_inflight_per_process)
        stopping = asyncio.Event()
        handed_back: list[int] = []

        async def one(job: ClaimedJob) -> None:
            try:
                async with limit:
                    if stopping.is_set():  # the worker is stopping: start no new job
                        handed_back.append(job.id)
                        return
                    outcome = JobOutcome(job=job, state=JobState.failed)
                    writer.track(outcome)
                    await self.run_job_safely(outcome)
                    writer.add(outcome)
            except asyncio.CancelledError:  # the stop deadline passed before it finished
                handed_back.append(job.id)

        tasks = [asyncio.create_task(one(job)) for job in jobs]
        async with writer, self._heartbeat(jobs), _stop_watch(stop, stopping, tasks):
            await asyncio.gather(*tasks, return_exceptions=True)
        if handed_back:
            await asyncio.to_thread(hand_back, handed_back, token=jobs[0].lease_token)
            log_event(logger, "jobs_handed_back", jobs=len(handed_back))
        return ChunkReport(
            claimed=len(jobs),
            written=writer.written,
            finished_batches=writer.finished_batches,
            batch_ids=tuple(sorted({str(job.batch_id) for job in jobs})),
            handed_back=len(handed_back),
        )

    @asynccontextmanager
    async def _heartbeat(self, jobs: Sequence[ClaimedJob]) -> AsyncIterator[None]:
        """Keep the chunk's leases alive while its calls run (rate-limit waits and retries can
        outlast a lease); jobs already recorded no longer hold a lease and are skipped."""
        lease_s = self.config.worker.lease_s
        ids, token = [job.id for job in jobs], jobs[0].lease_token

        async def beat() -> None:
            while True:
                await asyncio.sleep(lease_s / HEARTBEATS_PER_LEASE)
                try:
                    await asyncio.to_thread(extend_leases, ids, token=token, lease_s=lease_s)
                except OperationalError as err:  # Postgres away: the sweeper decides later
                    log_event(logger, "heartbeat_failed", level=logging.WARNING, error=err)

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def run_job_safely(self, outcome: JobOutcome) -> None:
        """Run one job; a bug in Sluice fails that job with a stated reason, never silently."""
        job = outcome.job
        try:
            await self.run_job(outcome)
        except BudgetExhausted as short:
            outcome.state = JobState.waiting_budget
            outcome.waiting_on, outcome.budget_need_usd = short.budget, short.need_usd
            outcome.error_code, outcome.error_message = short.code, short.message
        except Exception as err:  # the job still ends, with the cause recorded and logged
            log_event(
                logger,
                "job_crashed",
                level=logging.ERROR,
                job=job.id,
                batch=job.batch_id,
                error=type(err).__name__,
                exc_info=True,
            )
            outcome.state = JobState.failed
            outcome.error_code = "internal_error"
            outcome.error_message = f"{type(err).__name__}: {err}"[:MAX_ERROR_CHARS]

    async def run_job(self, outcome: JobOutcome) -> None:
        job = outcome.job
        task = self.config.tasks.get(job.task)
        if task is None:
            outcome.error_code = "unknown_task"
            outcome.error_message = f"task '{job.task}' is not in the current config"
            return
        request = build_request(task, text=job.text, params=job.params)
        last_error: ProviderError = Permanent("the task's route is empty", code="no_route")
        for model_name in task.route:
            error = await self._run_model(outcome, task, request, model_name)
            if error is None or outcome.error_code == "invalid_output":
                return
            last_error = error
        outcome.state = JobState.failed
        outcome.error_code = last_error.code
        outcome.error_message = f"every model in the route failed; last: {last_error.message}"

    async def _run_model(
        self, outcome: JobOutcome, task: TaskConfig, request: TaskRequest, model_name: str
    ) -> ProviderError | None:
        """Try one model until it answers validly; returns the error that made it give up."""
        try:
            step = self.caller.step(model_name)
        except ProviderError as err:
            return err
        validate = partial(validate_output, task, params=outcome.job.params)
        reasks_left = self.config.worker.invalid_output_retries
        while True:
            try:
                completion, problem = await self.caller.call(outcome, request, step, validate)
            except ProviderError as err:
                return err
            outcome.provider, outcome.model = step.model.provider, model_name
            if problem is None:
                outcome.state = JobState.succeeded
                outcome.output = completion.output
                outcome.label = completion.output.get("label")
                return None
            if reasks_left == 0:
                outcome.state = JobState.failed
                outcome.error_code, outcome.error_message = "invalid_output", problem
                return Retryable(problem, code="invalid_output")
            reasks_left -= 1


@asynccontextmanager
async def _stop_watch(
    stop: StopWatch | None, stopping: asyncio.Event, tasks: list[asyncio.Task[None]]
) -> AsyncIterator[None]:
    """When the worker is told to stop: start no more jobs, and at the deadline cancel the
    calls still in flight (their jobs are handed back)."""

    async def watch() -> None:
        assert stop is not None
        deadline = await stop.wait()
        stopping.set()
        await asyncio.sleep(max(deadline - time.time(), 0.0))
        for task in tasks:
            task.cancel()

    watcher = asyncio.create_task(watch()) if stop is not None else None
    try:
        yield
    finally:
        if watcher is not None:
            watcher.cancel()
            with suppress(asyncio.CancelledError):
                await watcher

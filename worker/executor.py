"""Runs a chunk of jobs concurrently on the process's event loop.

For each job: render the task, walk its route (primary model, then fallbacks), call the
provider under the retry policy, validate the answer (re-asking once on a bad one), price
every call from the usage the provider reported, and hand the outcome to the result writer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from worker.domain.config import AppConfig, ModelConfig, ProviderKind, TaskConfig
from worker.domain.errors import Permanent, ProviderError, RateLimited, Retryable
from worker.domain.log import log_event
from worker.domain.pricing import call_cost_usd
from worker.domain.states import JobState
from worker.domain.tasks_spec import TaskRequest, build_request, validate_output
from worker.jobstore import AttemptRecord, ClaimedJob, JobOutcome, claim_jobs, extend_leases
from worker.providers import Completion, Provider, build_provider
from worker.providers.base import MAX_ERROR_CHARS
from worker.ratelimit import Demand, LimitScope, RateLimiter, scopes_for
from worker.results_writer import ResultWriter
from worker.retry import retry_policy
from worker.tokens import estimate_request_tokens

logger = logging.getLogger("sluice.executor")

DEFAULT_PAUSE_S = 1.0  #: pause after a 429 that named no retry-after
HEARTBEATS_PER_LEASE = 3  #: leases are renewed this many times per lease period


class ProviderPool:
    """One adapter per provider per process, created on first use and reused."""

    def __init__(self, config: AppConfig) -> None:
        self._config = config
        self._providers: dict[str, Provider] = {}

    def get(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            provider = build_provider(name, self._config.providers[name])
            self._providers[name] = provider
        return provider

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()


@dataclass(frozen=True, slots=True)
class _Step:
    """One model of a route, with the adapter that calls it."""

    model_name: str
    model: ModelConfig
    provider: Provider
    scopes: tuple[LimitScope, ...]  #: rate-limit scopes the call counts against
    kind: ProviderKind


@dataclass
class ChunkReport:
    claimed: int
    written: int
    finished_batches: int
    batch_ids: tuple[str, ...] = ()


class Executor:
    def __init__(self, config: AppConfig, providers: ProviderPool, limiter: RateLimiter) -> None:
        self.config = config
        self.providers = providers
        self.limiter = limiter

    async def aclose(self) -> None:
        """Close the provider clients and the limiter's Redis connections."""
        await self.providers.aclose()
        await self.limiter.aclose()

    async def run_chunk(self, job_ids: Sequence[int]) -> ChunkReport:
        jobs = await asyncio.to_thread(claim_jobs, job_ids, lease_s=self.config.worker.lease_s)
        if not jobs:
            return ChunkReport(claimed=0, written=0, finished_batches=0)
        writer = ResultWriter(flush_s=self.config.worker.result_flush_s)
        limit = asyncio.Semaphore(self.config.worker.max_inflight_per_process)

        async def one(job: ClaimedJob) -> None:
            async with limit:
                writer.add(await self.run_job_safely(job))

        async with writer, self._heartbeat(jobs):
            await asyncio.gather(*(one(job) for job in jobs))
        return ChunkReport(
            claimed=len(jobs),
            written=writer.written,
            finished_batches=writer.finished_batches,
            batch_ids=tuple(sorted({str(job.batch_id) for job in jobs})),
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

    async def run_job_safely(self, job: ClaimedJob) -> JobOutcome:
        """Run one job; a bug in Sluice fails that job with a stated reason, never silently."""
        try:
            return await self.run_job(job)
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
            return JobOutcome(
                job=job,
                state=JobState.failed,
                error_code="internal_error",
                error_message=f"{type(err).__name__}: {err}"[:MAX_ERROR_CHARS],
            )

    async def run_job(self, job: ClaimedJob) -> JobOutcome:
        outcome = JobOutcome(job=job, state=JobState.failed)
        task = self.config.tasks.get(job.task)
        if task is None:
            outcome.error_code = "unknown_task"
            outcome.error_message = f"task '{job.task}' is not in the current config"
            return outcome
        request = build_request(task, text=job.text, params=job.params)
        last_error: ProviderError = Permanent("the task's route is empty", code="no_route")
        for model_name in task.route:
            error = await self._run_model(outcome, task, request, model_name)
            if error is None or outcome.error_code == "invalid_output":
                return outcome
            last_error = error
        outcome.state = JobState.failed
        outcome.error_code = last_error.code
        outcome.error_message = f"every model in the route failed; last: {last_error.message}"
        return outcome

    async def _run_model(
        self, outcome: JobOutcome, task: TaskConfig, request: TaskRequest, model_name: str
    ) -> ProviderError | None:
        """Try one model until it answers validly; returns the error that made it give up."""
        model = self.config.models[model_name]
        try:
            step = _Step(
                model_name,
                model,
                self.providers.get(model.provider),
                scopes_for(self.config, model_name),
                self.config.providers[model.provider].kind,
            )
        except ProviderError as err:
            return err
        reasks_left = self.config.worker.invalid_output_retries
        while True:
            try:
                completion, record = await self._call_with_retries(outcome, request, step)
            except ProviderError as err:
                return err
            problem = validate_output(task, completion.output, outcome.job.params)
            outcome.provider, outcome.model = model.provider, model_name
            if problem is None:
                outcome.state = JobState.succeeded
                outcome.output = completion.output
                outcome.label = completion.output.get("label")
                return None
            record.error_type, record.error_message = "invalid_output", problem
            if reasks_left == 0:
                outcome.state = JobState.failed
                outcome.error_code, outcome.error_message = "invalid_output", problem
                return Retryable(problem, code="invalid_output")
            reasks_left -= 1

    async def _call_with_retries(
        self, outcome: JobOutcome, request: TaskRequest, step: _Step
    ) -> tuple[Completion, AttemptRecord]:
        async for attempt in retry_policy(self.config.worker):
            with attempt:
                return await self._call_once(outcome, request, step)
        raise AssertionError("unreachable: the retry policy reraises its last error")

    async def _call_once(
        self, outcome: JobOutcome, request: TaskRequest, step: _Step
    ) -> tuple[Completion, AttemptRecord]:
        """One call under the cluster-wide rate limiter: reserve, send, settle to real usage."""
        demand = Demand(
            input_tokens=estimate_request_tokens(request, kind=step.kind),
            output_tokens=request.max_tokens,
        )
        permit = await self.limiter.acquire(step.scopes, demand)
        try:
            completion, record = await self._send(outcome, request, step)
        except ProviderError as err:
            if isinstance(err, RateLimited):
                await self.limiter.pause(step.scopes[-1], err.retry_after_s or DEFAULT_PAUSE_S)
            # no usage came back: the input stays counted (the provider may count it too)
            await self.limiter.settle(permit, input_tokens=demand.input_tokens, output_tokens=0)
            raise
        usage = completion.usage
        await self.limiter.settle(
            permit, input_tokens=usage.total_input_tokens, output_tokens=usage.output_tokens
        )
        if completion.remaining:
            await self.limiter.observe(step.scopes[0], completion.remaining)
        return completion, record

    async def _send(
        self, outcome: JobOutcome, request: TaskRequest, step: _Step
    ) -> tuple[Completion, AttemptRecord]:
        """One provider call, recorded as one attempt whatever its outcome."""
        record = AttemptRecord(
            provider=step.model.provider,
            model=step.model_name,
            started_at=dt.datetime.now(dt.UTC),
            latency_ms=0,
        )
        outcome.attempts.append(record)
        started = time.perf_counter()
        try:
            completion = await step.provider.complete(
                request, model=step.model.api_model or step.model_name
            )
        except ProviderError as err:
            record.latency_ms = round((time.perf_counter() - started) * 1000)
            record.status_code, record.provider_request_id = err.status_code, err.request_id
            record.error_type, record.error_message = err.code, err.message
            log_event(
                logger,
                "provider_call_failed",
                level=logging.DEBUG,
                job=outcome.job.id,
                model=step.model_name,
                error=err.code,
                status=err.status_code,
            )
            raise
        record.latency_ms = round((time.perf_counter() - started) * 1000)
        usage = completion.usage
        record.status_code = completion.status_code
        record.provider_request_id = completion.request_id
        record.input_tokens, record.output_tokens = usage.input_tokens, usage.output_tokens
        record.cached_input_tokens = usage.cached_input_tokens
        record.cache_write_tokens = usage.cache_write_tokens
        record.cost_usd = call_cost_usd(step.model, usage)
        return completion, record

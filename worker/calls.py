"""One provider call, guarded: budget reservation, then the rate limiter, then the SDK call,
then both settled to what the provider reported, recorded as one attempt whatever happens.

Retries of one model run here under the shared retry policy; choosing the next model of a
route is the executor's business.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from worker.budget import BudgetInstance, BudgetLedger, Reservation
from worker.budget_book import BudgetBook
from worker.config_watch import LimitsWatch
from worker.domain.budgets import CallScope
from worker.domain.config import AppConfig, ModelConfig, ProviderKind
from worker.domain.errors import ProviderError, RateLimited
from worker.domain.log import log_event
from worker.domain.pricing import call_cost_usd, worst_case_cost_usd
from worker.domain.tasks_spec import TaskRequest
from worker.jobstore import AttemptRecord, JobOutcome
from worker.providers import Completion, Provider, build_provider
from worker.ratelimit import Demand, LimitScope, Permit, RateLimiter
from worker.retry import retry_policy
from worker.tokens import estimate_request_tokens

logger = logging.getLogger("sluice.calls")

DEFAULT_PAUSE_S = 1.0  #: pause after a 429 that named no retry-after
RATE_WAIT_SLICE_S = 10.0  #: longest rate-limit wait made while holding a budget reservation

Clock = Callable[[], dt.datetime]
Validate = Callable[[Any], str | None]  #: an answer's problem, or None when it is valid


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
class Step:
    """One model of a route, with the adapter that calls it and the limits it counts against."""

    model_name: str
    model: ModelConfig
    provider: Provider
    scopes: tuple[LimitScope, ...]
    kind: ProviderKind


class Caller:
    def __init__(
        self,
        config: AppConfig,
        *,
        providers: ProviderPool,
        limiter: RateLimiter,
        ledger: BudgetLedger,
        book: BudgetBook,
        limits: LimitsWatch | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.config = config
        self.limits = limits or LimitsWatch(config, None)
        self.providers = providers
        self.limiter = limiter
        self.ledger = ledger
        self.book = book
        self.clock = clock

    def step(self, model_name: str) -> Step:
        """Raises Permanent (e.g. missing_api_key) when the model cannot be called here."""
        model = self.config.models[model_name]
        return Step(
            model_name,
            model,
            self.providers.get(model.provider),
            self.limits.scopes(model_name),
            self.config.providers[model.provider].kind,
        )

    async def call(
        self, outcome: JobOutcome, request: TaskRequest, step: Step, validate: Validate
    ) -> tuple[Completion, str | None]:
        """Call ``step``'s model under the retry policy; returns the answer and its problem."""
        async for attempt in retry_policy(self.config.worker):
            with attempt:
                return await self._call_once(outcome, request, step, validate)
        raise AssertionError("unreachable: the retry policy reraises its last error")

    async def _call_once(
        self, outcome: JobOutcome, request: TaskRequest, step: Step, validate: Validate
    ) -> tuple[Completion, str | None]:
        job = outcome.job
        input_tokens = estimate_request_tokens(request, kind=step.kind)
        scope = CallScope(
            step.model.provider, step.model_name, job.task, job.tenant, str(job.batch_id)
        )
        now = self.clock()
        instances = await self.book.instances_for(scope, job.budget_usd, now)
        worst_usd = worst_case_cost_usd(
            step.model, input_tokens=input_tokens, max_tokens=request.max_tokens
        )
        demand = Demand(input_tokens=input_tokens, output_tokens=request.max_tokens)
        reservation, permit = await self._admit(instances, worst_usd, step, demand)
        cost_usd = Decimal(0)
        try:
            try:
                completion, problem, cost_usd = await self._send(outcome, request, step, validate)
            except asyncio.CancelledError:  # cut off mid-call: it may be billed, count it all
                cost_usd = worst_usd
                raise
            except ProviderError as err:
                if isinstance(err, RateLimited):
                    await self.limiter.pause(step.scopes[-1], err.retry_after_s or DEFAULT_PAUSE_S)
                # no usage came back: the input stays counted (the provider may count it too)
                await self.limiter.settle(permit, input_tokens=input_tokens, output_tokens=0)
                raise
            usage = completion.usage
            await self.limiter.settle(
                permit, input_tokens=usage.total_input_tokens, output_tokens=usage.output_tokens
            )
            if completion.remaining:
                await self.limiter.observe(step.scopes[0], completion.remaining)
            return completion, problem
        finally:
            await self.ledger.settle(reservation, cost_usd)

    async def _admit(
        self, instances: list[BudgetInstance], worst_usd: Decimal, step: Step, demand: Demand
    ) -> tuple[Reservation, Permit]:
        """Reserve budget, then pass the rate limiter. A long rate-limit wait must not hold
        budget: after Redis loses its data the ledger waits out only reservations younger than
        a bound (runtime.recovery_grace_s), so the reservation is given back every slice."""
        while True:
            reservation = await self.ledger.reserve(instances, worst_usd)
            try:
                permit = await self.limiter.acquire_within(
                    step.scopes, demand, max_wait_s=RATE_WAIT_SLICE_S
                )
            except BaseException:
                await self.ledger.settle(reservation, Decimal(0))
                raise
            if permit is not None:
                return reservation, permit
            await self.ledger.settle(reservation, Decimal(0))

    async def _send(
        self, outcome: JobOutcome, request: TaskRequest, step: Step, validate: Validate
    ) -> tuple[Completion, str | None, Decimal]:
        """One provider call, recorded as one attempt whatever its outcome."""
        record = AttemptRecord(
            provider=step.model.provider,
            model=step.model_name,
            started_at=self.clock(),
            latency_ms=0,
        )
        outcome.attempts.append(record)
        started = time.perf_counter()
        try:
            completion = await step.provider.complete(
                request, model=step.model.api_model or step.model_name
            )
        except asyncio.CancelledError:
            record.latency_ms = round((time.perf_counter() - started) * 1000)
            record.error_type = "canceled_in_flight"
            record.error_message = "the worker stopped before the provider answered"
            record.done = True
            raise
        except ProviderError as err:
            record.latency_ms = round((time.perf_counter() - started) * 1000)
            record.status_code, record.provider_request_id = err.status_code, err.request_id
            record.error_type, record.error_message = err.code, err.message
            record.done = True
            log_event(
                logger,
                "provider_call_failed",
                level=logging.DEBUG,
                job=outcome.job.id,
                batch=outcome.job.batch_id,
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
        problem = validate(completion.output)
        if problem is not None:
            record.error_type, record.error_message = "invalid_output", problem
        record.done = True
        return completion, problem, record.cost_usd

"""The cluster-wide rate limiter: every worker reserves in Redis before it calls a provider.

Limits are per minute, and providers (and Sluice's simulator) judge them over any 60-second
window. The limiter keeps, per scope, the usage admitted in each second and admits a call
only if the last ``WINDOW_S`` seconds plus this call stay within every limit. The window is a
little longer than a minute, so the delay between reserving and the provider's arrival stamp
cannot push a minute over. Within that, a GCRA pace refills each limit continuously at
limit / ``WINDOW_S`` per second with a burst tolerance of ``BURST_S`` seconds' worth, so calls
flow evenly rather than a minute's worth at once followed by a silent wait. Reservations
count ``max_tokens`` of output and an estimate of input, then settle to the usage the provider
reported. A 429 pauses the scope for all workers for the provider's ``retry-after``.
Concurrency slots expire, so a dead worker leaks none.

All decisions happen in Lua (``worker/lua/rate_*.lua``), atomically, on Redis's clock.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from worker.domain.config import AppConfig, Limits
from worker.domain.constants import RATE_KEY_PREFIX
from worker.domain.errors import Permanent
from worker.domain.log import log_event
from worker.providers.headers import RemainingReport
from worker.redis_layer import async_script

logger = logging.getLogger("sluice.ratelimit")

WINDOW_S = 61  #: seconds a reservation counts: one minute plus one second of margin
CONCURRENCY_POLL_MS = 50  #: re-check this often while every concurrency slot is taken
#: the pace's burst tolerance: beyond this many seconds' worth of a limit sent at once, calls
#: are spaced at limit / WINDOW_S per second (GCRA), so a minute's allowance flows out evenly
BURST_S = 4
BOOK_AHEAD_MS = 2_000  #: a call that conforms to the pace within this long is booked and sleeps
SLOT_MARGIN_S = 30  #: a slot outlives its call's timeout by this much before it expires
REDIS_RETRY_S = 1.0  #: while Redis is unreachable, calls wait (fail closed) and re-check this often
DIMENSIONS = ("rpm", "input_tpm", "output_tpm", "tpm")  #: in the order the Lua scripts use
DIM_CODES = {"rpm": "r", "input_tpm": "i", "output_tpm": "o", "tpm": "t"}  #: hash field prefixes


@dataclass(frozen=True, slots=True)
class LimitScope:
    """A provider, or a model with limits of its own, whose usage is counted together."""

    name: str  #: e.g. "provider:anthropic" or "model:claude-haiku-5-5"
    limits: Limits
    slot_ttl_s: float

    @property
    def window_key(self) -> str:
        return f"{RATE_KEY_PREFIX}{self.name}:window"

    @property
    def slots_key(self) -> str:
        return f"{RATE_KEY_PREFIX}{self.name}:slots"

    @property
    def pause_key(self) -> str:
        return f"{RATE_KEY_PREFIX}{self.name}:pause"

    @property
    def pace_key(self) -> str:
        return f"{RATE_KEY_PREFIX}{self.name}:pace"

    def limit_args(self) -> list[int]:
        values = [getattr(self.limits, dim) for dim in DIMENSIONS]
        values.append(self.limits.max_concurrency)
        return [value or 0 for value in values]


def scopes_for(config: AppConfig, model_name: str) -> tuple[LimitScope, ...]:
    """The provider's scope, then the model's when the model has limits of its own."""
    model = config.models[model_name]
    provider = config.providers[model.provider]
    slot_ttl_s = provider.timeout_s + SLOT_MARGIN_S
    scopes = [LimitScope(f"provider:{model.provider}", provider.limits, slot_ttl_s)]
    if model.limits is not None:
        scopes.append(LimitScope(f"model:{model_name}", model.limits, slot_ttl_s))
    return tuple(scopes)


@dataclass(frozen=True, slots=True)
class Demand:
    input_tokens: int
    output_tokens: int  #: the call's max_tokens: the most it can produce
    requests: int = 1


@dataclass(frozen=True, slots=True)
class Permit:
    scopes: tuple[LimitScope, ...]
    demand: Demand
    second: int  #: the Redis second the reservation was counted in
    slot_id: str
    waited_s: float  #: from the first try until the call may be sent, its booked delay included
    delay_s: float = 0.0  #: the pace's booked delay: send this long after admission


class LimitTooSmall(Permanent):
    """One call alone costs more than a per-minute limit allows."""

    code = "exceeds_rate_limit"


class RateLimiter:
    def __init__(
        self, client: aioredis.Redis, *, window_s: int = WINDOW_S, burst_s: int = BURST_S
    ) -> None:
        self._client = client
        self._window_s = window_s
        self._burst_s = burst_s
        self._acquire = async_script(client, "rate_acquire")
        self._settle = async_script(client, "rate_settle")
        self._pause = async_script(client, "rate_pause")
        self._observe = async_script(client, "rate_observe")

    @property
    def client(self) -> aioredis.Redis:
        return self._client

    async def aclose(self) -> None:
        await self._client.aclose()

    async def acquire(self, scopes: Sequence[LimitScope], demand: Demand) -> Permit:
        """Wait until every scope admits the call, then hold its reservation."""
        permit = await self.acquire_within(scopes, demand, max_wait_s=None)
        assert permit is not None  # without a deadline it only returns a permit
        return permit

    async def acquire_within(
        self, scopes: Sequence[LimitScope], demand: Demand, *, max_wait_s: float | None
    ) -> Permit | None:
        """Like acquire, but after waiting max_wait_s return None, holding nothing."""
        waited_s = 0.0
        while True:
            try:
                outcome = await self.try_acquire(scopes, demand)
            except RedisError as err:  # fail closed: no call goes out unchecked
                log_event(logger, "rate_limiter_unavailable", level=logging.WARNING, error=err)
                outcome = REDIS_RETRY_S
            if isinstance(outcome, Permit):
                if outcome.delay_s > 0:
                    await asyncio.sleep(outcome.delay_s)  # the send time the pace booked
                    waited_s += outcome.delay_s + await self._wait_out_pause(scopes)
                return replace(outcome, waited_s=waited_s)
            if max_wait_s is not None and waited_s + outcome > max_wait_s:
                await asyncio.sleep(max(max_wait_s - waited_s, 0.0))
                return None
            await asyncio.sleep(outcome)
            waited_s += outcome

    async def _wait_out_pause(self, scopes: Sequence[LimitScope]) -> float:
        """A call booked ahead may wake into a 429 pause that began while it slept: it holds
        its reservation and waits the pause out like every other caller."""
        waited_s = 0.0
        while True:
            try:
                paused_ms = max([int(await self._client.pttl(s.pause_key)) for s in scopes])
            except RedisError:
                return waited_s  # the pause is advisory here: the reservation was granted
            if paused_ms <= 0:
                return waited_s
            await asyncio.sleep(paused_ms / 1000)
            waited_s += paused_ms / 1000

    async def try_acquire(self, scopes: Sequence[LimitScope], demand: Demand) -> Permit | float:
        """Reserve now and return the permit (send after its delay_s), or return the seconds to
        wait before trying again."""
        slot_id = uuid.uuid4().hex
        slot_ttl_ms = int(max(scope.slot_ttl_s for scope in scopes) * 1000)
        keys = [key for s in scopes for key in (s.window_key, s.slots_key, s.pause_key, s.pace_key)]
        costs = [
            demand.requests,
            demand.input_tokens,
            demand.output_tokens,
            demand.input_tokens + demand.output_tokens,
        ]
        args: list[str | int] = [self._window_s, slot_ttl_ms, slot_id, CONCURRENCY_POLL_MS]
        args += [self._burst_s, BOOK_AHEAD_MS, *costs]
        args += [value for scope in scopes for value in scope.limit_args()]
        status, value, *delay = await self._acquire(keys=keys, args=args)
        if status == 1:
            return Permit(tuple(scopes), demand, int(value), slot_id, 0.0, int(delay[0]) / 1000)
        if status == -1:
            raise _too_small(scopes, int(value) - 1, costs[int(value) - 1])
        return int(value) / 1000

    async def settle(self, permit: Permit, *, input_tokens: int, output_tokens: int) -> None:
        """Replace the reservation's estimate with the real usage and free the slot."""
        keys = [key for s in permit.scopes for key in (s.window_key, s.slots_key, s.pace_key)]
        args: list[str | int] = [
            permit.second,
            self._window_s,
            permit.slot_id,
            permit.demand.input_tokens,
            permit.demand.output_tokens,
            input_tokens,
            output_tokens,
        ]
        args += [value for scope in permit.scopes for value in scope.limit_args()[:4]]
        try:
            await self._settle(keys=keys, args=args)
        except RedisError as err:  # the reservation stays counted: safe, only less efficient
            log_event(logger, "rate_settle_failed", level=logging.WARNING, error=err)

    async def pause(self, scope: LimitScope, seconds: float) -> None:
        """Stop every worker calling through ``scope`` for ``seconds`` (after a 429)."""
        try:
            await self._pause(keys=[scope.pause_key], args=[max(int(seconds * 1000), 1)])
        except RedisError as err:  # the caller still waits out retry-after itself
            log_event(logger, "rate_pause_failed", level=logging.WARNING, error=err)
            return
        log_event(logger, "rate_limit_pause", scope=scope.name, seconds=round(seconds, 3))

    async def observe(self, scope: LimitScope, reports: Sequence[RemainingReport]) -> None:
        """Tighten ``scope`` when the provider says it has less room than the window shows."""
        args: list[str | int] = [self._window_s]
        for report in reports:
            limit = getattr(scope.limits, report.dimension)
            if limit:
                args += [DIM_CODES[report.dimension], limit, report.remaining, report.reset_ms]
        if len(args) > 1:
            try:
                await self._observe(keys=[scope.window_key], args=args)
            except RedisError as err:  # only a refinement: the call itself succeeded
                log_event(logger, "rate_observe_failed", level=logging.WARNING, error=err)


def _too_small(scopes: Sequence[LimitScope], index: int, cost: int) -> LimitTooSmall:
    limit = min(value for s in scopes if (value := s.limit_args()[index]))
    return LimitTooSmall(
        f"one call needs {cost:,} against a {DIMENSIONS[index]} limit of {limit:,}; "
        "raise the limit or shorten the input"
    )


@dataclass(frozen=True, slots=True)
class ScopeUsage:
    """A scope's use of its limits over the last minute, for `sluice limits`."""

    scope: LimitScope
    used: dict[str, int]  #: dimension -> amount admitted in the last 60 s
    slots_in_use: int
    paused_for_s: float


MINUTE_S = 60  #: what "per minute" means on screen


def read_usage(client: redis.Redis, scope: LimitScope) -> ScopeUsage:
    """What the scope admitted in the last minute, read without changing anything."""
    seconds, micros = client.time()
    now_ms = seconds * 1000 + micros // 1000
    fields = client.hgetall(scope.window_key)
    used = dict.fromkeys(DIMENSIONS, 0)
    codes = {code: dim for dim, code in DIM_CODES.items()}
    for raw_field, raw_amount in fields.items():
        field = raw_field.decode() if isinstance(raw_field, bytes) else str(raw_field)
        code, _, second = field.partition(":")
        if code in codes and int(second) >= seconds - MINUTE_S:
            used[codes[code]] += int(raw_amount)
    slots = client.zcount(scope.slots_key, now_ms, "+inf")
    paused_ms = max(int(client.pttl(scope.pause_key)), 0)
    return ScopeUsage(scope, used, int(slots), paused_ms / 1000)


def configured_scopes(config: AppConfig) -> list[LimitScope]:
    """Every provider's scope, then every model with limits of its own."""
    scopes: list[LimitScope] = []
    for name, provider in config.providers.items():
        scopes.append(LimitScope(f"provider:{name}", provider.limits, provider.timeout_s))
    for name, model in config.models.items():
        if model.limits is not None:
            timeout_s = config.providers[model.provider].timeout_s
            scopes.append(LimitScope(f"model:{name}", model.limits, timeout_s))
    return scopes

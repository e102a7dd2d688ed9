"""The budget ledger in Redis: hard budgets at any concurrency.

Before a call, its worst-case cost is reserved under every budget that applies, atomically,
in one Lua script (``worker/lua/budget_*.lua``); afterwards the reservation is replaced by the
real cost. Amounts are integer nano-dollars, always rounded up, so the counters can only
over-state spend. A call that does not fit waits while other calls' reservations are still
open (they usually settle lower), and otherwise raises BudgetExhausted: its job then waits in
``waiting_budget`` until the sweeper sees room again. A reservation never settled (its worker
died, or Redis refused the settle) expires charged at its worst case; a late settle corrects it.

Postgres (the attempts) is the ledger; these counters are a copy loaded from it. When Redis
has lost its data, the epoch key is gone: calls stop for a grace period long enough for every
call in flight to end and be written, then each budget is loaded afresh from Postgres.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from worker.domain.budgets import BudgetRule, PeriodWindow
from worker.domain.config import BudgetPeriod
from worker.domain.constants import BUDGET_EPOCH_KEY, BUDGET_KEY_PREFIX
from worker.domain.errors import BudgetExhausted
from worker.domain.log import log_event
from worker.redis_layer import async_script

logger = logging.getLogger("sluice.budget")

NANO_PER_USD = Decimal(1_000_000_000)  #: the counters' unit: a billionth of a dollar
RESERVATION_TTL_S = 3600  #: an unsettled reservation is charged at its worst case after this
EXPIRED_MEMORY_S = 86_400  #: a settle this late after its reservation expired still corrects it
OUTSTANDING_POLL_S = 0.2  #: re-check this often while other calls' reservations may free room
OUTSTANDING_WAIT_MAX_S = 120.0  #: give up waiting on open reservations after this long
REDIS_RETRY_S = 1.0  #: while Redis is unreachable, calls wait (fail closed)
LEDGER_TTL_S = {BudgetPeriod.day: 3 * 86_400, BudgetPeriod.month: 40 * 86_400}  #: after the end


def to_nano(usd: Decimal) -> int:
    """Nano-dollars, rounded up: a counter may over-state spend, never under-state it."""
    return math.ceil(usd * NANO_PER_USD)


@dataclass(frozen=True, slots=True)
class BudgetInstance:
    """A budget in one period: what the counters are keyed by."""

    rule: BudgetRule
    window: PeriodWindow

    @property
    def name(self) -> str:
        return f"{self.rule.name}:{self.window.period_id}"

    @property
    def ledger_key(self) -> str:
        return f"{BUDGET_KEY_PREFIX}{self.name}"

    @property
    def open_key(self) -> str:
        return f"{BUDGET_KEY_PREFIX}{self.name}:open"

    @property
    def charged_key(self) -> str:
        return f"{BUDGET_KEY_PREFIX}{self.name}:expired"

    @property
    def keys(self) -> list[str]:
        """The ledger, open reservations and expired reservations, as the scripts take them."""
        return [self.ledger_key, self.open_key, self.charged_key]


@dataclass(frozen=True, slots=True)
class Reservation:
    instances: tuple[BudgetInstance, ...]
    member: str  #: "<id>:<nano-dollars>" in each open-reservations set
    amount_usd: Decimal


LoadSpent = Callable[[BudgetInstance], Decimal]  #: sums a budget's spend in Postgres (blocking)
StartEpoch = Callable[[], bool]  #: records an epoch in Postgres; True when it is the first ever


class BudgetLedger:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        load_spent: LoadSpent,
        start_epoch: StartEpoch,
        recovery_grace_s: float,
        reservation_ttl_s: float = RESERVATION_TTL_S,
    ) -> None:
        self._client = client
        self._reservation_ttl_ms = int(reservation_ttl_s * 1000)
        self._load_spent = load_spent
        self._start_epoch = start_epoch
        self._grace_ms = int(recovery_grace_s * 1000)
        self._reserve = async_script(client, "budget_reserve")
        self._settle = async_script(client, "budget_settle")
        self._load = async_script(client, "budget_load")
        self._epoch = async_script(client, "budget_epoch")

    async def reserve(
        self, instances: Sequence[BudgetInstance], amount_usd: Decimal
    ) -> Reservation:
        """Hold ``amount_usd`` under every budget, or raise BudgetExhausted naming the one short."""
        reservation = Reservation(
            tuple(instances), f"{uuid.uuid4().hex}:{to_nano(amount_usd)}", amount_usd
        )
        if not instances:
            return reservation
        keys = [BUDGET_EPOCH_KEY]
        for instance in instances:
            keys += instance.keys
        args: list[str | int] = [to_nano(amount_usd), reservation.member.split(":")[0]]
        args += [self._reservation_ttl_ms, EXPIRED_MEMORY_S * 1000]
        args += [to_nano(instance.rule.limit_usd) for instance in instances]
        waited_s = 0.0
        while True:
            try:
                result = await self._reserve(keys=keys, args=args)
            except RedisError as err:  # fail closed: no call goes out unchecked
                log_event(logger, "budget_ledger_unavailable", level=logging.WARNING, error=err)
                await asyncio.sleep(REDIS_RETRY_S)
                continue
            status, value = int(result[0]), int(result[1])
            if status == 1:
                return reservation
            if status == 0:
                outstanding = int(result[2])
                if outstanding > 0 and waited_s < OUTSTANDING_WAIT_MAX_S:
                    await asyncio.sleep(OUTSTANDING_POLL_S)  # open reservations may settle lower
                    waited_s += OUTSTANDING_POLL_S
                    continue
                raise _exhausted(instances[value - 1], amount_usd)
            if status == -2:
                await self._load_ledger(instances[value - 1])
            elif value < 0:
                await self._begin_epoch()
            else:
                await asyncio.sleep(value / 1000)  # recovering after Redis lost its data

    async def settle(self, reservation: Reservation, cost_usd: Decimal) -> None:
        """Replace the reservation by the real cost."""
        if not reservation.instances:
            return
        keys = [key for instance in reservation.instances for key in instance.keys]
        try:
            await self._settle(keys=keys, args=[reservation.member, to_nano(cost_usd)])
        except RedisError as err:  # it expires charged at its worst case: safe, if pessimistic
            log_event(logger, "budget_settle_failed", level=logging.WARNING, error=err)

    async def _load_ledger(self, instance: BudgetInstance) -> None:
        spent = await asyncio.to_thread(self._load_spent, instance)
        ttl_s = 0
        if instance.window.end is not None:
            ttl_s = LEDGER_TTL_S.get(instance.rule.period, 0)
        await self._load(keys=[BUDGET_EPOCH_KEY, instance.ledger_key], args=[to_nano(spent), ttl_s])
        log_event(logger, "budget_loaded", budget=instance.name, spent_usd=spent)

    async def _begin_epoch(self) -> None:
        first_ever = await asyncio.to_thread(self._start_epoch)
        grace_ms = 0 if first_ever else self._grace_ms
        started = await self._epoch(keys=[BUDGET_EPOCH_KEY], args=[uuid.uuid4().hex, grace_ms])
        if started and not first_ever:
            log_event(
                logger, "budget_ledger_recovering", level=logging.WARNING, grace_s=grace_ms / 1000
            )

    async def aclose(self) -> None:
        await self._client.aclose()


def _exhausted(instance: BudgetInstance, amount_usd: Decimal) -> BudgetExhausted:
    error = BudgetExhausted(
        f"budget {instance.name} cannot cover a call of up to ${amount_usd:f} "
        f"(limit ${instance.rule.limit_usd:f})"
    )
    error.budget = instance.name
    error.need_usd = amount_usd
    return error

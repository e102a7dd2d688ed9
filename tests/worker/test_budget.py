"""The budget ledger against real Redis and Postgres: reservations are atomic across budgets,
settle to real cost, never let concurrent calls overshoot, and survive Redis losing its data."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis

from tests.conftest import flush_test_redis
from worker.budget import OUTSTANDING_POLL_S, BudgetInstance, BudgetLedger, to_nano
from worker.budget_book import load_spent, start_epoch
from worker.domain.budgets import BudgetRule, period_window
from worker.domain.config import BudgetPeriod, BudgetScope
from worker.domain.errors import BudgetExhausted
from worker.redis_layer import async_client

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


@pytest.fixture()
def ledger_env(db: str, redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    flush_test_redis(client)
    yield client
    flush_test_redis(client)


def budget(
    limit: str,
    *,
    scope: BudgetScope = BudgetScope.global_,
    key: str = "",
    period: BudgetPeriod = BudgetPeriod.total,
    now: dt.datetime = NOW,
) -> BudgetInstance:
    rule = BudgetRule(scope, key, period, Decimal(limit), "config")
    return BudgetInstance(rule, period_window(period, now))


def run(
    body: Callable[[BudgetLedger], Coroutine[Any, Any, Any]],
    *,
    grace_s: float = 0.5,
    reservation_ttl_s: float = 3600,
) -> Any:
    async def main() -> Any:
        ledger = BudgetLedger(
            async_client(),
            load_spent=load_spent,
            start_epoch=start_epoch,
            recovery_grace_s=grace_s,
            reservation_ttl_s=reservation_ttl_s,
        )
        try:
            return await body(ledger)
        finally:
            await ledger.aclose()

    return asyncio.run(main())


def test_a_call_that_does_not_fit_is_refused_naming_the_budget(ledger_env: redis.Redis) -> None:
    small = budget("0.001")

    async def body(ledger: BudgetLedger) -> None:
        first = await ledger.reserve([small], Decimal("0.0006"))
        await ledger.settle(first, Decimal("0.0006"))
        await ledger.reserve([small], Decimal("0.0005"))

    with pytest.raises(BudgetExhausted) as caught:
        run(body)
    assert caught.value.budget == "global:total:total"
    assert caught.value.need_usd == Decimal("0.0005")


def test_reservations_are_all_or_nothing_across_budgets(ledger_env: redis.Redis) -> None:
    roomy, tight = budget("1"), budget("0.0001", scope=BudgetScope.model, key="m")

    async def body(ledger: BudgetLedger) -> None:
        with pytest.raises(BudgetExhausted):
            await ledger.reserve([roomy, tight], Decimal("0.0002"))

    run(body)
    assert int(ledger_env.hget(roomy.ledger_key, "reserved")) == 0  # nothing held on the other


def test_settling_replaces_the_worst_case_by_the_real_cost(ledger_env: redis.Redis) -> None:
    small = budget("0.0010")

    async def body(ledger: BudgetLedger) -> None:
        held = await ledger.reserve([small], Decimal("0.0008"))
        await ledger.settle(held, Decimal("0.0001"))
        await ledger.reserve([small], Decimal("0.0009"))  # fits only because of the settle

    run(body)
    assert int(ledger_env.hget(small.ledger_key, "spent")) == to_nano(Decimal("0.0001"))


def test_a_call_that_cannot_fit_after_open_reservations_settle_is_refused_at_once(
    ledger_env: redis.Redis,
) -> None:
    small = budget("0.0010")

    async def body(ledger: BudgetLedger) -> float:
        spent = await ledger.reserve([small], Decimal("0.0006"))
        await ledger.settle(spent, Decimal("0.0006"))
        await ledger.reserve([small], Decimal("0.0002"))  # left open: a call in flight
        started = asyncio.get_running_loop().time()
        with pytest.raises(BudgetExhausted):  # 0.0006 spent + 0.0005 > 0.0010 whatever settles
            await ledger.reserve([small], Decimal("0.0005"))
        return asyncio.get_running_loop().time() - started

    # waiting on the open reservation could not help, so the refusal does not poll for it
    assert run(body) < OUTSTANDING_POLL_S


def test_a_reservation_never_settled_expires_charged_at_its_worst_case(
    ledger_env: redis.Redis,
) -> None:
    small = budget("0.0010")

    async def body(ledger: BudgetLedger) -> None:
        held = await ledger.reserve([small], Decimal("0.0006"))  # its settle is lost
        await asyncio.sleep(0.3)
        with pytest.raises(BudgetExhausted):  # the expired 0.0006 still counts as spent
            await ledger.reserve([small], Decimal("0.0005"))
        assert int(ledger_env.hget(small.ledger_key, "spent")) == to_nano(Decimal("0.0006"))
        await ledger.settle(held, Decimal("0.0002"))  # a late settle brings it to the real cost
        await ledger.reserve([small], Decimal("0.0008"))

    run(body, reservation_ttl_s=0.2)
    assert int(ledger_env.hget(small.ledger_key, "spent")) == to_nano(Decimal("0.0002"))
    assert int(ledger_env.hget(small.ledger_key, "reserved")) == to_nano(Decimal("0.0008"))


def test_sixty_four_concurrent_calls_never_spend_past_the_limit(ledger_env: redis.Redis) -> None:
    limit = Decimal("0.0100")
    shared = budget(str(limit))

    async def one(ledger: BudgetLedger) -> Decimal:
        try:
            held = await ledger.reserve([shared], Decimal("0.0005"))
        except BudgetExhausted:
            return Decimal(0)
        await asyncio.sleep(0.05)
        await ledger.settle(held, Decimal("0.0003"))  # real calls cost less than the worst case
        return Decimal("0.0003")

    async def body(ledger: BudgetLedger) -> list[Decimal]:
        return await asyncio.gather(*(one(ledger) for _ in range(64)))

    spent = run(body)
    assert sum(spent) <= limit
    # calls that waited for open reservations used the room they freed: little is stranded
    assert sum(spent) >= limit - Decimal("0.0005")


def test_after_redis_loses_its_data_calls_wait_then_reload_from_postgres(
    ledger_env: redis.Redis,
) -> None:
    shared = budget("1")

    async def body(ledger: BudgetLedger) -> float:
        await ledger.settle(await ledger.reserve([shared], Decimal("0.1")), Decimal("0.1"))
        ledger_env.flushdb()  # Redis restarted with nothing
        started = asyncio.get_running_loop().time()
        await ledger.reserve([shared], Decimal("0.1"))
        return asyncio.get_running_loop().time() - started

    waited_s = run(body, grace_s=0.6)
    assert waited_s >= 0.5  # no call was trusted until in-flight ones had time to land
    # reloaded from the attempts ledger, which holds no attempts in this test: spent 0
    assert int(ledger_env.hget(shared.ledger_key, "spent")) == 0


def test_a_first_start_needs_no_recovery_wait(ledger_env: redis.Redis) -> None:
    async def body(ledger: BudgetLedger) -> float:
        started = asyncio.get_running_loop().time()
        await ledger.reserve([budget("1")], Decimal("0.1"))
        return asyncio.get_running_loop().time() - started

    assert run(body, grace_s=30) < 1


def test_a_day_budget_starts_again_the_next_day(ledger_env: redis.Redis) -> None:
    late = dt.datetime(2026, 11, 28, 23, 59, 59, tzinfo=dt.UTC)
    today = budget("0.001", period=BudgetPeriod.day, now=late)
    tomorrow = budget("0.001", period=BudgetPeriod.day, now=late + dt.timedelta(seconds=2))

    async def body(ledger: BudgetLedger) -> None:
        await ledger.settle(await ledger.reserve([today], Decimal("0.001")), Decimal("0.001"))
        with pytest.raises(BudgetExhausted):
            await ledger.reserve([today], Decimal("0.0001"))
        await ledger.reserve([tomorrow], Decimal("0.001"))

    run(body)
    assert today.name == "global:day:2026-11-28" and tomorrow.name == "global:day:2026-11-29"
    assert ledger_env.ttl(today.ledger_key) > 86_400  # old days expire from Redis on their own

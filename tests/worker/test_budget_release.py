"""Waiting jobs resume by themselves: at a new period, or as far as a raised limit reaches."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import redis
from sqlalchemy import text

from simulator.testing import SimHandle
from tests.worker.conftest import job_rows, make_config, queue_batch
from worker.budget import BudgetInstance, to_nano
from worker.budget_release import release_waiting
from worker.domain.budgets import BudgetRule, period_window, set_budget
from worker.domain.config import BudgetPeriod, BudgetScope
from worker.domain.db import session_scope

LATE = dt.datetime(2026, 11, 28, 23, 59, 30, tzinfo=dt.UTC)


def _daily(data: dict[str, Any]) -> None:
    data["budgets"] = [{"scope": "global", "period": "day", "limit_usd": "0.001"}]


def _wait(job_ids: list[int], waiting_on: str, need: str) -> None:
    with session_scope() as session:
        session.execute(
            text(
                "UPDATE jobs SET state = 'waiting_budget', waiting_on = :w, "
                "budget_need_usd = :n WHERE id = ANY(:ids)"
            ),
            {"w": waiting_on, "n": Decimal(need), "ids": job_ids},
        )


def _ledger(redis_url: str, now: dt.datetime, spent: str) -> None:
    rule = BudgetRule(BudgetScope.global_, "", BudgetPeriod.day, Decimal("0.001"), "config")
    instance = BudgetInstance(rule, period_window(BudgetPeriod.day, now))
    redis.Redis.from_url(redis_url).hset(
        instance.ledger_key,
        mapping={"spent": to_nano(Decimal(spent)), "reserved": 0, "verified": "1"},
    )


def test_nothing_is_released_while_the_budget_is_spent(
    db: str, sdk_env: SimHandle, redis_url: str
) -> None:
    config = make_config(_daily)
    job_ids = queue_batch(config, ["a", "b"])
    _wait(job_ids, "global:day:2026-11-28", "0.0002")
    _ledger(redis_url, LATE, "0.001")

    assert release_waiting(config, redis.Redis.from_url(redis_url), LATE) == 0
    assert {job.state for job in job_rows(job_ids)} == {"waiting_budget"}


def test_a_new_day_releases_every_job_waiting_on_the_old_one(
    db: str, sdk_env: SimHandle, redis_url: str
) -> None:
    config = make_config(_daily)
    job_ids = queue_batch(config, ["a", "b", "c"])
    _wait(job_ids, "global:day:2026-11-28", "0.0002")
    _ledger(redis_url, LATE, "0.001")

    released = release_waiting(
        config, redis.Redis.from_url(redis_url), LATE + dt.timedelta(minutes=1)
    )

    assert released == 3
    rows = job_rows(job_ids)
    assert {row.state for row in rows} == {"pending"}
    assert {row.waiting_on for row in rows} == {None}


def test_a_raised_limit_releases_as_many_as_it_covers(
    db: str, sdk_env: SimHandle, redis_url: str
) -> None:
    config = make_config()
    job_ids = queue_batch(config, ["a", "b", "c", "d"])
    _wait(job_ids, "task:classify:month:2026-11", "0.0003")
    with session_scope() as session:  # was 0.001, all spent; now 0.0017: room for two
        set_budget(
            session,
            scope="task",
            key="classify",
            period="month",
            limit_usd=Decimal("0.0017"),
            config=config,
        )
    rule = BudgetRule(BudgetScope.task, "classify", BudgetPeriod.month, Decimal("0.0017"), "set")
    redis.Redis.from_url(redis_url).hset(
        BudgetInstance(rule, period_window(BudgetPeriod.month, LATE)).ledger_key,
        mapping={"spent": to_nano(Decimal("0.001")), "reserved": 0, "verified": "1"},
    )

    assert release_waiting(config, redis.Redis.from_url(redis_url), LATE) == 2
    assert [row.state for row in job_rows(job_ids)] == [
        "pending",
        "pending",
        "waiting_budget",
        "waiting_budget",
    ]


def test_a_day_budget_spent_at_midnight_resumes_the_next_day_with_a_fake_clock(
    db: str, sdk_env: SimHandle, redis_url: str
) -> None:
    import asyncio

    from worker.runtime import build_executor

    def tiny_daily(data: dict[str, Any]) -> None:  # room for one call, not two
        data["budgets"] = [{"scope": "global", "period": "day", "limit_usd": "0.00007"}]

    config = make_config(tiny_daily)
    now = [LATE]

    def run(job_ids: list[int]) -> None:
        async def main() -> None:
            executor = build_executor(config, clock=lambda: now[0])
            try:
                await executor.run_chunk(job_ids)
            finally:
                await executor.aclose()

        asyncio.run(main())

    job_ids = queue_batch(config, ["one [[label:billing]]", "two [[label:billing]]"])
    run(job_ids)
    states = sorted(job.state for job in job_rows(job_ids))
    assert states == ["succeeded", "waiting_budget"]
    (waiting,) = [job for job in job_rows(job_ids) if job.state == "waiting_budget"]
    assert waiting.waiting_on == "global:day:2026-11-28"

    client = redis.Redis.from_url(redis_url)
    assert release_waiting(config, client, LATE) == 0  # still the same day: nothing to do
    now[0] = LATE + dt.timedelta(minutes=1)  # the clock passes midnight; nobody sleeps
    assert release_waiting(config, client, now[0]) == 1
    with session_scope() as session:
        session.execute(text("UPDATE jobs SET state = 'queued' WHERE id = :id"), {"id": waiting.id})
    run([waiting.id])

    assert [job.state for job in job_rows(job_ids)] == ["succeeded", "succeeded"]

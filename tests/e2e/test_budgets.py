"""Hard budgets with real worker processes: spend never passes a batch budget, the jobs that
do not fit wait visibly, they resume when the budget is raised, and a Redis flush mid-run
does not let spend through."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal

import redis
from sqlalchemy import text

from tests.conftest import CliResult, flush_test_redis
from tests.e2e.conftest import Pipeline, wait_for_batch
from worker.domain.batches import get_batch
from worker.domain.config import load_config
from worker.domain.db import session_scope

LABELS = ["billing", "technical", "account", "other"]
JOB_COST_USD = Decimal("0.0000239")  #: 179 input x $0.10 + 12 output x $0.50, per million


def _items(count: int, prefix: str) -> list[tuple[str, str]]:
    return [
        (f"{prefix}-{i}", f"Ticket {i}: my order #{1000 + i} needs help. [[label:billing]]")
        for i in range(count)
    ]


def _settled(batch_id: uuid.UUID, timeout_s: float = 90) -> dict[str, int]:
    """Wait until no job is pending, queued or running (they ended or wait for budget)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with session_scope() as session:
            counts = get_batch(session, batch_id).counts
        busy = sum(counts.get(s, 0) for s in ("pending", "queued", "running"))
        if not busy or time.monotonic() > deadline:
            return counts
        time.sleep(0.3)


def _spent(batch_id: uuid.UUID) -> Decimal:
    with session_scope() as session:
        return Decimal(
            session.execute(
                text("SELECT coalesce(sum(cost_usd), 0) FROM attempts WHERE batch_id = :b"),
                {"b": batch_id},
            ).scalar_one()
        )


def _provider_says_spent(pipe: Pipeline) -> Decimal:
    """Spend recomputed independently: the simulator's reported usage times the price list."""
    price = load_config().models["claude-haiku-5-5"]
    return pipe.sim.reported_spend_usd(price.input_per_mtok, price.output_per_mtok)


def _submit_with_budget(items: list[tuple[str, str]], budget_usd: Decimal) -> uuid.UUID:
    from api.dispatch import enqueue_dispatch
    from worker.domain.batches import SubmitRequest, submit_batch
    from worker.domain.ingest import Item

    request = SubmitRequest(
        "classify",
        [Item(line=i + 1, item_id=a, text=b) for i, (a, b) in enumerate(items)],
        labels=LABELS,
        budget_usd=budget_usd,
    )
    with session_scope() as session:
        batch = submit_batch(session, load_config(), request)
    enqueue_dispatch(batch.id)
    return batch.id


def test_64_concurrent_jobs_never_pass_a_batch_budget_and_resume_when_it_is_raised(
    fresh_sim: Pipeline, run_cli: Callable[..., CliResult]
) -> None:
    from worker import tasks

    budget = JOB_COST_USD * 32  # about half of the 64 jobs
    fresh_sim.sim.update_config(latency_ms=50, jitter_ms=25)
    batch_id = _submit_with_budget(_items(64, "b"), budget)

    counts = _settled(batch_id)

    assert _spent(batch_id) <= budget
    assert _provider_says_spent(fresh_sim) <= budget
    assert counts.get("waiting_budget", 0) > 0 and "failed" not in counts
    assert counts["succeeded"] >= 28  # reservations stranded at most a couple of jobs' worth
    status = run_cli("status", str(batch_id))
    assert f"jobs wait for budget batch:{batch_id}:total:total" in status.stdout

    raised = run_cli(
        "budgets", "set", "--scope", "batch", "--key", str(batch_id), "--limit-usd", "1"
    )
    assert raised.exit_code == 0, raised.stderr
    tasks.sweep.run()  # what beat does every few seconds

    assert wait_for_batch(batch_id) == {"succeeded": 64}
    assert _spent(batch_id) == _provider_says_spent(fresh_sim)


def test_a_redis_flush_mid_run_rebuilds_the_ledger_and_spend_stays_within(
    fresh_sim: Pipeline, redis_url: str
) -> None:
    from worker import tasks

    budget = JOB_COST_USD * 60
    fresh_sim.sim.update_config(latency_ms=150, jitter_ms=50)
    batch_id = _submit_with_budget(_items(120, "f"), budget)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with session_scope() as session:
            if get_batch(session, batch_id).counts.get("succeeded", 0) >= 15:
                break
        time.sleep(0.1)

    flush_test_redis(redis.Redis.from_url(redis_url))  # ledgers, limiter and queues all gone
    deadline = time.monotonic() + 90
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        tasks.sweep.run()  # hands back the jobs whose messages were lost, as beat would
        with session_scope() as session:
            counts = get_batch(session, batch_id).counts
        if not sum(counts.get(s, 0) for s in ("pending", "queued", "running")):
            break
        time.sleep(1)

    spent, provider_spent = _spent(batch_id), _provider_says_spent(fresh_sim)
    summary = f"counts={counts} spent={spent} provider={provider_spent} budget={budget}"
    assert spent <= budget, summary
    assert provider_spent <= budget, summary
    assert counts.get("waiting_budget", 0) > 0, summary
    assert counts.get("succeeded", 0) >= 50, summary

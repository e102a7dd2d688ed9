"""The whole pipeline on real Postgres, Redis, a Celery worker process and the simulator."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from tests.e2e.conftest import Pipeline, submit_items, wait_for_batch
from worker.domain.config import load_config
from worker.domain.db import session_scope

LABELS = ["billing", "technical", "account", "other"]


def _marked_items(count: int) -> list[tuple[str, str]]:
    return [
        (f"t-{i:04d}", f"Ticket {i}: my order #{1000 + i} needs help. [[label:{LABELS[i % 4]}]]")
        for i in range(count)
    ]


def test_300_marked_items_succeed_once_each_with_their_label_and_exact_cost(
    fresh_sim: Pipeline,
) -> None:
    batch_id = submit_items("classify", _marked_items(300), LABELS)

    counts = wait_for_batch(batch_id)

    assert counts == {"succeeded": 300}
    config = load_config()
    with session_scope() as session:
        jobs = session.execute(
            text(
                "SELECT item_id, label, model, cost_usd, attempt_count FROM jobs "
                "WHERE batch_id = :b"
            ),
            {"b": batch_id},
        ).all()
        attempts = session.execute(
            text(
                "SELECT job_id, model, input_tokens, output_tokens, cached_input_tokens, "
                "cost_usd, error_type FROM attempts WHERE batch_id = :b"
            ),
            {"b": batch_id},
        ).all()
        status = session.execute(
            text("SELECT status FROM batches WHERE id = :b"), {"b": batch_id}
        ).scalar_one()
    assert status == "completed"
    for item_id, label, model, _cost, attempt_count in jobs:
        assert label == LABELS[int(item_id[2:]) % 4]
        assert model == "claude-haiku-5-5"
        assert attempt_count == 1
    assert len(attempts) == 300
    assert len({row.job_id for row in attempts}) == 300
    price = config.models["claude-haiku-5-5"]
    for row in attempts:
        assert row.error_type is None
        assert row.input_tokens > 0 and row.output_tokens > 0
        expected = (
            row.input_tokens * price.input_per_mtok + row.output_tokens * price.output_per_mtok
        ) / Decimal(1_000_000)
        assert row.cost_usd == expected
    assert sum(cost for *_, cost, _ in jobs) == sum(row.cost_usd for row in attempts)
    # the provider's own record agrees with what Sluice stored
    served = [r for r in fresh_sim.sim.log() if r["status"] == 200]
    assert len(served) == 300
    assert sum(r["input_tokens"] for r in served) == sum(row.input_tokens for row in attempts)
    assert sum(r["output_tokens"] for r in served) == sum(row.output_tokens for row in attempts)


def test_injected_500s_and_529s_are_retried_recorded_and_every_job_succeeds(
    fresh_sim: Pipeline,
) -> None:
    fresh_sim.sim.update_config(error_500_rate=0.2, overloaded_rate=0.1)
    batch_id = submit_items("classify", _marked_items(200), LABELS)

    counts = wait_for_batch(batch_id)

    assert counts == {"succeeded": 200}
    log = fresh_sim.sim.log()
    faulted = [r for r in log if r["status"] != 200]
    assert {r["status"] for r in faulted} <= {500, 529, 503}
    assert len(faulted) > 20  # the faults really happened
    with session_scope() as session:
        failed_calls = session.execute(
            text(
                "SELECT status_code, count(*) FROM attempts WHERE batch_id = :b "
                "AND error_type IS NOT NULL GROUP BY status_code"
            ),
            {"b": batch_id},
        ).all()
        total_calls = session.execute(
            text("SELECT count(*) FROM attempts WHERE batch_id = :b"), {"b": batch_id}
        ).scalar_one()
        attempt_sum = session.execute(
            text("SELECT sum(attempt_count) FROM jobs WHERE batch_id = :b"), {"b": batch_id}
        ).scalar_one()
    # every call the provider saw is one attempt row, failed ones with their status code
    assert total_calls == len(log) == attempt_sum
    recorded = {status: count for status, count in failed_calls}
    seen: dict[int, int] = {}
    for record in faulted:
        seen[record["status"]] = seen.get(record["status"], 0) + 1
    assert recorded == seen


def test_sweeper_dispatches_a_batch_whose_wake_up_was_never_sent(fresh_sim: Pipeline) -> None:
    from worker import tasks
    from worker.domain.batches import SubmitRequest, submit_batch
    from worker.domain.ingest import Item

    items = [
        Item(line=i + 1, item_id=f"s-{i}", text=t) for i, (_, t) in enumerate(_marked_items(30))
    ]
    with session_scope() as session:  # stored, but no dispatch message (Redis was down, say)
        batch = submit_batch(
            session, load_config(), SubmitRequest("classify", items, labels=LABELS)
        )
    dispatched = tasks.sweep.run()

    assert dispatched == 30
    assert wait_for_batch(batch.id) == {"succeeded": 30}
    assert tasks.sweep.run() == 0  # nothing left to send

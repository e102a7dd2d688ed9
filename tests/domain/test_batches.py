"""Batch service functions on a real database: bulk, atomic submission; cancel; budgets."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, text

from worker.domain.batches import SubmitRequest, cancel_batch, get_batch, submit_batch
from worker.domain.config import load_config
from worker.domain.db import get_engine, session_scope
from worker.domain.errors import InvalidInput
from worker.domain.ingest import Item
from worker.domain.states import JobState
from worker.jobstore import JobOutcome, claim_jobs, record_outcomes


def _items(count: int) -> list[Item]:
    return [Item(line=i + 1, item_id=f"i-{i}", text=f"text {i} £") for i in range(count)]


@pytest.fixture()
def statements(db: str) -> Iterator[list[str]]:
    """Every SQL statement SQLAlchemy sends while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_ten_thousand_items_are_stored_in_a_few_statements(
    db: str, config_path: Path, statements: list[str]
) -> None:
    with session_scope() as session:
        batch = submit_batch(
            session, load_config(), SubmitRequest("classify", _items(10_000), labels=["a", "b"])
        )

    assert len(statements) <= 3  # the batch row; the jobs go through one COPY, not 10,000 INSERTs
    with session_scope() as session:
        assert get_batch(session, batch.id).counts == {"pending": 10_000}


@pytest.mark.parametrize("budget", ["NaN", "Infinity", "-1", "0", "1e20"])
def test_budgets_must_be_finite_positive_and_bounded(
    db: str, config_path: Path, budget: str
) -> None:
    request = SubmitRequest("classify", _items(1), labels=["a"], budget_usd=Decimal(budget))

    with session_scope() as session, pytest.raises(InvalidInput, match="budget must be a number"):
        submit_batch(session, load_config(), request)


def test_cancel_stops_unstarted_jobs_and_lets_running_ones_finish(
    db: str, config_path: Path
) -> None:
    with session_scope() as session:
        batch = submit_batch(
            session, load_config(), SubmitRequest("classify", _items(3), labels=["a"])
        )
    with session_scope() as session:
        ids = session.execute(text("UPDATE jobs SET state = 'queued' RETURNING id")).scalars().all()
    (running,) = claim_jobs(sorted(ids)[:1], lease_s=60)

    with session_scope() as session:
        view = cancel_batch(session, batch.id)
    assert view.counts == {"canceled": 2, "running": 1}
    assert view.status == "canceled"

    _, finished = record_outcomes([JobOutcome(job=running, state=JobState.succeeded, label="a")])

    assert finished == {batch.id}
    with session_scope() as session:
        final = get_batch(session, batch.id)
    assert final.counts == {"canceled": 2, "succeeded": 1}
    assert final.status == "canceled" and final.completed_at is not None

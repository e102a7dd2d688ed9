"""Unreachable services get one sentence; a batch submitted while Redis is down is kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import CliResult
from worker.domain.db import get_engine


def test_unreachable_postgres_is_one_sentence_and_exit_1(
    run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, config_path: Path
) -> None:
    monkeypatch.setenv("SLUICE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    monkeypatch.setenv("SLUICE_REDIS_URL", "redis://127.0.0.1:1/0")

    result = run_cli("status", "8d1f8a36-1f42-4c3a-9a49-0d3c3f1e0000")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot connect to Postgres at postgresql+psycopg://")
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_schema_asks_for_migrate(
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    config_path: Path,
    redis_url: str,
) -> None:
    monkeypatch.setenv(
        "SLUICE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )

    result = run_cli("status", "8d1f8a36-1f42-4c3a-9a49-0d3c3f1e0000")

    assert (result.exit_code, result.stderr.strip()) == (
        1,
        "error: the database has no Sluice schema yet: run `sluice migrate`",
    )


def test_submit_while_redis_is_down_stores_the_batch_and_says_so(
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    db: str,
    config_path: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SLUICE_REDIS_URL", "redis://127.0.0.1:1/0")
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": "a", "text": "hello"}\n')

    result = run_cli("submit", str(source), "--task", "classify", "--labels", "x,y")

    assert result.exit_code == 0
    assert "could not be reached" in result.stderr and "sluice beat" in result.stderr
    with get_engine().connect() as conn:
        states = conn.execute(text("SELECT state FROM jobs")).scalars().all()
    assert states == ["pending"]


def test_cancel_from_the_cli_cancels_unstarted_jobs(
    run_cli: Callable[..., CliResult],
    db: str,
    redis_url: str,
    config_path: Path,
    tmp_path: Path,
) -> None:
    source = tmp_path / "items.csv"
    source.write_text('id,text\n1,"a, b"\n2,c\n')
    batch_id = run_cli(
        "submit", str(source), "--task", "classify", "--labels", "x,y"
    ).stdout.strip()

    result = run_cli("cancel", batch_id)

    assert result.exit_code == 0
    assert "canceled" in result.stdout
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT state, error_code FROM jobs")).all()
        status = conn.execute(text("SELECT status FROM batches")).scalar_one()
    assert rows == [("canceled", "canceled")] * 2
    assert status == "canceled"

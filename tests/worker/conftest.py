"""Worker-level fixtures: an in-process simulator, the SDK env pointed at it, and helpers that
store a batch and mark its jobs queued so an Executor can run them without Celery."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from sqlalchemy import text

from simulator import SimConfig
from simulator.testing import SimHandle, running_simulator
from tests.conftest import fast_config, flush_test_redis
from worker.domain.batches import SubmitRequest, submit_batch
from worker.domain.config import AppConfig, parse_config
from worker.domain.db import session_scope
from worker.domain.ingest import Item
from worker.executor import ChunkReport
from worker.runtime import build_executor

TEST_KEY = "sk-test-worker-key-0123456789"
LABELS = ["billing", "technical", "account", "other"]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with running_simulator(SimConfig(seed=3), in_process=True) as handle:
        yield handle


@pytest.fixture()
def sdk_env(sim: SimHandle, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> SimHandle:
    sim.reset()
    flush_test_redis(redis.Redis.from_url(redis_url))  # no rate-limit state from earlier tests
    sim.update_config(
        error_500_rate=0.0,
        overloaded_rate=0.0,
        malformed_rate=0.0,
        timeout_rate=0.0,
        rpm=None,
        input_tpm=None,
        output_tpm=None,
        tpm=None,
        max_concurrency=None,
    )
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.base_url)
    monkeypatch.setenv("OPENAI_BASE_URL", sim.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    return sim


def make_config(change: Callable[[dict[str, Any]], None] | None = None, **worker: Any) -> AppConfig:
    data = fast_config(**worker)
    if change is not None:
        change(data)
    return parse_config(data)


def queue_batch(config: AppConfig, texts: list[str], labels: list[str] = LABELS) -> list[int]:
    """Store a classify batch and mark its jobs queued, as the dispatcher would."""
    items = [Item(line=i + 1, item_id=f"i-{i}", text=t) for i, t in enumerate(texts)]
    with session_scope() as session:
        batch = submit_batch(session, config, SubmitRequest("classify", items, labels=labels))
    with session_scope() as session:
        ids = session.execute(
            text(
                "UPDATE jobs SET state = 'queued', queued_at = now() WHERE batch_id = :b"
                " RETURNING id"
            ),
            {"b": batch.id},
        ).scalars()
        return sorted(ids)


def run_chunk(config: AppConfig, job_ids: list[int]) -> ChunkReport:
    async def main() -> ChunkReport:
        executor = build_executor(config)
        try:
            return await executor.run_chunk(job_ids)
        finally:
            await executor.aclose()

    return asyncio.run(main())


def job_rows(job_ids: list[int]) -> list[Any]:
    with session_scope() as session:
        return list(
            session.execute(
                text("SELECT * FROM jobs WHERE id = ANY(:ids) ORDER BY id"), {"ids": job_ids}
            ).all()
        )


def attempt_rows(job_ids: list[int]) -> list[Any]:
    with session_scope() as session:
        return list(
            session.execute(
                text("SELECT * FROM attempts WHERE job_id = ANY(:ids) ORDER BY id"),
                {"ids": job_ids},
            ).all()
        )

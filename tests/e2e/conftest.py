"""End-to-end harness: the provider simulator and a real `sluice worker` process, sharing the
session's test database and Redis, with the SDKs pointed at the simulator."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from simulator import SimConfig
from simulator.testing import SimHandle, running_simulator
from tests.conftest import fast_config, flush_test_redis, write_config

TEST_KEY = "sk-test-not-a-real-key"  #: what the SDKs send to the simulator
WORKER_STOP_S = 20.0  #: grace for a worker to exit on SIGTERM


@dataclass
class Pipeline:
    sim: SimHandle
    env: dict[str, str]
    config_path: Path

    def start_worker(self, *, concurrency: int = 2, log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "api.cli",
                    "worker",
                    "-c",
                    str(concurrency),
                    "--loglevel",
                    "INFO",
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def cli(self, *args: str, input_bytes: bytes | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            env=self.env,
            capture_output=True,
            text=input_bytes is None,
            input=input_bytes,
            timeout=120,
        )


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=WORKER_STOP_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def pipeline(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    workdir = tmp_path_factory.mktemp("e2e")
    config_path = write_config(workdir / "sluice.yaml", fast_config())
    flush_test_redis(redis.Redis.from_url(redis_url))  # no stale wake-ups from earlier tests
    with running_simulator(SimConfig(seed=11)) as sim:
        env = {
            **os.environ,
            "SLUICE_DATABASE_URL": database_url,
            "SLUICE_REDIS_URL": redis_url,
            "SLUICE_CONFIG": str(config_path),
            "SLUICE_HOME": str(workdir / "home"),
            "ANTHROPIC_BASE_URL": sim.base_url,
            "OPENAI_BASE_URL": sim.openai_base_url,
            "ANTHROPIC_API_KEY": TEST_KEY,
            "OPENAI_API_KEY": TEST_KEY,
        }
        pipe = Pipeline(sim=sim, env=env, config_path=config_path)
        worker = pipe.start_worker(log=workdir / "worker.log")
        try:
            yield pipe
        finally:
            stop_process(worker)
            print((workdir / "worker.log").read_text()[-5000:])


@pytest.fixture()
def fresh_sim(pipeline: Pipeline, db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    """The pipeline with empty tables, a cleared simulator log and no injected faults; this
    process reads the same config as the worker."""
    monkeypatch.setenv("SLUICE_CONFIG", str(pipeline.config_path))
    pipeline.sim.reset()
    pipeline.sim.update_config(
        error_500_rate=0.0,
        overloaded_rate=0.0,
        malformed_rate=0.0,
        timeout_rate=0.0,
        latency_ms=0.0,
        jitter_ms=0.0,
    )
    yield pipeline


def wait_for_batch(batch_id: uuid.UUID, *, timeout_s: float = 90.0) -> dict[str, int]:
    """Poll until every job of the batch is terminal; returns counts by state."""
    from worker.domain.batches import get_batch
    from worker.domain.db import session_scope

    deadline = time.monotonic() + timeout_s
    while True:
        with session_scope() as session:
            view = get_batch(session, batch_id)
        if view.done or time.monotonic() > deadline:
            return dict(view.counts)
        time.sleep(0.3)


def submit_items(task: str, items: list[tuple[str, str]], labels: list[str]) -> uuid.UUID:
    """Store a batch through the service function and wake the dispatcher, as the CLI does."""
    from api.dispatch import enqueue_dispatch
    from worker.domain.batches import SubmitRequest, submit_batch
    from worker.domain.config import load_config
    from worker.domain.db import session_scope
    from worker.domain.ingest import Item

    request = SubmitRequest(
        task=task,
        items=[
            Item(line=i + 1, item_id=item_id, text=text) for i, (item_id, text) in enumerate(items)
        ],
        labels=labels,
    )
    with session_scope() as session:
        batch = submit_batch(session, load_config(), request)
    enqueue_dispatch(batch.id)
    return batch.id

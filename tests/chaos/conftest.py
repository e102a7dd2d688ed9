"""The chaos harness: two worker processes, beat, real Postgres and Redis, and the simulator at
200 ms ± 100 ms; each case runs a batch, breaks something mid-way, and checks three things:

1. every job is terminal, none pending, queued or running;
2. every job has exactly one recorded result and cost: its cost and attempt count equal those
   of the calls made under the lease that recorded it, with exactly one good answer among them;
3. the calls the provider saw exceed the jobs by at most the calls in flight at the fault.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from simulator import SimConfig
from simulator.testing import SimHandle, running_simulator
from tests.conftest import fast_config, flush_test_redis, write_config
from tests.e2e.conftest import TEST_KEY, submit_items
from worker.domain.batches import get_batch
from worker.domain.db import session_scope

JOBS = 500
LABELS = ["billing", "technical", "account", "other"]
CASE_TIMEOUT_S = 60.0  #: a case that has not recovered by then fails
WORKER_STOP_S = 20.0
SEND_LAG_S = 1.0  #: how long a request already written by a client may take to arrive
CHAOS_WORKER = {
    "chunk_size": 20,
    "queue_depth_chunks": 4,
    "max_inflight_per_process": 6,
    "lease_s": 15,  # outlives a 5 s Postgres restart between heartbeats (every 5 s)
    # short, for the message a SIGKILLed worker had reserved but not started: Redis keeps it
    # unacked until the visibility timeout. A Redis flush is found by the sweeper's mark key.
    "requeue_queued_after_s": 5,
    "shutdown_grace_s": 3,
    "sweep_interval_s": 1,
    "result_flush_s": 0.2,
}


@dataclass
class Cluster:
    sim: SimHandle
    env: dict[str, str]
    workdir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    beats: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _spawn(
        self, args: list[str], log_name: str, env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        with (self.workdir / log_name).open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "api.cli", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_worker(self) -> subprocess.Popen[bytes]:
        proc = self._spawn(
            ["worker", "-c", "2", "--loglevel", "INFO"], f"worker-{len(self.workers)}.log", self.env
        )
        self.workers.append(proc)
        return proc

    def start_beat(self) -> subprocess.Popen[bytes]:
        home = self.workdir / f"beat-{len(self.beats)}"
        home.mkdir(exist_ok=True)
        proc = self._spawn(
            ["beat", "--loglevel", "INFO"],
            f"beat-{len(self.beats)}.log",
            {**self.env, "SLUICE_HOME": str(home)},
        )
        self.beats.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in [*self.workers, *self.beats]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, *self.beats]:
            try:
                proc.wait(timeout=WORKER_STOP_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.workers, self.beats = [], []


@pytest.fixture()
def cluster(
    db: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cluster]:
    data = fast_config(**CHAOS_WORKER)
    config_path = write_config(tmp_path / "sluice.yaml", data)
    monkeypatch.setenv("SLUICE_CONFIG", str(config_path))
    flush_test_redis(redis.Redis.from_url(redis_url))
    with running_simulator(SimConfig(seed=9, latency_ms=200, jitter_ms=100)) as sim:
        env = {
            **os.environ,
            "SLUICE_DATABASE_URL": os.environ["SLUICE_DATABASE_URL"],
            "SLUICE_REDIS_URL": redis_url,
            "SLUICE_CONFIG": str(config_path),
            "SLUICE_HOME": str(tmp_path / "home"),
            "ANTHROPIC_BASE_URL": sim.base_url,
            "OPENAI_BASE_URL": sim.openai_base_url,
            "ANTHROPIC_API_KEY": TEST_KEY,
            "OPENAI_API_KEY": TEST_KEY,
        }
        cluster = Cluster(sim=sim, env=env, workdir=tmp_path)
        cluster.start_worker()
        cluster.start_worker()
        cluster.start_beat()
        try:
            yield cluster
        finally:
            cluster.stop_all()


def start_batch() -> uuid.UUID:
    items = [
        (f"c-{i}", f"Chaos ticket {i}, order #{5000 + i}. [[label:{LABELS[i % 4]}]]")
        for i in range(JOBS)
    ]
    return submit_items("classify", items, LABELS)


def counts(batch_id: uuid.UUID) -> dict[str, int]:
    with session_scope() as session:
        return dict(get_batch(session, batch_id).counts)


def wait_until_done(batch_id: uuid.UUID, at_least: int) -> None:
    """Block until ``at_least`` jobs have ended (the moment to break something)."""
    deadline = time.monotonic() + CASE_TIMEOUT_S
    while time.monotonic() < deadline:
        done = sum(counts(batch_id).get(s, 0) for s in ("succeeded", "failed", "canceled"))
        if done >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"the batch never reached {at_least} finished jobs")


def recover(batch_id: uuid.UUID, fault_at: float) -> float:
    """Wait until every job is terminal; returns seconds from the fault to the last result."""
    deadline = time.monotonic() + CASE_TIMEOUT_S
    while time.monotonic() < deadline:
        current = counts(batch_id)
        if not any(current.get(s, 0) for s in ("pending", "queued", "running", "waiting_budget")):
            return time.monotonic() - fault_at
        time.sleep(0.2)
    raise AssertionError(
        f"not recovered {CASE_TIMEOUT_S:.0f} s after the fault: {counts(batch_id)}"
    )


def in_flight_at(sim: SimHandle, unix_time: float) -> int:
    """Calls in flight at ``unix_time``: not yet answered, and already sent. A request a
    worker wrote just before it was killed still reaches the provider a moment later, so
    arrivals up to SEND_LAG_S after the fault count as sent before it."""
    return sum(
        1
        for r in sim.log()
        if float(r["ts"]) <= unix_time + SEND_LAG_S
        and unix_time < float(r["ts"]) + float(r["latency_ms"]) / 1000
    )


def assert_nothing_lost(batch_id: uuid.UUID, sim: SimHandle, *, fault_at: float | None) -> int:
    """The three checks; returns the calls that were in flight at the fault (unix time)."""
    final = counts(batch_id)
    assert final == {"succeeded": JOBS}, final
    with session_scope() as session:
        mismatched = (
            session.execute(
                text(
                    """
                SELECT j.id FROM jobs j
                  LEFT JOIN attempts a ON a.job_id = j.id AND a.lease_token = j.result_token
                 WHERE j.batch_id = :b
                 GROUP BY j.id, j.cost_usd, j.attempt_count
                HAVING j.cost_usd <> coalesce(sum(a.cost_usd), 0)
                    OR j.attempt_count <> count(a.id)
                    OR count(a.id) FILTER (WHERE a.error_type IS NULL) <> 1
                """
                ),
                {"b": batch_id},
            )
            .scalars()
            .all()
        )
    assert mismatched == [], f"{len(mismatched)} jobs without exactly one recorded result"
    # measured now: a call is logged when it is answered, so the log is complete only now
    in_flight = 0 if fault_at is None else in_flight_at(sim, fault_at)
    answered = [r for r in sim.log() if r["status"] == 200 and r.get("fault") is None]
    extra = len(answered) - JOBS
    assert 0 <= extra <= in_flight, f"{extra} repeated calls, {in_flight} were in flight"
    return in_flight

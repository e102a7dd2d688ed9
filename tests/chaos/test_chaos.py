"""Nothing is lost: each case breaks a running batch of 500 jobs and proves every job still
ends exactly once (see conftest.py for the three checks)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.chaos.conftest import (
    JOBS,
    Cluster,
    assert_nothing_lost,
    recover,
    start_batch,
    wait_until_done,
)
from tests.conftest import flush_test_redis
from worker.sweeper import sweep

GRACE_MARGIN_S = 10.0  #: a stopping worker may take this long beyond its grace to exit
FAULT_AT = JOBS // 3  #: break things once a third of the batch has finished


def _report(case: str, recovery_s: float, extra_allowed: int) -> None:
    print(
        f"\nchaos {case}: all {JOBS} jobs recorded {recovery_s:.1f} s after the fault "
        f"({extra_allowed} calls were in flight)"
    )


def test_sigkill_of_one_worker_mid_batch(cluster: Cluster) -> None:
    batch_id = start_batch()
    wait_until_done(batch_id, FAULT_AT)

    victim = cluster.workers[0]
    os.killpg(victim.pid, signal.SIGKILL)  # the main process and its pool, with no warning
    fault = time.time()
    recovery_s = recover(batch_id, time.monotonic())

    in_flight = assert_nothing_lost(batch_id, cluster.sim, fault_at=fault)
    _report("SIGKILL one worker", recovery_s, in_flight)


def test_redis_loses_everything_mid_batch(cluster: Cluster, redis_url: str) -> None:
    batch_id = start_batch()
    wait_until_done(batch_id, FAULT_AT)

    # FLUSHALL, limited to this test session's own database so parallel runs are unharmed
    flush_test_redis(redis.Redis.from_url(redis_url))
    fault = time.time()
    recovery_s = recover(batch_id, time.monotonic())

    in_flight = assert_nothing_lost(batch_id, cluster.sim, fault_at=fault)
    _report("Redis flushed", recovery_s, in_flight)


def _cluster_name() -> str | None:
    root = Path("/etc/postgresql")
    versions = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    return versions[-1] if versions and shutil.which("pg_ctlcluster") else None


@pytest.mark.skipif(_cluster_name() is None, reason="no local PostgreSQL cluster to restart")
def test_postgres_restarts_mid_batch(cluster: Cluster) -> None:
    batch_id = start_batch()
    wait_until_done(batch_id, FAULT_AT)
    version = _cluster_name()
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", str(version), "main"]

    subprocess.run([*command, "stop", "--mode", "fast"], check=True, timeout=60)
    fault = time.time()
    time.sleep(5)
    subprocess.run([*command, "start"], check=True, timeout=60)
    recovery_s = recover(batch_id, time.monotonic())

    in_flight = assert_nothing_lost(batch_id, cluster.sim, fault_at=fault)
    _report("Postgres restarted", recovery_s, in_flight)


def test_sigterm_every_worker_then_start_new_ones(cluster: Cluster) -> None:
    batch_id = start_batch()
    wait_until_done(batch_id, FAULT_AT)

    old = list(cluster.workers)
    for worker in old:
        os.kill(worker.pid, signal.SIGTERM)  # what docker compose stop sends
    fault = time.time()
    grace_s = 3  # CHAOS_WORKER["shutdown_grace_s"]
    for worker in old:
        assert worker.wait(timeout=grace_s + GRACE_MARGIN_S) == 0  # on time, and cleanly
    stopped_after_s = time.time() - fault
    cluster.workers = []
    cluster.start_worker()
    cluster.start_worker()
    recovery_s = recover(batch_id, time.monotonic())

    in_flight = assert_nothing_lost(batch_id, cluster.sim, fault_at=fault)
    print(f"\nchaos SIGTERM: the old workers exited 0 within {stopped_after_s:.1f} s")
    _report("SIGTERM every worker", recovery_s, in_flight)


def test_provider_chaos_of_every_kind_at_once(cluster: Cluster) -> None:
    cluster.sim.update_config(
        error_500_rate=0.10,
        overloaded_rate=0.05,
        timeout_rate=0.02,
        malformed_rate=0.02,
        timeout_hang_s=6.0,
    )
    started = time.monotonic()
    batch_id = start_batch()

    recovery_s = recover(batch_id, started)

    assert_nothing_lost(batch_id, cluster.sim, fault_at=None)
    faulted = [r for r in cluster.sim.log() if r.get("fault")]
    assert {r["fault"] for r in faulted} >= {"error_500", "overloaded", "timeout", "malformed"}
    _report("provider chaos", recovery_s, 0)


def test_two_sweepers_at_once(cluster: Cluster) -> None:
    cluster.start_beat()  # a second beat: two sweeps every second
    batch_id = start_batch()
    wait_until_done(batch_id, FAULT_AT)
    stop = threading.Event()

    def sweep_hard() -> None:  # and two more sweepers hammering from this process
        while not stop.is_set():
            sweep(requeue_queued_after_s=5)

    hammers = [threading.Thread(target=sweep_hard) for _ in range(2)]
    for hammer in hammers:
        hammer.start()
    os.killpg(cluster.workers[0].pid, signal.SIGKILL)  # give the sweepers work to fight over
    fault = time.time()
    try:
        recovery_s = recover(batch_id, time.monotonic())
    finally:
        stop.set()
        for hammer in hammers:
            hammer.join()

    in_flight = assert_nothing_lost(batch_id, cluster.sim, fault_at=fault)
    _report("two sweepers (four, in fact)", recovery_s, in_flight)

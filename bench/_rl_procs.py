"""Services and child processes for bench/ratelimit.py.

- The Redis database is the benchmark's own: it refuses one a test session has claimed, empties
  it, and then holds the test suite's claim marker on it, so no test session starts using it
  mid-run (the suite claims databases 1-15 with that key).
- The Postgres database is the benchmark's own too: created if missing and migrated.
- Every child runs in a process group of its own, so stopping a Celery worker also reaches the
  pool processes it forked. Only groups started here are ever signalled, by their id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis
from celery import Celery
from redis.exceptions import RedisError
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from simulator.testing import SimHandle

REPO_ROOT = Path(__file__).resolve().parent.parent
CLAIM_KEY = "sluice-test-session"  #: the test suite's marker of a Redis database in use
CLAIM_TTL_S = 2 * 3600  #: our marker lapses by itself if this script is killed
CLAIM_TOKEN = f"bench-ratelimit-{os.getpid()}"  #: our marker's value
STOP_GRACE_S = 10.0  #: a worker gets this long after SIGTERM before its group is SIGKILLed
PING_TIMEOUT_S = 1.0  #: one round of Celery pings
POLL_S = 0.2  #: between checks while waiting for the first request


class BenchError(RuntimeError):
    """The benchmark cannot run or went wrong; the message says why."""


def claim_redis_db(url: str) -> None:
    """Empty the benchmark's Redis database and mark it taken; refuse a test session's."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        holder = client.get(CLAIM_KEY)
        if holder is not None and holder != CLAIM_TOKEN:
            ttl_s = client.ttl(CLAIM_KEY)
            raise BenchError(
                f"{url} is claimed by {holder!r} (a running benchmark or test session; "
                f"a killed one's claim lapses in {ttl_s} s); pass another --redis-url"
            )
        client.flushdb()
        client.set(CLAIM_KEY, CLAIM_TOKEN, ex=CLAIM_TTL_S)
    except RedisError as err:
        raise BenchError(f"cannot use Redis at {url}: {err}") from None


def release_redis_db(url: str) -> None:
    """Empty the database again, which also drops our claim (its TTL covers a Redis outage)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    with contextlib.suppress(RedisError):
        if client.get(CLAIM_KEY) in (None, CLAIM_TOKEN):
            client.flushdb()


def prepare_database(admin_url: str, name: str) -> str:
    """Create the database `name` if it is missing, migrate it, and return its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as err:
        raise BenchError(f"cannot reach Postgres at {admin_url}: {err.orig}") from None
    finally:
        admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    env = {**os.environ, "SLUICE_DATABASE_URL": url}
    migrate = [sys.executable, "-m", "api.cli", "migrate"]
    if subprocess.run(migrate, env=env, cwd=REPO_ROOT).returncode != 0:
        raise BenchError(f"`sluice migrate` failed on {url}")
    return url


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """A child process to run in a group of its own, with its output in `log_path`."""

    command: Sequence[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path = REPO_ROOT


@contextlib.contextmanager
def running_groups(specs: Sequence[ProcessSpec]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start every spec; on exit stop them all, whatever happened."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for spec in specs:
            with spec.log_path.open("ab") as log:
                procs.append(
                    subprocess.Popen(
                        list(spec.command),
                        env=spec.env,
                        cwd=spec.cwd,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield procs
    finally:
        stop_groups(procs)


def stop_groups(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each group leader, then SIGKILL whatever is left of its group after the grace."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group id is the leader's pid
        if proc.poll() is None:
            proc.wait()


def wait_for_workers(
    broker_url: str, procs: Sequence[subprocess.Popen[bytes]], *, timeout_s: float
) -> None:
    """Return once every worker answers a Celery ping; fail if one exits or time runs out."""
    client = Celery("bench-ping", broker=broker_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            codes = [proc.returncode for proc in procs if proc.poll() is not None]
            if codes:
                raise BenchError(f"a worker exited during start-up with {codes[0]}; see its log")
            if len(client.control.ping(timeout=PING_TIMEOUT_S) or []) >= len(procs):
                return
    finally:
        client.close()
    raise BenchError(f"{len(procs)} workers did not all answer within {timeout_s:.0f} s")


def wait_for_first_request(sim: SimHandle, endpoint: str, *, timeout_s: float) -> float:
    """The arrival time (unix s) of the first request the simulator saw at `endpoint`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sim.stats()["by_endpoint"].get(endpoint):
            return min(float(r["ts"]) for r in sim.log() if r["endpoint"] == endpoint)
        time.sleep(POLL_S)
    raise BenchError(f"no request reached the simulator within {timeout_s:.0f} s")


def sleep_until(wall_s: float) -> None:
    """Sleep until the wall clock reads `wall_s`."""
    while (left := wall_s - time.time()) > 0:
        time.sleep(min(left, 1.0))

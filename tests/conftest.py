"""Shared fixtures: a real Postgres database (fresh per session, truncated per test), a real
Redis database number, test configs, the provider simulator and real worker processes."""

from __future__ import annotations

import io
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import yaml
from sqlalchemy import create_engine, text

from worker.domain.config import default_config_text
from worker.domain.constants import REDIS_KEY_PREFIX

ADMIN_URL = os.environ.get(
    "SLUICE_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)  #: a database the tests may connect to in order to create their own
#: the Redis server the tests use; each test session claims a database number of its own
TEST_REDIS_BASE = os.environ.get("SLUICE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
TEST_REDIS_DBS = range(1, 16)  #: database numbers a test session may claim (0 is left alone)
CLAIM_KEY = "sluice-test-session"  #: marks a database as taken by a running test session
CLAIM_TTL_S = 3 * 3600  #: a claim left by a crashed session lapses after this long
#: real inputs nobody here wrote: ../shared/data next to the repository, or SLUICE_SHARED_DATA
SHARED_DATA = Path(
    os.environ.get("SLUICE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def fast_config(**worker: object) -> dict[str, object]:
    """The default config with short backoffs and timeouts, suitable for tests."""
    data = yaml.safe_load(default_config_text())
    data["worker"].update(
        {
            "backoff_initial_s": 0.02,
            "backoff_max_s": 0.3,
            "attempts_per_model": 6,
            "result_flush_s": 0.2,
            "chunk_size": 25,
            "requeue_queued_after_s": 5,
        }
    )
    data["worker"].update(worker)
    for provider in data["providers"].values():
        provider["timeout_s"] = 5
    return data


def write_config(path: Path, data: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"sluice_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    previous = os.environ.get("SLUICE_DATABASE_URL")
    os.environ["SLUICE_DATABASE_URL"] = url
    from worker.domain.migrate import upgrade_head

    upgrade_head()
    yield url
    from worker.domain.db import dispose_engines

    dispose_engines()
    if previous is None:
        os.environ.pop("SLUICE_DATABASE_URL", None)
    else:
        os.environ["SLUICE_DATABASE_URL"] = previous
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def db(database_url: str) -> Iterator[str]:
    """A migrated database with empty tables. Sluice's own Redis keys (budget ledgers, limiter
    windows) go too: counters that outlive the rows they count would describe another world."""
    from worker.domain.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(
            text("TRUNCATE batches, jobs, attempts, budgets, system_state RESTART IDENTITY CASCADE")
        )
    if os.environ.get("SLUICE_REDIS_URL"):
        client = redis.Redis.from_url(os.environ["SLUICE_REDIS_URL"])
        stale = list(client.scan_iter(f"{REDIS_KEY_PREFIX}*"))
        if stale:
            client.delete(*stale)
    yield database_url


def _claim_redis_db() -> tuple[str, redis.Redis]:
    """A database number no other test session (or worker it started) is using."""
    token = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
    for number in TEST_REDIS_DBS:
        client = redis.Redis.from_url(f"{TEST_REDIS_BASE.rstrip('/')}/{number}")
        if client.set(CLAIM_KEY, token, nx=True, ex=CLAIM_TTL_S):
            return f"{TEST_REDIS_BASE.rstrip('/')}/{number}", client
    raise RuntimeError("every Redis database 1-15 is claimed by another test session")


def flush_test_redis(client: redis.Redis) -> None:
    """Empty the session's database but keep its claim."""
    token = client.get(CLAIM_KEY)
    client.flushdb()
    if token is not None:
        client.set(CLAIM_KEY, token, ex=CLAIM_TTL_S)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    previous = os.environ.get("SLUICE_REDIS_URL")
    url, client = _claim_redis_db()
    os.environ["SLUICE_REDIS_URL"] = url
    flush_test_redis(client)
    yield url
    client.flushdb()  # also drops the claim
    if previous is None:
        os.environ.pop("SLUICE_REDIS_URL", None)
    else:
        os.environ["SLUICE_REDIS_URL"] = previous


@pytest.fixture()
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fast test config, active for this test (SLUICE_CONFIG)."""
    path = write_config(tmp_path / "sluice.yaml", fast_config())
    monkeypatch.setenv("SLUICE_CONFIG", str(path))
    return path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture()
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    from api.cli import main

    def run(*args: str, stdin: bytes | None = None) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["sluice", *args])
        if stdin is not None:
            fake = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
            monkeypatch.setattr(sys, "stdin", fake)
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as done:
            code = int(done.code or 0)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run

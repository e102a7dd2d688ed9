"""Per-process state of a worker: one asyncio loop and one Executor (provider clients, Redis
clients, budgets), reused by every Celery task the process runs, so connections survive
between chunks."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from worker.budget import BudgetLedger
from worker.budget_book import BudgetBook, load_spent, start_epoch
from worker.calls import RATE_WAIT_SLICE_S, Caller, Clock, ProviderPool, utc_now
from worker.config_watch import LimitsWatch
from worker.domain.config import AppConfig, load_config
from worker.domain.settings import get_settings
from worker.executor import Executor
from worker.ratelimit import RateLimiter
from worker.redis_layer import async_client

T = TypeVar("T")
EPOCH_GRACE_MARGIN_S = 5.0  #: added to the longest call and flush when Redis lost the ledgers
REDIS_SPARE_CONNECTIONS = 8  #: beyond one per call in flight: heartbeats, stop watch, settles

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


def recovery_grace_s(config: AppConfig) -> float:
    """Long enough for any budget reservation open when Redis lost its data to end and its
    call to be written: at most a rate-limit wait slice, then one call, then one flush."""
    longest_call_s = max(provider.timeout_s for provider in config.providers.values())
    return RATE_WAIT_SLICE_S + longest_call_s + config.worker.result_flush_s + EPOCH_GRACE_MARGIN_S


def build_executor(
    config: AppConfig, *, clock: Clock = utc_now, config_path: Path | None = None
) -> Executor:
    """An executor for ``config``; with ``config_path`` (the file it came from), rate-limit
    changes to that file reach running calls (worker/config_watch.py)."""
    # every call in flight may hold a Redis connection at once (limiter, then ledger)
    connections = config.worker.max_inflight_per_process + REDIS_SPARE_CONNECTIONS
    ledger = BudgetLedger(
        async_client(max_connections=connections),
        load_spent=load_spent,
        start_epoch=start_epoch,
        recovery_grace_s=recovery_grace_s(config),
    )
    caller = Caller(
        config,
        providers=ProviderPool(config),
        limiter=RateLimiter(async_client(max_connections=connections)),
        ledger=ledger,
        book=BudgetBook(config),
        limits=LimitsWatch(config, config_path),
        clock=clock,
    )
    return Executor(caller)


def executor() -> Executor:
    global _executor
    if _executor is None:
        _executor = build_executor(load_config(), config_path=get_settings().config)
    return _executor


def shutdown() -> None:
    """Close provider clients and connections cleanly when the process exits."""
    global _loop, _executor
    if _loop is not None and not _loop.is_closed():
        if _executor is not None:
            _loop.run_until_complete(_executor.aclose())
        _loop.close()
    reset()

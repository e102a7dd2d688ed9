"""The one retry policy: provider's retry-after first, else exponential backoff with jitter;
only Retryable errors are retried, and only attempts_per_model times."""

from __future__ import annotations

import asyncio

import pytest
from tenacity import RetryCallState
from tenacity.wait import wait_fixed

from tests.worker.conftest import make_config
from worker.domain.errors import Permanent, RateLimited, Retryable
from worker.retry import RETRY_AFTER_JITTER_S, retry_policy, wait_retry_after


def _state_after(error: BaseException, attempt: int = 1) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    return state


def test_the_providers_retry_after_is_honoured_with_a_little_jitter() -> None:
    wait = wait_retry_after(wait_fixed(99))

    seconds = wait(_state_after(RateLimited("slow down", retry_after_s=7.0)))

    assert 7.0 <= seconds <= 7.0 + RETRY_AFTER_JITTER_S


def test_without_retry_after_the_fallback_backoff_applies() -> None:
    wait = wait_retry_after(wait_fixed(3))

    assert wait(_state_after(Retryable("500"))) == 3


def test_retryable_errors_are_tried_attempts_per_model_times_then_raised() -> None:
    config = make_config(attempts_per_model=3, backoff_initial_s=0.001, backoff_max_s=0.002)
    calls: list[int] = []

    async def flaky() -> None:
        async for attempt in retry_policy(config.worker):
            with attempt:
                calls.append(1)
                raise Retryable("overloaded", status_code=529)

    with pytest.raises(Retryable):
        asyncio.run(flaky())
    assert len(calls) == 3


def test_permanent_errors_are_not_retried() -> None:
    config = make_config(attempts_per_model=5)
    calls: list[int] = []

    async def broken() -> None:
        async for attempt in retry_policy(config.worker):
            with attempt:
                calls.append(1)
                raise Permanent("bad request", status_code=400)

    with pytest.raises(Permanent):
        asyncio.run(broken())
    assert calls == [1]


def test_429s_do_not_use_up_the_attempts_but_are_bounded_in_time() -> None:
    config = make_config(
        attempts_per_model=2, rate_limited_retry_s=0.3, backoff_initial_s=0.001, backoff_max_s=0.002
    )
    calls: list[str] = []

    async def crowded() -> None:
        async for attempt in retry_policy(config.worker):
            with attempt:
                calls.append("429")
                raise RateLimited("busy", status_code=429, retry_after_s=0.05)

    with pytest.raises(RateLimited):
        asyncio.run(crowded())
    assert len(calls) > 2  # more than attempts_per_model: 429s were not counted as failures
    assert len(calls) <= 22  # but a second of them ended it (each wait is 0.05-0.3 s)

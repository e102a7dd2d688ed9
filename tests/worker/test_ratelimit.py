"""The Lua rate limiter against real Redis: exact capacity, refill, token weights, slots and
their expiry, settling down, 429 pauses, provider-reported tightening, and failing closed."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis

from tests.conftest import flush_test_redis
from worker.domain.config import Limits
from worker.ratelimit import (
    Demand,
    LimitScope,
    LimitTooSmall,
    Permit,
    RateLimiter,
    RemainingReport,
)

SHORT_WINDOW_S = 2  #: a "minute" of two seconds, so refill can be watched in a test


@pytest.fixture()
def flushed(redis_url: str) -> Iterator[None]:
    client = redis.Redis.from_url(redis_url)
    flush_test_redis(client)
    yield
    flush_test_redis(client)


def scope(name: str = "provider:test", slot_ttl_s: float = 30, **limits: int) -> LimitScope:
    return LimitScope(name, Limits(**limits), slot_ttl_s)


def run(coro_fn, *, window_s: int = SHORT_WINDOW_S, burst_s: int = 60):  # type: ignore[no-untyped-def]
    """Run with pacing off (burst_s=60: a burst tolerance of a whole minute) unless a test is
    about pacing, so window arithmetic can be checked exactly."""

    async def main():  # type: ignore[no-untyped-def]
        client = aioredis.Redis.from_url(os.environ["SLUICE_REDIS_URL"])
        try:
            return await coro_fn(RateLimiter(client, window_s=window_s, burst_s=burst_s))
        finally:
            await client.aclose()

    return asyncio.run(main())


def one_request(tokens_in: int = 0, tokens_out: int = 0) -> Demand:
    return Demand(input_tokens=tokens_in, output_tokens=tokens_out)


def test_exactly_the_limit_is_admitted_within_a_window(flushed: None) -> None:
    limited = scope(rpm=10)

    async def body(limiter: RateLimiter) -> list[Permit | float]:
        return [await limiter.try_acquire([limited], one_request()) for _ in range(11)]

    outcomes = run(body, window_s=61)

    assert all(isinstance(o, Permit) for o in outcomes[:10])
    wait = outcomes[10]
    assert isinstance(wait, float) and 59 < wait <= 62  # until the first second leaves the window


def test_capacity_refills_when_the_window_moves_on(flushed: None) -> None:
    limited = scope(rpm=5)

    async def body(limiter: RateLimiter) -> tuple[float, Permit | float]:
        for _ in range(5):
            assert isinstance(await limiter.try_acquire([limited], one_request()), Permit)
        wait = await limiter.try_acquire([limited], one_request())
        assert isinstance(wait, float) and 0 < wait <= SHORT_WINDOW_S + 1
        await asyncio.sleep(wait)
        return wait, await limiter.try_acquire([limited], one_request())

    _, after = run(body)
    assert isinstance(after, Permit)


def test_token_costs_are_weighted_and_fill_exactly(flushed: None) -> None:
    limited = scope(input_tpm=1000, tpm=5000)

    async def body(limiter: RateLimiter) -> list[bool]:
        results = []
        for tokens in (400, 400, 400, 200):
            outcome = await limiter.try_acquire([limited], one_request(tokens_in=tokens))
            results.append(isinstance(outcome, Permit))
        return results

    assert run(body) == [True, True, False, True]  # 400 + 400 + 200 = the limit exactly


def test_a_call_larger_than_the_limit_is_refused_outright(flushed: None) -> None:
    limited = scope(input_tpm=1000)

    async def body(limiter: RateLimiter) -> None:
        await limiter.try_acquire([limited], one_request(tokens_in=1001))

    with pytest.raises(LimitTooSmall, match="input_tpm limit of 1,000"):
        run(body)


def test_settling_to_real_usage_frees_the_unused_reservation(flushed: None) -> None:
    limited = scope(output_tpm=1000)

    async def body(limiter: RateLimiter) -> tuple[Permit | float, Permit | float]:
        first = await limiter.try_acquire([limited], one_request(tokens_out=600))
        assert isinstance(first, Permit)
        blocked = await limiter.try_acquire([limited], one_request(tokens_out=600))
        await limiter.settle(first, input_tokens=0, output_tokens=100)
        return blocked, await limiter.try_acquire([limited], one_request(tokens_out=600))

    blocked, admitted = run(body)
    assert isinstance(blocked, float)
    assert isinstance(admitted, Permit)


def test_concurrency_slots_are_released_and_expire(flushed: None) -> None:
    limited = scope(max_concurrency=2, slot_ttl_s=1)

    async def body(limiter: RateLimiter) -> list[Permit | float]:
        first = await limiter.try_acquire([limited], one_request())
        second = await limiter.try_acquire([limited], one_request())
        full = await limiter.try_acquire([limited], one_request())
        assert isinstance(first, Permit) and isinstance(second, Permit)
        await limiter.settle(first, input_tokens=0, output_tokens=0)
        after_release = await limiter.try_acquire([limited], one_request())
        full_again = await limiter.try_acquire([limited], one_request())
        await asyncio.sleep(1.1)  # nobody releases: the holders "died"
        after_expiry = await limiter.try_acquire([limited], one_request())
        return [full, after_release, full_again, after_expiry]

    full, after_release, full_again, after_expiry = run(body)
    assert isinstance(full, float) and full == 0.05
    assert isinstance(after_release, Permit)
    assert isinstance(full_again, float)
    assert isinstance(after_expiry, Permit)


def test_a_429_pause_holds_every_caller_of_the_scope(flushed: None) -> None:
    limited = scope(rpm=1000)
    other = scope("provider:other", rpm=1000)

    async def body(limiter: RateLimiter) -> tuple[Permit | float, Permit | float, float]:
        await limiter.pause(limited, 0.6)
        paused = await limiter.try_acquire([limited], one_request())
        elsewhere = await limiter.try_acquire([other], one_request())
        started = time.monotonic()
        await limiter.acquire([limited], one_request())
        return paused, elsewhere, time.monotonic() - started

    paused, elsewhere, waited = run(body)
    assert isinstance(paused, float) and 0.4 < paused <= 0.6
    assert isinstance(elsewhere, Permit)
    assert 0.3 < waited < 1.0


def test_provider_reporting_less_room_tightens_the_window(flushed: None) -> None:
    limited = scope(rpm=100)

    async def body(limiter: RateLimiter) -> list[bool]:
        await limiter.observe(limited, [RemainingReport("rpm", remaining=3, reset_ms=30_000)])
        return [
            isinstance(await limiter.try_acquire([limited], one_request()), Permit)
            for _ in range(4)
        ]

    assert run(body) == [True, True, True, False]


def test_tightening_lasts_until_the_providers_reset_not_a_whole_window(flushed: None) -> None:
    limited = scope(rpm=100)

    async def body(limiter: RateLimiter) -> list[Permit | float]:
        await limiter.observe(limited, [RemainingReport("rpm", remaining=2, reset_ms=3_000)])
        return [await limiter.try_acquire([limited], one_request()) for _ in range(3)]

    first, second, third = run(body, window_s=61)
    assert isinstance(first, Permit) and isinstance(second, Permit)
    assert isinstance(third, float) and 2.0 < third <= 5.0  # the reset, not 61 s


def test_a_model_scope_and_its_provider_scope_both_count(flushed: None) -> None:
    provider = scope("provider:p", rpm=3)
    model = scope("model:m", rpm=10)

    async def body(limiter: RateLimiter) -> list[bool]:
        results = []
        for _ in range(4):
            outcome = await limiter.try_acquire([provider, model], one_request())
            results.append(isinstance(outcome, Permit))
        return results

    assert run(body) == [True, True, True, False]


def test_changing_a_limit_keeps_the_usage_already_counted(flushed: None) -> None:
    async def body(limiter: RateLimiter) -> list[bool]:
        for _ in range(5):
            await limiter.try_acquire([scope(rpm=10)], one_request())
        lowered = scope(rpm=6)  # an operator lowered the limit in the config
        return [
            isinstance(await limiter.try_acquire([lowered], one_request()), Permit)
            for _ in range(2)
        ]

    assert run(body, window_s=61) == [True, False]


def test_scripts_survive_a_script_cache_flush(flushed: None) -> None:
    async def body(limiter: RateLimiter) -> Permit | float:
        await limiter.try_acquire([scope(rpm=10)], one_request())
        redis.Redis.from_url(os.environ["SLUICE_REDIS_URL"]).script_flush()
        return await limiter.try_acquire([scope(rpm=10)], one_request())

    assert isinstance(run(body), Permit)


def test_unreachable_redis_fails_closed() -> None:
    async def main() -> None:
        client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
        limiter = RateLimiter(client)
        try:
            await asyncio.wait_for(limiter.acquire([scope(rpm=10)], one_request()), timeout=1.5)
        finally:
            await client.aclose()

    with pytest.raises(TimeoutError):  # still waiting: no call was let through unchecked
        asyncio.run(main())


def test_a_bounded_wait_gives_up_holding_nothing(flushed: None) -> None:
    limited = scope(rpm=1)

    async def body(limiter: RateLimiter) -> tuple[Permit | None, float, dict[bytes, bytes]]:
        assert isinstance(await limiter.try_acquire([limited], one_request()), Permit)
        started = time.monotonic()
        outcome = await limiter.acquire_within([limited], one_request(), max_wait_s=0.3)
        window = redis.Redis.from_url(os.environ["SLUICE_REDIS_URL"]).hgetall(limited.window_key)
        return outcome, time.monotonic() - started, window

    outcome, waited, window = run(body, window_s=61)
    assert outcome is None
    assert 0.25 < waited < 1.0  # it waited its slice, then gave up
    assert sum(int(v) for k, v in window.items() if k.startswith(b"r:")) == 1  # no second hold


def test_a_minutes_allowance_is_paced_over_the_minute_not_sent_at_once(flushed: None) -> None:
    """GCRA: after a burst of burst_s seconds' worth, calls are spaced at limit / window_s per
    second. A call within the book-ahead horizon is admitted with a delay to sleep."""
    limited = scope(rpm=60)  # one request every 61 / 60 s, after a burst of 4 s' worth

    async def body(limiter: RateLimiter) -> list[Permit | float]:
        return [await limiter.try_acquire([limited], one_request()) for _ in range(7)]

    outcomes = run(body, window_s=61, burst_s=4)
    permits = [p for p in outcomes[:6] if isinstance(p, Permit)]
    assert len(permits) == 6
    assert [p.delay_s for p in permits[:4]] == [0.0] * 4  # the burst
    assert 0 < permits[4].delay_s < 0.1  # 4 x 1.017 s of pace, less the 4 s tolerance
    assert 0.95 < permits[5].delay_s < 1.1  # one interval later
    wait = outcomes[6]
    assert isinstance(wait, float) and 0 < wait <= 0.2  # beyond the 2 s horizon: try again soon


def test_acquire_sleeps_until_the_booked_send_time(flushed: None) -> None:
    limited = scope(rpm=120)  # an interval of 61 / 120 s = 0.51 s

    async def body(limiter: RateLimiter) -> list[float]:
        started, sent = time.monotonic(), []
        for _ in range(5):
            await limiter.acquire([limited], one_request())
            sent.append(time.monotonic() - started)
        return sent

    # a burst of 1 s' worth (the first call and two more), then one per 0.51 s
    sent = run(body, window_s=61, burst_s=1)
    assert sent[2] < 0.1
    assert 0.45 < sent[3] < 0.7 and 0.95 < sent[4] < 1.2


def test_settling_gives_unused_tokens_back_to_the_pace(flushed: None) -> None:
    limited = scope(output_tpm=6100)  # one output token per 10 ms of pace

    async def body(limiter: RateLimiter) -> tuple[Permit | float, Permit | float]:
        first = await limiter.try_acquire([limited], one_request(tokens_out=500))
        assert isinstance(first, Permit) and first.delay_s == 0
        # max_tokens 500 was reserved: 5 s of pace, so a second call would be booked late
        unsettled = await limiter.try_acquire([limited], one_request(tokens_out=300))
        assert isinstance(unsettled, float)  # 1 s beyond burst + 2 s horizon: not bookable
        await limiter.settle(first, input_tokens=0, output_tokens=20)  # it used 20
        second = await limiter.try_acquire([limited], one_request(tokens_out=300))
        return unsettled, second

    _, second = run(body, window_s=61, burst_s=2)
    assert isinstance(second, Permit) and second.delay_s == 0  # 480 tokens' pace came back


def test_a_settled_call_counts_from_when_it_ended(flushed: None) -> None:
    """A provider counts a call from its arrival, which can lag admission on a busy client;
    settling moves the call to the second it ended, so the window outlasts the provider's."""
    limited = scope(rpm=10)

    async def body(limiter: RateLimiter) -> dict[bytes, bytes]:
        permit = await limiter.try_acquire([limited], one_request(tokens_in=5))
        assert isinstance(permit, Permit)
        await asyncio.sleep(1.1)  # the call takes a while
        await limiter.settle(permit, input_tokens=4, output_tokens=0)
        return redis.Redis.from_url(os.environ["SLUICE_REDIS_URL"]).hgetall(limited.window_key)

    fields = {k.decode(): int(v) for k, v in run(body, window_s=61).items()}
    admitted = [k for k in fields if k.startswith("r:") and fields[k] == 0]
    ended = [k for k in fields if k.startswith("r:") and fields[k] == 1]
    assert len(admitted) == 1 and len(ended) == 1
    assert int(ended[0][2:]) > int(admitted[0][2:])
    assert fields["i:" + ended[0][2:]] == 4

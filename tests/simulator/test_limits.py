"""The sliding-window limiter, driven with an explicit clock."""

from __future__ import annotations

from simulator import SimConfig
from simulator.limits import RateLimiter, Rejection, Ticket


def admit(
    limiter: RateLimiter,
    config: SimConfig,
    now_s: float,
    *,
    input_tokens: int = 10,
    output_tokens: int = 10,
    key_id: str = "k",
) -> Ticket | Rejection:
    return limiter.admit(
        config,
        api="anthropic",
        key_id=key_id,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        now_s=now_s,
    )


def test_rpm_window_is_strict_and_retry_after_points_at_the_first_expiry() -> None:
    limiter, config = RateLimiter(), SimConfig(rpm=2)
    assert isinstance(admit(limiter, config, 0.0), Ticket)
    assert isinstance(admit(limiter, config, 10.0), Ticket)
    refused = admit(limiter, config, 20.0)
    assert isinstance(refused, Rejection)
    assert (refused.limit_name, refused.retry_after_s) == ("rpm", 40)
    assert isinstance(admit(limiter, config, 59.9), Rejection)
    assert isinstance(admit(limiter, config, 60.0), Ticket)  # the t=0 request has left


def test_output_tokens_are_charged_by_max_tokens_then_settled_to_actual() -> None:
    limiter, config = RateLimiter(), SimConfig(output_tpm=100)
    ticket = admit(limiter, config, 0.0, output_tokens=80)
    assert isinstance(ticket, Ticket)
    assert isinstance(admit(limiter, config, 1.0, output_tokens=80), Rejection)
    limiter.settle(ticket, output_tokens=5)
    assert isinstance(admit(limiter, config, 2.0, output_tokens=80), Ticket)


def test_request_larger_than_the_limit_waits_a_full_window() -> None:
    refused = admit(RateLimiter(), SimConfig(input_tpm=50), 0.0, input_tokens=51)
    assert isinstance(refused, Rejection)
    assert (refused.limit_name, refused.retry_after_s, refused.is_tokens) == ("input_tpm", 60, True)


def test_tpm_counts_input_and_output_together() -> None:
    limiter, config = RateLimiter(), SimConfig(tpm=45)
    assert isinstance(admit(limiter, config, 0.0), Ticket)
    assert isinstance(admit(limiter, config, 0.0), Ticket)
    refused = admit(limiter, config, 0.0)
    assert isinstance(refused, Rejection) and refused.limit_name == "tpm"


def test_concurrency_slot_is_freed_by_settle_and_keys_are_independent() -> None:
    limiter, config = RateLimiter(), SimConfig(max_concurrency=1)
    ticket = admit(limiter, config, 0.0)
    assert isinstance(ticket, Ticket)
    refused = admit(limiter, config, 0.0)
    assert isinstance(refused, Rejection) and refused.limit_name == "max_concurrency"
    assert isinstance(admit(limiter, config, 0.0, key_id="other"), Ticket)
    limiter.settle(ticket, output_tokens=1)
    assert isinstance(admit(limiter, config, 0.0), Ticket)


def test_snapshot_reports_remaining_and_the_tightest_token_limit() -> None:
    limiter, config = RateLimiter(), SimConfig(rpm=10, input_tpm=100, output_tpm=1000)
    ticket = admit(limiter, config, 0.0, input_tokens=30, output_tokens=50)
    assert isinstance(ticket, Ticket)
    snap = limiter.snapshot(config, api="anthropic", key_id="k", now_s=15.0)
    assert snap.requests is not None and snap.requests.remaining == 9
    assert snap.requests.reset_in_s == 45.0
    tightest = snap.tightest_tokens()
    assert tightest is not None and (tightest.limit, tightest.remaining) == (100, 70)
    assert snap.tokens is None

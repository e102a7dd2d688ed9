"""Cost is exact: Decimal from the provider's usage × the config's per-million prices."""

from __future__ import annotations

from decimal import Decimal

from worker.domain.config import load_config
from worker.domain.pricing import Usage, call_cost_usd, worst_case_cost_usd


def test_cached_and_cache_write_tokens_use_their_own_prices() -> None:
    haiku = load_config().models["claude-haiku-5-5"]  # 0.10 in, 0.50 out, 0.01 read, 0.125 write
    usage = Usage(
        input_tokens=1000, output_tokens=200, cached_input_tokens=5000, cache_write_tokens=400
    )

    cost = call_cost_usd(haiku, usage)

    assert cost == Decimal("0.000100") + Decimal("0.000100") + Decimal("0.000050") + Decimal(
        "0.000050"
    )
    assert call_cost_usd(haiku, usage, batch_mode=True) == cost / 2


def test_ten_thousand_tiny_calls_sum_exactly() -> None:
    nano = load_config().models["gpt-5.4-nano"]  # 0.20 in, 1.25 out, 0.02 cached
    usage = Usage(input_tokens=37, output_tokens=3, cached_input_tokens=11)

    one = call_cost_usd(nano, usage)
    total = sum((call_cost_usd(nano, usage) for _ in range(10_000)), Decimal(0))

    assert one == Decimal("0.00001137")  # (37 × 0.20 + 3 × 1.25 + 11 × 0.02) / 10^6
    assert total == Decimal("0.1137")


def test_worst_case_assumes_every_output_token_and_no_cache() -> None:
    nano = load_config().models["gpt-5.4-nano"]

    assert worst_case_cost_usd(nano, input_tokens=1000, max_tokens=64) == Decimal("0.00028")

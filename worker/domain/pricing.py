"""Cost of a provider call from its reported usage and the config's prices, exactly.

A price is USD per million tokens, so tokens × price / 10^6 is exact in Decimal; the
database keeps 12 decimal places, enough for any per-million price with six decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from worker.domain.config import ModelConfig

TOKENS_PER_PRICE_UNIT = Decimal(1_000_000)  #: prices are quoted per million tokens


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens a provider reported for one call, split by how each is billed."""

    input_tokens: int = 0  #: uncached input
    output_tokens: int = 0
    cached_input_tokens: int = 0  #: input read from the provider's prompt cache
    cache_write_tokens: int = 0  #: input written to the prompt cache

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cached_input_tokens + self.cache_write_tokens


def call_cost_usd(model: ModelConfig, usage: Usage, *, batch_mode: bool = False) -> Decimal:
    """Exact USD cost of one call."""
    cached_price = model.cached_input_per_mtok
    write_price = model.cache_write_per_mtok
    total = (
        usage.input_tokens * model.input_per_mtok
        + usage.output_tokens * model.output_per_mtok
        + usage.cached_input_tokens
        * (model.input_per_mtok if cached_price is None else cached_price)
        + usage.cache_write_tokens * (model.input_per_mtok if write_price is None else write_price)
    )
    if batch_mode:
        total *= 1 - model.batch_discount
    return total / TOKENS_PER_PRICE_UNIT


def worst_case_cost_usd(model: ModelConfig, *, input_tokens: int, max_tokens: int) -> Decimal:
    """The most a call can cost: every input token uncached, every allowed output token used."""
    return call_cost_usd(model, Usage(input_tokens=input_tokens, output_tokens=max_tokens))

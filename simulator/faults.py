"""Seeded fault and latency injection.

Two `random.Random` generators, both seeded from `SimConfig.seed` (one for faults, one for
latency, so changing the jitter does not change which requests fail), are drawn once per
admitted request, in arrival order. A single client sending one request at a time therefore sees
the same faults on every run; with concurrent clients the sequence is still fixed but which
request gets which draw depends on the order requests arrive. Requests refused by auth,
validation or the rate limiter draw nothing.

One draw in [0, 1) picks at most one fault, from stacked ranges in the order
`error_500_rate`, `overloaded_rate`, `timeout_rate`, `malformed_rate`.
"""

from __future__ import annotations

import random
from enum import StrEnum

from simulator.config import SimConfig


class Fault(StrEnum):
    """A fault injected into one response; its value is what the log's `fault` field holds."""

    ERROR_500 = "error_500"  #: 500 api_error (Anthropic) / server_error (OpenAI)
    OVERLOADED = "overloaded"  #: 529 overloaded_error (Anthropic) / 503 (OpenAI)
    TIMEOUT = "timeout"  #: hold the request for timeout_hang_s, then answer normally
    MALFORMED = "malformed"  #: 200 with a truncated JSON body


class FaultInjector:
    """Draws each request's fault and latency from generators seeded by the config's seed."""

    def __init__(self, seed: int) -> None:
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart both sequences from `seed`."""
        self.seed = seed
        self._fault_rng = random.Random(f"faults:{seed}")
        self._latency_rng = random.Random(f"latency:{seed}")

    def draw_fault(self, config: SimConfig) -> Fault | None:
        """The fault for the next request, or None; draws nothing when every rate is 0."""
        if not config.has_faults:
            return None
        point = self._fault_rng.random()
        for fault, rate in (
            (Fault.ERROR_500, config.error_500_rate),
            (Fault.OVERLOADED, config.overloaded_rate),
            (Fault.TIMEOUT, config.timeout_rate),
            (Fault.MALFORMED, config.malformed_rate),
        ):
            if point < rate:
                return fault
            point -= rate
        return None

    def draw_latency_s(self, config: SimConfig) -> float:
        """Seconds to wait before answering: latency_ms ± uniform jitter_ms, never negative."""
        latency_ms = config.latency_ms
        if config.jitter_ms > 0:
            latency_ms += self._latency_rng.uniform(-config.jitter_ms, config.jitter_ms)
        return max(latency_ms, 0.0) / 1000.0

"""Per-key rate and concurrency limits over a strict sliding 60-second window.

Each (API, key) pair has its own `Window`: the requests admitted in the last 60 s with the
input and output tokens each was charged. A request is admitted only if, for every configured
limit, the window's sum plus this request's cost stays within it:

- `rpm` counts requests; `input_tpm` input tokens; `output_tpm` output tokens; `tpm` both.
- Output tokens are charged at admission by the request's `max_tokens` (or
  `max_completion_tokens`; 0 if absent) like Anthropic does, and `settle()` adjusts the charge to
  the actual output once the answer is known (0 for an error fault).
- `max_concurrency` caps requests in flight; `settle()` frees the slot.

Every configured limit applies to both APIs, even `input_tpm` on OpenAI, so a test can set any
limit for any provider. Requests refused with 429 are not charged; requests that then fail with an
injected fault are, as a provider's are. `retry-after` is the ceiling of the time until enough of
the window expires to admit the same request (at least 1 s, and 60 s when the request alone is
larger than the limit). The limiter is not thread-safe; it lives on the server's event loop.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from simulator.config import SimConfig

WINDOW_S = 60.0  #: length of the sliding window
MIN_RETRY_AFTER_S = 1  #: smallest retry-after sent, as real providers never say 0
CONCURRENCY_RETRY_AFTER_S = 1  #: retry-after for a 429 caused by max_concurrency


@dataclass(slots=True)
class Charge:
    """One admitted request's share of its window."""

    at_s: float  #: monotonic admission time
    input_tokens: int
    output_tokens: int
    live: bool = True  #: False once it has left the window


@dataclass(frozen=True, slots=True)
class LimitState:
    """One limit as the rate-limit headers report it."""

    limit: int
    used: int
    reset_in_s: float  #: until the window holds none of today's usage

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every configured limit of one key; None where unlimited."""

    requests: LimitState | None
    input_tokens: LimitState | None
    output_tokens: LimitState | None
    tokens: LimitState | None  #: the combined `tpm` limit

    def tightest_tokens(self) -> LimitState | None:
        """The configured token limit with the fewest tokens remaining."""
        states = [s for s in (self.tokens, self.input_tokens, self.output_tokens) if s]
        return min(states, key=lambda s: s.remaining) if states else None


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request was refused and when to retry."""

    limit_name: str  #: "rpm", "input_tpm", "output_tpm", "tpm" or "max_concurrency"
    limit: int
    retry_after_s: int

    @property
    def is_tokens(self) -> bool:
        return self.limit_name.endswith("tpm")


@dataclass(slots=True)
class Window:
    """The sliding window and in-flight count of one (API, key)."""

    charges: deque[Charge] = field(default_factory=deque)
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    in_flight: int = 0

    def prune(self, now_s: float) -> None:
        horizon = now_s - WINDOW_S
        charges = self.charges
        while charges and charges[0].at_s <= horizon:
            self._drop(charges.popleft())

    def _drop(self, charge: Charge) -> None:
        if charge.live:
            charge.live = False
            self.requests -= 1
            self.input_tokens -= charge.input_tokens
            self.output_tokens -= charge.output_tokens

    def used(self, limit_name: str) -> int:
        if limit_name == "rpm":
            return self.requests
        if limit_name == "input_tpm":
            return self.input_tokens
        if limit_name == "output_tpm":
            return self.output_tokens
        return self.input_tokens + self.output_tokens

    def wait_s(self, limit_name: str, excess: int, now_s: float) -> float:
        """Seconds until charges worth `excess` of `limit_name` have left the window."""
        freed = 0
        for charge in self.charges:
            if not charge.live:
                continue
            freed += _amount(limit_name, charge)
            if freed >= excess:
                return charge.at_s + WINDOW_S - now_s
        return WINDOW_S

    def reset_in_s(self, now_s: float) -> float:
        return self.charges[-1].at_s + WINDOW_S - now_s if self.charges else 0.0


@dataclass(slots=True)
class Ticket:
    """An admitted request's hold on its window, returned by `admit` and given to `settle`."""

    window: Window
    charge: Charge
    settled: bool = False


class RateLimiter:
    """Admits or refuses requests per (API, key) against the live `SimConfig`'s limits."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], Window] = {}

    def reset(self) -> None:
        """Forget all usage; tickets still in flight settle harmlessly into orphaned windows."""
        self._windows = {}

    def admit(
        self,
        config: SimConfig,
        *,
        api: str,
        key_id: str,
        input_tokens: int,
        output_tokens: int,
        now_s: float,
    ) -> Ticket | Rejection:
        """Charge a request to its window, or say which limit refuses it and for how long."""
        window = self._window(api, key_id, now_s)
        if config.max_concurrency is not None and window.in_flight >= config.max_concurrency:
            return Rejection("max_concurrency", config.max_concurrency, CONCURRENCY_RETRY_AFTER_S)
        costs = {
            "rpm": 1,
            "input_tpm": input_tokens,
            "output_tpm": output_tokens,
            "tpm": input_tokens + output_tokens,
        }
        worst: Rejection | None = None
        for name, cost in costs.items():
            limit = getattr(config, name)
            if limit is None:
                continue
            excess = window.used(name) + cost - limit
            if excess <= 0:
                continue
            wait_s = WINDOW_S if cost > limit else window.wait_s(name, excess, now_s)
            retry_after_s = max(math.ceil(wait_s), MIN_RETRY_AFTER_S)
            if worst is None or retry_after_s > worst.retry_after_s:
                worst = Rejection(name, limit, retry_after_s)
        if worst is not None:
            return worst
        charge = Charge(now_s, input_tokens, output_tokens)
        window.charges.append(charge)
        window.requests += 1
        window.input_tokens += input_tokens
        window.output_tokens += output_tokens
        window.in_flight += 1
        return Ticket(window, charge)

    def settle(self, ticket: Ticket, *, output_tokens: int) -> None:
        """Free the request's concurrency slot and charge its actual output tokens."""
        if ticket.settled:
            return
        ticket.settled = True
        ticket.window.in_flight -= 1
        charge = ticket.charge
        if charge.live:
            ticket.window.output_tokens += output_tokens - charge.output_tokens
        charge.output_tokens = output_tokens

    def snapshot(self, config: SimConfig, *, api: str, key_id: str, now_s: float) -> Snapshot:
        """The state of every configured limit of one key, for rate-limit headers."""
        window = self._window(api, key_id, now_s)
        reset_in_s = window.reset_in_s(now_s)

        def state(name: str) -> LimitState | None:
            limit = getattr(config, name)
            return None if limit is None else LimitState(limit, window.used(name), reset_in_s)

        return Snapshot(state("rpm"), state("input_tpm"), state("output_tpm"), state("tpm"))

    def _window(self, api: str, key_id: str, now_s: float) -> Window:
        window = self._windows.get((api, key_id))
        if window is None:
            window = self._windows[(api, key_id)] = Window()
        else:
            window.prune(now_s)
        return window


def _amount(limit_name: str, charge: Charge) -> int:
    if limit_name == "rpm":
        return 1
    if limit_name == "input_tpm":
        return charge.input_tokens
    if limit_name == "output_tpm":
        return charge.output_tokens
    return charge.input_tokens + charge.output_tokens

"""The one retry policy for provider calls (tenacity): honour retry-after, else back off
exponentially with full jitter.

A model is given up (and the route falls back) after ``attempts_per_model`` failed calls.
429s do not count toward that: they say "later", not "broken", and the rate limiter already
paused every worker for the provider's retry-after. They are retried for up to
``rate_limited_retry_s`` instead, so a key shared with a busy neighbour slows a batch down
rather than failing it.
"""

from __future__ import annotations

import random
import time

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_random_exponential

from worker.domain.config import WorkerConfig
from worker.domain.errors import RateLimited, Retryable

RETRY_AFTER_JITTER_S = 0.25  #: spread added to a provider's retry-after so workers do not stampede


class wait_retry_after(wait_base):
    """Wait what the provider asked for (plus jitter); otherwise defer to ``fallback``."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        hint = getattr(error, "retry_after_s", None)
        if hint is not None:
            return float(hint) + random.uniform(0, RETRY_AFTER_JITTER_S)
        return float(self.fallback(retry_state))


class stop_after_failures(stop_base):
    """Stop after ``failures`` failed calls other than 429s, or once 429s alone have kept the
    call waiting for ``rate_limited_s``."""

    def __init__(self, *, failures: int, rate_limited_s: float) -> None:
        self.failures = failures
        self.rate_limited_s = rate_limited_s
        self._counted = 0
        self._first_429: float | None = None

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimited):
            now = time.monotonic()
            self._first_429 = now if self._first_429 is None else self._first_429
            return now - self._first_429 >= self.rate_limited_s
        self._counted += 1
        return self._counted >= self.failures


def retry_policy(config: WorkerConfig) -> AsyncRetrying:
    """A fresh policy for one model of one job (it counts that model's failures)."""
    return AsyncRetrying(
        stop=stop_after_failures(
            failures=config.attempts_per_model, rate_limited_s=config.rate_limited_retry_s
        ),
        wait=wait_retry_after(
            wait_random_exponential(multiplier=config.backoff_initial_s, max=config.backoff_max_s)
        ),
        retry=retry_if_exception_type(Retryable),
        reraise=True,
    )

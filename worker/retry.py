"""The one retry policy for provider calls (tenacity): honour retry-after, else back off
exponentially with full jitter; give up after ``attempts_per_model`` tries of one model."""

from __future__ import annotations

import random

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_random_exponential

from worker.domain.config import WorkerConfig
from worker.domain.errors import Retryable

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


def retry_policy(config: WorkerConfig) -> AsyncRetrying:
    return AsyncRetrying(
        stop=stop_after_attempt(config.attempts_per_model),
        wait=wait_retry_after(
            wait_random_exponential(multiplier=config.backoff_initial_s, max=config.backoff_max_s)
        ),
        retry=retry_if_exception_type(Retryable),
        reraise=True,
    )

"""One mode of bench/ratelimit.py: the limits the simulator and Sluice share, and the load."""

from __future__ import annotations

import math
from dataclasses import dataclass

TPM_ROUNDING = 1000  #: a derived input TPM is rounded to this many tokens
JOB_MARGIN = 0.2  #: jobs beyond what the limit allows in the span, so workers never run dry
MINUTE_S = 60.0


@dataclass(frozen=True, slots=True)
class Plan:
    """One mode's limits and load."""

    mode: str  #: "rpm" or "tpm"
    rpm: int
    input_tpm: int | None  #: set in tpm mode only
    tokens_per_request: float  #: mean input tokens of one request, as the simulator counts
    duration_s: float
    workers: int

    @property
    def allowed_rpm(self) -> float:
        """Requests per minute the binding limit allows."""
        if self.input_tpm is None:
            return float(self.rpm)
        return min(self.rpm, self.input_tpm / self.tokens_per_request)

    @property
    def jobs(self) -> int:
        """Jobs (or reference tasks) to submit: more than the span can take."""
        return math.ceil(self.allowed_rpm * self.duration_s / MINUTE_S * (1 + JOB_MARGIN))

    @property
    def reference_rate_limit(self) -> str:
        """Celery's per-worker `rate_limit`: the allowed request rate ÷ workers."""
        return f"{self.allowed_rpm / self.workers:.2f}/m"


def make_plan(
    mode: str,
    *,
    rpm: int,
    tokens_per_request: float,
    duration_s: float,
    workers: int,
    tpm_target_rpm: int,
    input_tpm: int | None = None,
) -> Plan:
    """The plan of `mode`; in tpm mode the input TPM allows about `tpm_target_rpm` requests a
    minute unless `input_tpm` is given."""
    if mode == "tpm" and input_tpm is None:
        input_tpm = round(tpm_target_rpm * tokens_per_request / TPM_ROUNDING) * TPM_ROUNDING
    if mode != "tpm":
        input_tpm = None
    return Plan(mode, rpm, input_tpm, tokens_per_request, duration_s, workers)

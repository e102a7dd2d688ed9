"""Reading providers' rate-limit headers into ``RemainingReport`` records, so the limiter can
tighten when a provider says it has less room than Sluice's own window shows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

#: Anthropic header stem -> Sluice limit dimension
ANTHROPIC_DIMENSIONS = {
    "requests": "rpm",
    "input-tokens": "input_tpm",
    "output-tokens": "output_tpm",
    "tokens": "tpm",
}
#: OpenAI header stem -> Sluice limit dimension
OPENAI_DIMENSIONS = {"requests": "rpm", "tokens": "tpm"}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_MS = {"ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass(frozen=True, slots=True)
class RemainingReport:
    """What a provider said is left of one limit."""

    dimension: str  #: rpm, input_tpm, output_tpm or tpm
    remaining: int
    reset_ms: int  #: until the provider's limit is fully available again


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _rfc3339_ms(raw: str | None, now: dt.datetime) -> int:
    if not raw:
        return 0
    try:
        at = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return 0
    return max(int((at - now).total_seconds() * 1000), 0)


def duration_ms(raw: str | None) -> int:
    """OpenAI's Go-style durations: "1s", "6m0s", "120ms", "1h2m3.5s"."""
    if not raw:
        return 0
    return int(sum(float(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(raw)))


def anthropic_reports(headers: Mapping[str, str]) -> tuple[RemainingReport, ...]:
    now = dt.datetime.now(dt.UTC)
    reports = []
    for stem, dimension in ANTHROPIC_DIMENSIONS.items():
        remaining = _int(headers.get(f"anthropic-ratelimit-{stem}-remaining"))
        if remaining is not None:
            reset_ms = _rfc3339_ms(headers.get(f"anthropic-ratelimit-{stem}-reset"), now)
            reports.append(RemainingReport(dimension, remaining, reset_ms))
    return tuple(reports)


def openai_reports(headers: Mapping[str, str]) -> tuple[RemainingReport, ...]:
    reports = []
    for stem, dimension in OPENAI_DIMENSIONS.items():
        remaining = _int(headers.get(f"x-ratelimit-remaining-{stem}"))
        if remaining is not None:
            reset_ms = duration_ms(headers.get(f"x-ratelimit-reset-{stem}"))
            reports.append(RemainingReport(dimension, remaining, reset_ms))
    return tuple(reports)

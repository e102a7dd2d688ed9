"""Figures for bench/ratelimit.py, computed only from the simulator's request log.

Each record is one request the simulator saw (`simulator.records`): its arrival `ts` (unix
seconds), `endpoint`, `status`, the `input_tokens` it was charged (0 for a 429) and the
server-side `latency_ms`. The simulator judges its limits over strict sliding 60 s windows of
admitted requests, so the busiest window here is taken the same way: over every window
``[ts, ts + 60 s)`` that starts at an admitted request.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MESSAGES_ENDPOINT = "/v1/messages"  #: the only endpoint the benchmark's calls go to
RATE_LIMITED = 429  #: status of a request the simulator refused
OK = 200  #: status of an answered request
WINDOW_S = 60.0  #: the simulator's (and the providers') limit window
PEAK_WINDOW_S = 1.0  #: window of the burst figure
FIRST_SECOND_S = 1.0  #: 429s this soon after the first request are allowed by the goal
BUCKET_S = 10.0  #: width of one timeline bucket
P95 = 0.95  #: quantile of the latency figure


@dataclass(frozen=True, slots=True)
class Figures:
    """What the simulator saw of one run."""

    duration_s: float  #: the measured span, from the first request on
    requests: int  #: admitted requests in the span
    input_tokens: int  #: input tokens charged in the span
    rate_ratio: float  #: achieved rate ÷ the binding limit, over the span
    rejected: int  #: 429s in the whole log
    rejected_after_first_s: int  #: 429s more than a second after the first request
    busiest_requests: int  #: most admitted requests in any 60 s window of the whole log
    busiest_input_tokens: int  #: most input tokens in any 60 s window of the whole log
    peak_1s_requests: int  #: most admitted requests in any 1 s window
    timeline: tuple[int, ...]  #: admitted requests per BUCKET_S bucket of the span
    other_statuses: int  #: answers that were neither 200 nor 429
    other_endpoints: int  #: requests to any endpoint but /v1/messages (route fallbacks)
    latency_mean_ms: float  #: server-side, admitted requests (the injected latency)
    latency_p95_ms: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def analyze(
    records: Sequence[dict[str, Any]], *, duration_s: float, rpm: int, input_tpm: int | None
) -> Figures:
    """The run's figures; the rate is judged against input_tpm when given, else rpm."""
    calls = sorted(
        (r for r in records if r["endpoint"] == MESSAGES_ENDPOINT), key=lambda r: r["ts"]
    )
    if not calls:
        raise ValueError("the simulator saw no /v1/messages request")
    start_s = float(calls[0]["ts"])
    end_s = start_s + duration_s
    served = [r for r in calls if r["status"] != RATE_LIMITED]
    refused = [r for r in calls if r["status"] == RATE_LIMITED]
    in_span = [r for r in served if r["ts"] < end_s]
    tokens = sum(int(r["input_tokens"]) for r in in_span)
    minutes = duration_s / WINDOW_S
    allowed = input_tpm * minutes if input_tpm else rpm * minutes
    achieved = tokens if input_tpm else len(in_span)
    times = [float(r["ts"]) for r in served]
    ones = [1] * len(served)
    latencies = [float(r["latency_ms"]) for r in served]
    return Figures(
        duration_s=duration_s,
        requests=len(in_span),
        input_tokens=tokens,
        rate_ratio=achieved / allowed,
        rejected=len(refused),
        rejected_after_first_s=sum(1 for r in refused if r["ts"] > start_s + FIRST_SECOND_S),
        busiest_requests=busiest_window(times, ones, WINDOW_S),
        busiest_input_tokens=busiest_window(
            times, [int(r["input_tokens"]) for r in served], WINDOW_S
        ),
        peak_1s_requests=busiest_window(times, ones, PEAK_WINDOW_S),
        timeline=timeline([float(r["ts"]) - start_s for r in in_span], duration_s),
        other_statuses=sum(1 for r in served if r["status"] != OK),
        other_endpoints=len(records) - len(calls),
        latency_mean_ms=statistics.fmean(latencies) if latencies else math.nan,
        latency_p95_ms=quantile(latencies, P95),
    )


def busiest_window(times: Sequence[float], weights: Sequence[int], window_s: float) -> int:
    """The largest sum of weights over windows [times[i], times[i] + window_s); times sorted."""
    best = total = 0
    end = 0
    for start, weight in zip(times, weights, strict=True):
        while end < len(times) and times[end] - start < window_s:
            total += weights[end]
            end += 1
        best = max(best, total)
        total -= weight
    return best


def timeline(offsets_s: Sequence[float], duration_s: float) -> tuple[int, ...]:
    """Counts per BUCKET_S bucket of offsets in [0, duration_s)."""
    counts = [0] * math.ceil(duration_s / BUCKET_S)
    for offset in offsets_s:
        counts[min(int(offset // BUCKET_S), len(counts) - 1)] += 1
    return tuple(counts)


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

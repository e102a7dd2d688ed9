"""Markdown tables of bench/ratelimit.py: Sluice against the Celery reference, for one mode,
with issue 3's goals (rate ÷ limit ≥ 0.95; no 429 after the first second; no 60 s window over
a limit) marked met or missed."""

from __future__ import annotations

from bench._rl_analysis import BUCKET_S, Figures
from bench._rl_plan import Plan

RATE_GOAL = 0.95  #: achieved rate ÷ limit, at least
MET, MISSED = "met", "**missed**"  #: how a figure against its goal is marked


def _mark(ok: bool) -> str:
    return MET if ok else MISSED


def describe(plan: Plan) -> str:
    """One paragraph naming the mode's limits and load."""
    limits = f"RPM {plan.rpm:,}"
    if plan.input_tpm is not None:
        limits += (
            f" and input TPM {plan.input_tpm:,} (≈ {plan.allowed_rpm:,.0f} requests/min at "
            f"{plan.tokens_per_request:.1f} input tokens each)"
        )
    return (
        f"**{plan.mode} mode.** Simulator and Sluice limits: {limits}. {plan.workers} worker "
        f"processes each; {plan.jobs:,} jobs; reference `rate_limit` "
        f"{plan.reference_rate_limit} per worker; measured for {plan.duration_s:.0f} s from the "
        "first request."
    )


def _labels(plan: Plan) -> list[tuple[str, str]]:
    span = f"first {plan.duration_s:.0f} s"
    measure = "input tokens ÷ input TPM" if plan.input_tpm else "requests ÷ RPM"
    tokens_goal = f"≤ {plan.input_tpm:,}" if plan.input_tpm else "(no limit)"
    return [
        (f"achieved rate ÷ limit, {span} ({measure})", f"≥ {RATE_GOAL}"),
        (f"requests answered in the {span}", ""),
        (f"input tokens charged in the {span}", ""),
        ("429s received, whole run", ""),
        ("429s after the first second", "0"),
        ("busiest 60 s window: requests (÷ RPM)", f"≤ {plan.rpm:,}"),
        ("busiest 60 s window: input tokens (÷ input TPM)", tokens_goal),
        ("busiest 1 s: requests", ""),
        ("simulator latency, mean / p95 (ms)", ""),
    ]


def _column(plan: Plan, f: Figures) -> list[str]:
    tokens_window = f"{f.busiest_input_tokens:,}"
    if plan.input_tpm:
        ratio = f.busiest_input_tokens / plan.input_tpm
        tokens_window += f" ({ratio:.3f}) {_mark(f.busiest_input_tokens <= plan.input_tpm)}"
    return [
        f"{f.rate_ratio:.3f} {_mark(f.rate_ratio >= RATE_GOAL)}",
        f"{f.requests:,}",
        f"{f.input_tokens:,}",
        f"{f.rejected:,}",
        f"{f.rejected_after_first_s:,} {_mark(f.rejected_after_first_s == 0)}",
        f"{f.busiest_requests:,} ({f.busiest_requests / plan.rpm:.3f}) "
        f"{_mark(f.busiest_requests <= plan.rpm)}",
        tokens_window,
        f"{f.peak_1s_requests:,}",
        f"{f.latency_mean_ms:.0f} / {f.latency_p95_ms:.0f}",
    ]


def _timeline(sluice: Figures, reference: Figures) -> list[str]:
    buckets = len(sluice.timeline)
    heads = [f"{i * BUCKET_S:.0f}-{(i + 1) * BUCKET_S:.0f}" for i in range(buckets)]
    return [
        f"Requests answered per {BUCKET_S:.0f} s (seconds from the first request):",
        "",
        "| system | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * buckets,
        "| Sluice | " + " | ".join(f"{n:,}" for n in sluice.timeline) + " |",
        "| reference | " + " | ".join(f"{n:,}" for n in reference.timeline) + " |",
    ]


def render_mode(plan: Plan, sluice: Figures, reference: Figures) -> str:
    """The mode's description, its figures table and its timeline, in Markdown."""
    lines = [
        describe(plan),
        "",
        "| figure | goal | Sluice | Celery `rate_limit` reference |",
        "|---|---|---:|---:|",
    ]
    for (label, goal), ours, theirs in zip(
        _labels(plan), _column(plan, sluice), _column(plan, reference), strict=True
    ):
        lines.append(f"| {label} | {goal} | {ours} | {theirs} |")
    extras = [
        (name, f.other_statuses, f.other_endpoints)
        for name, f in (("Sluice", sluice), ("reference", reference))
        if f.other_statuses or f.other_endpoints
    ]
    for name, statuses, endpoints in extras:
        lines.append(
            f"\n{name}: {statuses} answers neither 200 nor 429, {endpoints} requests "
            "to other endpoints."
        )
    lines += ["", *_timeline(sluice, reference)]
    return "\n".join(lines)

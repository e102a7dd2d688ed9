"""``sluice estimate``: what a file would cost on each model, before it runs.

Each figure comes twice. Expected: input counted by a real BPE tokenizer (tiktoken), output
a short JSON answer. Worst case: input as the workers reserve it (tiktoken for OpenAI models,
a conservative byte ratio otherwise) and every item using ``max_tokens``, which is what
budget reservations hold until a call settles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from api.submission import read_items
from api.views import usd
from worker.calls import utc_now
from worker.domain.budgets import (
    BudgetRule,
    CallScope,
    batch_rule,
    period_window,
    rules_from_config,
    rules_from_table,
    spent_usd,
)
from worker.domain.config import AppConfig
from worker.domain.db import session_scope
from worker.domain.errors import InvalidInput
from worker.domain.pricing import TOKENS_PER_PRICE_UNIT
from worker.domain.tasks_spec import build_request, resolve_labels
from worker.tokens import estimate_request_tokens, estimate_text_tokens, expected_request_tokens

ANSWER_OVERHEAD_TOKENS = 10  #: tool-call or JSON framing around a classification's answer
ESTIMATE_BATCH_ID = "(this file)"  #: stands in for the batch id a submission would get


@dataclass
class ModelEstimate:
    model: str
    input_tokens: int  #: expected
    reserved_input_tokens: int  #: the workers' safe estimate, which reservations use
    expected_output_tokens: int
    worst_output_tokens: int
    over_context: int
    expected_usd: Decimal
    worst_usd: Decimal


def _estimate_model(
    config: AppConfig, model_name: str, texts: list[str], task: str, labels: list[str]
) -> ModelEstimate:
    model = config.models[model_name]
    kind = config.providers[model.provider].kind
    task_config = config.tasks[task]
    longest = max(labels, key=len) if labels else ""
    answer = estimate_text_tokens(json.dumps({"label": longest}), kind=kind)
    expected_out = len(texts) * (answer + ANSWER_OVERHEAD_TOKENS)
    worst_out = len(texts) * task_config.max_tokens
    total_in, reserved_in, over = 0, 0, 0
    for text in texts:
        request = build_request(task_config, text=text, params={"labels": labels})
        total_in += expected_request_tokens(request)
        tokens = estimate_request_tokens(request, kind=kind)
        reserved_in += tokens
        over += tokens + task_config.max_tokens > model.context_window
    return ModelEstimate(
        model_name,
        total_in,
        reserved_in,
        expected_out,
        worst_out,
        over,
        (total_in * model.input_per_mtok + expected_out * model.output_per_mtok)
        / TOKENS_PER_PRICE_UNIT,
        (reserved_in * model.input_per_mtok + worst_out * model.output_per_mtok)
        / TOKENS_PER_PRICE_UNIT,
    )


def run_estimate(
    config: AppConfig,
    *,
    file: Path | None,
    task: str,
    labels: list[str] | None,
    extra_models: list[str],
    budget_usd: Decimal | None,
    tenant: str | None,
    input_format: str | None,
) -> None:
    if task not in config.tasks:
        raise InvalidInput(f"unknown task type '{task}' (known: {', '.join(sorted(config.tasks))})")
    unknown = [m for m in extra_models if m not in config.models]
    if unknown:
        raise InvalidInput(f"unknown model '{unknown[0]}' in --models")
    chosen_labels = resolve_labels(task, config.tasks[task], labels)
    parsed = read_items(config, file=str(file) if file else "-", input_format=input_format)
    parsed.raise_if_problems()
    if not parsed.items:
        raise InvalidInput("the input has no items")
    texts = [item.text for item in parsed.items]
    route = config.tasks[task].route
    names = [*route, *(m for m in extra_models if m not in route)]
    estimates = [_estimate_model(config, name, texts, task, chosen_labels) for name in names]
    console = Console()
    _print_estimates(console, estimates, route, len(texts))
    _check_budgets(console, config, estimates[: len(route)], task, tenant, budget_usd)


def _print_estimates(
    console: Console, estimates: list[ModelEstimate], route: list[str], items: int
) -> None:
    table = Table(title=f"estimate for {items:,} items", show_header=True)
    for column in (
        "model",
        "role",
        "input tokens (expected / reserved)",
        "output tokens (expected / max)",
        "expected cost",
        "worst case",
        "over context",
    ):
        table.add_column(column, justify="left" if column in ("model", "role") else "right")
    for e in estimates:
        role = (
            "primary" if e.model == route[0] else ("fallback" if e.model in route else "--models")
        )
        table.add_row(
            e.model,
            role,
            f"{e.input_tokens:,} / {e.reserved_input_tokens:,}",
            f"{e.expected_output_tokens:,} / {e.worst_output_tokens:,}",
            usd(e.expected_usd),
            usd(e.worst_usd),
            f"{e.over_context:,}",
        )
    console.print(table)
    for e in estimates:
        if e.over_context:
            console.print(
                f"warning: {e.over_context:,} items exceed {e.model}'s context window",
                highlight=False,
            )


def _check_budgets(
    console: Console,
    config: AppConfig,
    route: list[ModelEstimate],
    task: str,
    tenant: str | None,
    budget_usd: Decimal | None,
) -> None:
    """Compare the estimate with every budget the batch would draw on. A budget is checked
    against the first model of the route it applies to: the primary's for most, a fallback's
    for a budget on only that fallback's model or provider."""
    now = utc_now()
    own = batch_rule(ESTIMATE_BATCH_ID, budget_usd)
    checks: dict[str, tuple[BudgetRule, ModelEstimate]] = {}
    with session_scope() as session:
        rules = [*rules_from_config(config), *rules_from_table(session), *([own] if own else [])]
        for estimate in route:
            model = config.models[estimate.model]
            call = CallScope(model.provider, estimate.model, task, tenant, ESTIMATE_BATCH_ID)
            for rule in rules:
                if rule.applies_to(call):
                    checks.setdefault(rule.name, (rule, estimate))
        for rule, estimate in checks.values():
            window = period_window(rule.period, now)
            spent = Decimal(0) if own is rule else spent_usd(session, rule, window)
            left = rule.limit_usd - spent
            verdict = (
                "fits"
                if estimate.worst_usd <= left
                else (
                    "fits if answers stay short"
                    if estimate.expected_usd <= left
                    else "DOES NOT FIT"
                )
            )
            name = "--budget-usd" if own is rule else rule.name
            on = "" if estimate is route[0] else f" (if jobs fall back to {estimate.model})"
            console.print(
                f"budget {name} ({window.period_id}): {usd(left)} left; {verdict}{on}",
                highlight=False,
            )
    if not checks:
        console.print("no budget applies to this batch", highlight=False)

"""``sluice budgets set|list`` and ``sluice estimate``: money before and while it is spent."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from api.cli_app import app, err_console
from worker.domain.errors import InvalidInput

budgets_app = typer.Typer(help="Set and list budgets (hard spending limits).", no_args_is_help=True)
app.add_typer(budgets_app, name="budgets")


def parse_usd(raw: str, *, option: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidInput(f"{option} '{raw}' is not a number") from None
    if not value.is_finite():
        raise InvalidInput(f"{option} must be a finite number")
    return value


@budgets_app.command("set")
def budgets_set(
    scope: Annotated[str, typer.Option(help="global, provider, model, task, tenant or batch.")],
    limit_usd: Annotated[str, typer.Option(help="The limit in USD.")],
    key: Annotated[str | None, typer.Option(help="Which provider/model/task/tenant/batch.")] = None,
    period: Annotated[str, typer.Option(help="day, month or total.")] = "total",
) -> None:
    """Create or change a budget; workers apply it within seconds, waiting jobs resume."""
    from api.context import prepare
    from worker.domain.budgets import set_budget
    from worker.domain.db import session_scope

    limit = parse_usd(limit_usd, option="--limit-usd")
    _, config = prepare()
    with session_scope() as session:
        rule = set_budget(
            session, scope=scope, key=key, period=period, limit_usd=limit, config=config
        )
    err_console.print(f"budget {rule.name} set to ${rule.limit_usd:f}", highlight=False)


@budgets_app.command("list")
def budgets_list() -> None:
    """Every budget, what it has spent this period, and the jobs waiting on it."""
    from api.context import prepare
    from api.views import print_budgets
    from worker.calls import utc_now
    from worker.domain.budgets import list_budgets
    from worker.domain.db import session_scope

    _, config = prepare()
    with session_scope() as session:
        print_budgets(list_budgets(session, config, utc_now()))


@app.command()
def estimate(
    file: Annotated[str, typer.Argument(help="JSONL or CSV file of items, or - for stdin.")],
    task: Annotated[str, typer.Option(help="Task type from the config, e.g. classify.")],
    labels: Annotated[str | None, typer.Option(help="Comma-separated label set.")] = None,
    models: Annotated[
        str | None, typer.Option(help="More models to price, comma-separated.")
    ] = None,
    budget_usd: Annotated[str | None, typer.Option(help="The batch budget you would set.")] = None,
    tenant: Annotated[
        str | None, typer.Option(help="Tenant the batch would be charged to.")
    ] = None,
    input_format: Annotated[str | None, typer.Option("--format", help="jsonl or csv.")] = None,
) -> None:
    """Count tokens and price a file for every model of the task's route, before running it."""
    from api.context import prepare
    from api.estimate import run_estimate

    _, config = prepare()
    run_estimate(
        config,
        file=Path(file) if file != "-" else None,
        task=task,
        labels=labels.split(",") if labels else None,
        extra_models=[m.strip() for m in models.split(",") if m.strip()] if models else [],
        budget_usd=parse_usd(budget_usd, option="--budget-usd") if budget_usd else None,
        tenant=tenant,
        input_format=input_format,
    )

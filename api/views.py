"""How the CLI shows things: status tables, cost tables, progress bars, error sentences."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from worker.domain.batches import BatchView, get_batch
from worker.domain.db import session_scope
from worker.domain.states import JobState

if TYPE_CHECKING:
    from worker.domain.budgets import BudgetStatus
    from worker.ratelimit import ScopeUsage

POLL_S = 0.5  #: how often --wait and the demo re-read a batch's counts


def usd(value: Decimal | int | float) -> str:
    return f"${Decimal(value):,.6f}"


def print_status(view: BatchView, console: Console) -> None:
    table = Table(title=f"batch {view.id}", show_header=True)
    table.add_column("state")
    table.add_column("jobs", justify="right")
    for state in JobState:
        if view.counts.get(state):
            table.add_row(str(state), f"{view.counts[state]:,}")
    console.print(table)
    for budget, count in view.waiting.items():
        console.print(f"{count:,} jobs wait for budget {budget}", highlight=False)
    console.print(
        f"name={view.name or '-'} task={view.task} status={view.status} "
        f"items={view.item_count:,} tokens_in={view.input_tokens:,} "
        f"tokens_out={view.output_tokens:,} cost={usd(view.cost_usd)}",
        highlight=False,
    )


def print_batches(batches: list[BatchView], console: Console) -> None:
    table = Table(show_header=True)
    for column in ("id", "name", "task", "status", "items", "done", "cost", "created"):
        table.add_column(column)
    for view in batches:
        done = sum(view.counts.get(s, 0) for s in ("succeeded", "failed", "canceled"))
        created = view.created_at.strftime("%Y-%m-%d %H:%M") if view.created_at else "-"
        table.add_row(
            str(view.id),
            view.name or "-",
            view.task,
            view.status,
            f"{view.item_count:,}",
            f"{done:,}",
            usd(view.cost_usd),
            created,
        )
    console.print(table)


def print_costs(rows: list[dict[str, Any]], groups: list[str], fmt: str, console: Console) -> None:
    columns = [
        *groups,
        "calls",
        "jobs",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "cost_usd",
    ]
    if fmt == "json":
        console.print_json(
            json.dumps(
                [{k: str(r[k]) if r[k] is not None else None for k in columns} for r in rows]
            )
        )
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[row[c] for c in columns] for row in rows])
        console.out(buffer.getvalue(), end="", highlight=False)
        return
    table = Table(show_header=True)
    for column in columns:
        table.add_column(column, justify="left" if column in groups else "right")
    total = Decimal(0)
    for row in rows:
        total += Decimal(row["cost_usd"])
        table.add_row(
            *[
                usd(row[c])
                if c == "cost_usd"
                else (f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]))
                for c in columns
            ]
        )
    console.print(table)
    console.print(f"total {usd(total)}", highlight=False)


def wait_with_progress(
    batch_id: uuid.UUID, console: Console, *, timeout_s: float | None = None
) -> BatchView:
    """Poll the batch until every job is terminal, drawing a progress bar."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        bar = progress.add_task("classifying", total=None, detail="")
        while True:
            with session_scope() as session:
                view = get_batch(session, batch_id)
            done = sum(view.counts.get(s, 0) for s in ("succeeded", "failed", "canceled"))
            progress.update(
                bar,
                total=view.item_count,
                completed=done,
                detail=f"failed={view.counts.get('failed', 0)} cost={usd(view.cost_usd)}",
            )
            if view.done:
                return view
            if deadline is not None and time.monotonic() > deadline:
                return view
            time.sleep(POLL_S)


def translate_unexpected(err: Exception) -> str:
    """One readable sentence for library errors that escaped translation."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        import redis

        redis_errors: tuple[type[BaseException], ...] = (redis.exceptions.ConnectionError,)
    except ImportError:  # pragma: no cover - redis is a dependency
        redis_errors = ()
    if isinstance(err, OperationalError):
        return "lost the connection to Postgres; check SLUICE_DATABASE_URL and that it is up"
    if isinstance(err, ProgrammingError):
        return "the database schema is missing or old: run `sluice migrate`"
    if redis_errors and isinstance(err, redis_errors):
        return "cannot reach Redis; check SLUICE_REDIS_URL and that it is up"
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"unexpected {type(err).__name__}: {first_line} (run with --debug for the traceback)"


def limits_as_dicts(usages: list[ScopeUsage]) -> list[dict[str, Any]]:
    """Each scope's use and limits, for ``sluice limits --json`` (a limit not set is null)."""
    from worker.ratelimit import DIMENSIONS

    return [
        {
            "scope": usage.scope.name,
            "used": {dim: usage.used[dim] for dim in DIMENSIONS},
            "limits": {dim: getattr(usage.scope.limits, dim) for dim in DIMENSIONS},
            "slots_in_use": usage.slots_in_use,
            "max_concurrency": usage.scope.limits.max_concurrency,
            "paused_for_s": round(usage.paused_for_s, 3),
        }
        for usage in usages
    ]


def print_limits(usages: list[ScopeUsage]) -> None:
    """One row per scope: used / limit for each per-minute limit, slots, and any 429 pause."""
    from worker.ratelimit import DIMENSIONS

    table = Table(title="rate limits, last 60 s (used / limit)", show_header=True)
    table.add_column("scope")
    for column in (*DIMENSIONS, "concurrency", "paused"):
        table.add_column(column, justify="right")
    for usage in usages:
        limits = usage.scope.limits
        cells = []
        for dim in DIMENSIONS:
            limit = getattr(limits, dim)
            used = usage.used[dim]
            cells.append(f"{used:,} / {limit:,}" if limit else (f"{used:,} / -" if used else "-"))
        slots = limits.max_concurrency
        cells.append(f"{usage.slots_in_use} / {slots}" if slots else "-")
        cells.append(f"{usage.paused_for_s:.1f} s" if usage.paused_for_s else "-")
        table.add_row(usage.scope.name, *cells)
    Console().print(table)


def print_budgets(statuses: list[BudgetStatus]) -> None:
    table = Table(title="budgets", show_header=True)
    for column in ("budget", "period", "limit", "spent", "remaining", "waiting jobs", "source"):
        table.add_column(
            column,
            justify="right"
            if column in ("limit", "spent", "remaining", "waiting jobs")
            else "left",
        )
    for status in statuses:
        table.add_row(
            status.rule.name,
            status.window.period_id,
            usd(status.rule.limit_usd),
            usd(status.spent_usd),
            usd(status.remaining_usd),
            f"{status.waiting_jobs:,}",
            status.rule.source,
        )
    if not statuses:
        Console().print("no budgets are set", highlight=False)
        return
    Console().print(table)

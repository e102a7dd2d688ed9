"""The ``sluice`` command line. Each command is a thin call into worker.domain services.

Exit codes: 0 ok, 1 failed work or an unreachable service, 2 bad usage or input. Errors are
one sentence on stderr; ``--debug`` shows the traceback too.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api import cli_money, cli_ops  # noqa: F401  (they register their commands on app)
from api.cli_app import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, BatchArg, app, err_console
from worker.domain.errors import ConfigError, InvalidInput, NotFound, SluiceError


def _parse_budget(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise InvalidInput(f"--budget-usd '{raw}' is not a number") from None


@app.command()
def submit(
    file: Annotated[str, typer.Argument(help="JSONL or CSV file of items, or - for stdin.")],
    task: Annotated[str, typer.Option(help="Task type from the config, e.g. classify.")],
    labels: Annotated[str | None, typer.Option(help="Comma-separated label set.")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the batch.")] = None,
    budget_usd: Annotated[str | None, typer.Option(help="Spend limit for this batch.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant the batch is charged to.")] = None,
    callback_url: Annotated[
        str | None, typer.Option(help="POSTed to (signed) when the batch ends.")
    ] = None,
    input_format: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from the name).")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Store the valid items and report the invalid ones.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Wait for the batch and show progress.")] = False,
) -> None:
    """Submit a batch of items; prints the batch id."""
    from api import submission, views
    from api.context import prepare

    _, config = prepare()
    batch = submission.submit_file(
        config,
        file=file,
        task=task,
        labels=[part for part in labels.split(",")] if labels else None,
        name=name,
        budget_usd=_parse_budget(budget_usd),
        tenant=tenant,
        callback_url=callback_url,
        input_format=input_format,
        skip_invalid=skip_invalid,
        report=err_console,
    )
    typer.echo(str(batch.id))
    if wait:
        final = views.wait_with_progress(batch.id, err_console)
        views.print_status(final, err_console)
        if final.counts.get("failed"):
            raise typer.Exit(EXIT_FAILED)


@app.command()
def status(
    batch: BatchArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a batch's counts by state, tokens and cost."""
    from api import views
    from api.context import prepare
    from worker.domain.batches import get_batch
    from worker.domain.db import session_scope

    prepare()
    with session_scope() as session:
        view = get_batch(session, batch)
    if as_json:
        typer.echo(json.dumps(view.as_dict(), indent=2))
    else:
        views.print_status(view, Console())


@app.command()
def results(
    batch: BatchArg,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="out.jsonl, out.csv or out.parquet.")
    ] = None,
) -> None:
    """Write one row per item: id, status, label, model, tokens, cost, error."""
    from api.context import prepare
    from api.export import export, format_for, write_jsonl
    from worker.domain.db import session_scope
    from worker.domain.results import iter_results

    if output is not None:
        format_for(output)
    prepare()
    with session_scope() as session:
        rows = iter_results(session, batch)
        if output is None:
            write_jsonl(rows, sys.stdout)
            return
        count = export(rows, output)
    err_console.print(f"wrote {count:,} rows to {output}")


@app.command()
def cancel(batch: BatchArg) -> None:
    """Cancel a batch: jobs not yet started end as canceled."""
    from api import views
    from api.context import prepare
    from worker.domain.batches import cancel_batch
    from worker.domain.db import session_scope

    prepare()
    with session_scope() as session:
        view = cancel_batch(session, batch)
    views.print_status(view, Console())


@app.command("list")
def list_cmd(limit: Annotated[int, typer.Option(help="How many batches.")] = 20) -> None:
    """List recent batches."""
    from api import views
    from api.context import prepare
    from worker.domain.batches import list_batches
    from worker.domain.db import session_scope

    prepare()
    with session_scope() as session:
        batches = list_batches(session, limit=limit)
    views.print_batches(batches, Console())


@app.command()
def costs(
    by: Annotated[
        str, typer.Option(help="Group by: provider,model,task,day,batch,tenant.")
    ] = "model",
    since: Annotated[str | None, typer.Option(help="Only calls on or after YYYY-MM-DD.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Print spend from the attempts ledger."""
    from api import views
    from api.context import prepare
    from worker.domain.costs import cost_report, parse_group_by
    from worker.domain.db import session_scope

    groups = parse_group_by(by)
    if output_format not in ("table", "csv", "json"):
        raise InvalidInput(f"--format '{output_format}' is not one of table, csv, json")
    since_date = None
    if since:
        try:
            since_date = dt.date.fromisoformat(since)
        except ValueError:
            raise InvalidInput(f"--since '{since}' is not a date like 2026-11-01") from None
    prepare()
    with session_scope() as session:
        rows = cost_report(session, group_by=groups, since=since_date)
    views.print_costs(rows, groups, output_format, Console())


def _exit_code(err: SluiceError) -> int:
    return EXIT_USAGE if isinstance(err, InvalidInput | ConfigError | NotFound) else EXIT_FAILED


def main() -> None:
    """Entry point: run the app and turn every error into one sentence and an exit code."""
    debug = "--debug" in sys.argv
    try:
        # standalone mode: typer itself reports usage errors (exit 2) and exits
        app(prog_name="sluice")
    except KeyboardInterrupt:
        print("aborted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except SluiceError as err:
        if debug:
            raise
        print(f"error: {err.message}", file=sys.stderr)
        sys.exit(_exit_code(err))
    except Exception as err:  # a bug or an untranslated library error: still one sentence
        if debug:
            raise
        from api.views import translate_unexpected

        translated = translate_unexpected(err)
        print(f"error: {translated}", file=sys.stderr)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()

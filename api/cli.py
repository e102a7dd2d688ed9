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

from worker.domain.errors import ConfigError, InvalidInput, NotFound, SluiceError

app = typer.Typer(
    name="sluice",
    help="Bulk LLM batch processing: submit, route, rate-limit, budget and record every call.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)

EXIT_FAILED = 1  #: failed work or an unreachable service
EXIT_USAGE = 2  #: bad usage or input

BatchArg = Annotated[str, typer.Argument(help="Batch id, as printed by `sluice submit`.")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Sluice: bulk LLM jobs on Celery, Redis and Postgres."""


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


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from api.embedded import ensure_services
    from worker.domain.migrate import current_revision, upgrade_head

    ensure_services()
    upgrade_head()
    err_console.print(f"schema is at revision {current_revision()}")


@app.command()
def worker(
    queues: Annotated[
        str | None, typer.Option("-Q", "--queues", help="Comma-separated queues (default: all).")
    ] = None,
    concurrency: Annotated[int, typer.Option("-c", "--concurrency", help="Processes.")] = 2,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "INFO",
) -> None:
    """Start a Celery worker (one asyncio loop per process)."""
    from api import processes
    from api.context import prepare

    prepare()
    processes.run_worker(queues=queues, concurrency=concurrency, loglevel=loglevel)


@app.command()
def beat(loglevel: Annotated[str, typer.Option(help="Log level.")] = "INFO") -> None:
    """Start Celery beat, which runs the periodic sweeper."""
    from api import processes
    from api.context import prepare

    prepare()
    processes.run_beat(loglevel=loglevel)


@app.command("api")
def api_cmd(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    from api.context import prepare

    prepare()
    uvicorn.run("api.app:app", host=host, port=port, log_level="info")


@app.command()
def simulator(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8900,
    seed: Annotated[int, typer.Option(help="Seed for faults and jitter.")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Mean added latency.")] = 0.0,
    jitter_ms: Annotated[float, typer.Option(help="Latency spread (±).")] = 0.0,
    error_500_rate: Annotated[float, typer.Option(help="Share of 500 answers.")] = 0.0,
    overloaded_rate: Annotated[float, typer.Option(help="Share of 529/503 answers.")] = 0.0,
    timeout_rate: Annotated[float, typer.Option(help="Share of requests that hang.")] = 0.0,
    malformed_rate: Annotated[float, typer.Option(help="Share of malformed bodies.")] = 0.0,
    rpm: Annotated[int | None, typer.Option(help="Requests per minute per key.")] = None,
    input_tpm: Annotated[int | None, typer.Option(help="Input tokens per minute.")] = None,
    output_tpm: Annotated[int | None, typer.Option(help="Output tokens per minute.")] = None,
    tpm: Annotated[int | None, typer.Option(help="Tokens per minute (OpenAI style).")] = None,
    max_concurrency: Annotated[int | None, typer.Option(help="Concurrent requests.")] = None,
    log_path: Annotated[Path | None, typer.Option(help="Append a JSON line per request.")] = None,
) -> None:
    """Serve the provider simulator (Anthropic and OpenAI wire formats) for tests and demos."""
    from simulator import SimConfig, serve

    try:
        config = SimConfig(
            seed=seed,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            error_500_rate=error_500_rate,
            overloaded_rate=overloaded_rate,
            timeout_rate=timeout_rate,
            malformed_rate=malformed_rate,
            rpm=rpm,
            input_tpm=input_tpm,
            output_tpm=output_tpm,
            tpm=tpm,
            max_concurrency=max_concurrency,
            log_path=str(log_path) if log_path else None,
        )
    except ValueError as err:  # SimConfig names the bad field
        raise InvalidInput(f"bad simulator setting: {err}") from None
    from worker.domain.errors import ServiceUnavailable

    try:
        serve(config, host=host, port=port)
    except OSError as err:
        raise ServiceUnavailable(f"cannot listen on {host}:{port}: {err.strerror}") from None


@app.command()
def demo(
    items: Annotated[int, typer.Option(help="How many sample tickets to classify.")] = 500,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
) -> None:
    """Classify bundled support tickets end to end: embedded services, simulator, a real worker."""
    from api.demo import run_demo

    if not 1 <= items <= 100_000:
        raise InvalidInput("--items must be between 1 and 100000")
    run_demo(items=items, workers=workers, console=err_console)


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
        sys.exit(130)
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

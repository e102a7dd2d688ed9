"""``sluice`` commands that run or set up services: migrate, worker, beat, api, simulator, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli_app import app, err_console
from worker.domain.errors import InvalidInput


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


@app.command()
def limits(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show each provider's (and model's) rate-limit use over the last minute."""
    from api.context import prepare
    from api.views import limits_as_dicts, print_limits
    from worker.ratelimit import configured_scopes, read_usage
    from worker.redis_layer import sync_client

    _, config = prepare()
    client = sync_client()
    usages = [read_usage(client, scope) for scope in configured_scopes(config)]
    if as_json:
        typer.echo(json.dumps(limits_as_dicts(usages), indent=2))
    else:
        print_limits(usages)

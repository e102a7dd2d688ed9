"""The ``sluice`` Typer app, shared by the command modules, and its exit codes."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

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
EXIT_INTERRUPTED = 130  #: the shell's code for a process stopped by Ctrl-C

BatchArg = Annotated[str, typer.Argument(help="Batch id, as printed by `sluice submit`.")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Sluice: bulk LLM jobs on Celery, Redis and Postgres."""

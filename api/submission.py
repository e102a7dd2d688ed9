"""Submitting a file from the CLI: read, validate, store, and wake the dispatcher."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from api.dispatch import enqueue_dispatch
from worker.domain.batches import BatchView, SubmitRequest, submit_batch
from worker.domain.config import AppConfig
from worker.domain.db import session_scope
from worker.domain.errors import InvalidInput, ServiceUnavailable
from worker.domain.ingest import ParseResult, parse_stream


def read_items(config: AppConfig, *, file: str, input_format: str | None) -> ParseResult:
    if input_format not in (None, "jsonl", "csv"):
        raise InvalidInput(f"--format '{input_format}' is not one of jsonl, csv")
    max_chars = config.worker.max_item_chars
    if file == "-":
        return parse_stream(sys.stdin.buffer, name="-", max_chars=max_chars, fmt=input_format)
    path = Path(file)
    if not path.is_file():
        raise InvalidInput(f"cannot read '{file}': no such file")
    with path.open("rb") as stream:
        return parse_stream(stream, name=path.name, max_chars=max_chars, fmt=input_format)


def submit_file(
    config: AppConfig,
    *,
    file: str,
    task: str,
    labels: list[str] | None,
    name: str | None,
    budget_usd: Decimal | None,
    tenant: str | None,
    input_format: str | None,
    callback_url: str | None = None,
    skip_invalid: bool,
    report: Console,
) -> BatchView:
    parsed = read_items(config, file=file, input_format=input_format)
    if skip_invalid and parsed.problem_count:
        for problem in parsed.problems:
            report.print(f"skipped {problem}", highlight=False, markup=False, soft_wrap=True)
        hidden = parsed.problem_count - len(parsed.problems)
        if hidden:
            report.print(f"skipped {hidden} more invalid lines", highlight=False)
    else:
        parsed.raise_if_problems()
    request = SubmitRequest(
        task=task,
        items=parsed.items,
        labels=labels,
        name=name or (Path(file).name if file != "-" else None),
        tenant=tenant,
        budget_usd=budget_usd,
        callback_url=callback_url,
    )
    with session_scope() as session:
        batch = submit_batch(session, config, request)
    try:
        enqueue_dispatch(batch.id)
    except ServiceUnavailable as err:
        report.print(f"warning: {err.message}", highlight=False, markup=False, soft_wrap=True)
    return batch

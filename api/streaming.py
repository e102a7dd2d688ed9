"""Streaming a batch's results over HTTP as JSONL or CSV, a chunk of rows at a time."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from worker.domain.db import session_scope
from worker.domain.results import RESULT_COLUMNS, iter_results

ROWS_PER_CHUNK = 500  #: rows encoded per chunk sent to the client


def _encode_jsonl(rows: list[dict[str, Any]]) -> str:
    def default(value: Any) -> str:
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(type(value).__name__)

    return "".join(json.dumps(row, default=default, ensure_ascii=False) + "\n" for row in rows)


def _encode_csv(rows: list[dict[str, Any]], *, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(RESULT_COLUMNS), lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def stream_results(batch_id: uuid.UUID, fmt: str) -> Iterator[str]:
    with session_scope() as session:
        chunk: list[dict[str, Any]] = []
        first = True
        for row in iter_results(session, batch_id):
            chunk.append(row)
            if len(chunk) >= ROWS_PER_CHUNK:
                yield _encode_jsonl(chunk) if fmt == "jsonl" else _encode_csv(chunk, header=first)
                chunk, first = [], False
        if chunk or (first and fmt == "csv"):
            yield _encode_jsonl(chunk) if fmt == "jsonl" else _encode_csv(chunk, header=first)

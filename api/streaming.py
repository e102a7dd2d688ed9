"""Streaming a batch's results over HTTP as JSONL or CSV, a chunk of rows at a time."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

from api.export import chunked, write_csv, write_jsonl
from worker.domain.db import session_scope
from worker.domain.results import iter_results

ROWS_PER_CHUNK = 500  #: rows encoded per chunk sent to the client


def stream_results(batch_id: uuid.UUID, fmt: str) -> Iterator[str]:
    with session_scope() as session:
        rows = iter_results(session, batch_id)
        if fmt == "csv":
            buffer = io.StringIO()
            write_csv([], buffer)  # the header, even for a batch with no rows
            yield buffer.getvalue()
        for chunk in chunked(rows, ROWS_PER_CHUNK):
            buffer = io.StringIO()
            if fmt == "csv":
                write_csv(chunk, buffer, header=False)
            else:
                write_jsonl(chunk, buffer)
            yield buffer.getvalue()

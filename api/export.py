"""Writing results to JSONL, CSV or Parquet, streamed so a million rows never sit in memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from worker.domain.errors import InvalidInput
from worker.domain.results import RESULT_COLUMNS

PARQUET_ROWS_PER_GROUP = 50_000  #: rows buffered per Parquet row group
FORMATS = ("jsonl", "csv", "parquet")


def format_for(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in FORMATS:
        return suffix
    raise InvalidInput(f"cannot tell the format of '{path.name}': use .jsonl, .csv or .parquet")


def money_text(value: Decimal) -> str:
    """Plain decimal notation: 0.000101, never 1.01E-4 or 0E-12."""
    return format(value.normalize(), "f")


def text_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: money_text(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(text_row(row), ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str], *, header: bool = True) -> int:
    writer = csv.DictWriter(out, fieldnames=list(RESULT_COLUMNS), lineterminator="\n")
    if header:
        writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(text_row(row))
        count += 1
    return count


def chunked(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    group: list[dict[str, Any]] = []
    for row in rows:
        group.append(row)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


def write_parquet(rows: Iterable[dict[str, Any]], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("item_id", pa.string()),
            ("status", pa.string()),
            ("label", pa.string()),
            ("model", pa.string()),
            ("provider", pa.string()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("cached_input_tokens", pa.int64()),
            ("cost_usd", pa.decimal128(24, 12)),
            ("attempts", pa.int32()),
            ("error_code", pa.string()),
            ("error_message", pa.string()),
        ]
    )
    count = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for group in chunked(rows, PARQUET_ROWS_PER_GROUP):
            writer.write_table(pa.Table.from_pylist(group, schema=schema))
            count += len(group)
        if count == 0:
            writer.write_table(schema.empty_table())
    return count


def export(rows: Iterable[dict[str, Any]], path: Path) -> int:
    fmt = format_for(path)
    try:
        if fmt == "parquet":
            return write_parquet(rows, path)
        with path.open("w", encoding="utf-8", newline="") as out:
            return write_jsonl(rows, out) if fmt == "jsonl" else write_csv(rows, out)
    except OSError as err:  # a missing directory, no permission, a full disk
        reason = err.strerror or str(err)
        raise InvalidInput(f"cannot write {path}: {reason}") from None

"""Parsing submitted items from JSONL or CSV into validated ``Item`` records.

Every problem names its line and field. Parsing never stores anything: the caller decides
whether a file with bad lines is refused whole or accepted without them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from worker.domain.errors import InvalidInput

MAX_METADATA_DEPTH = 8  #: nesting levels allowed in an item's metadata
MAX_ITEM_ID_CHARS = 256  #: longest client item id accepted
MAX_REPORTED_PROBLEMS = 20  #: problems kept in full; the rest are only counted
ITEM_FIELDS = ("id", "text", "metadata")  #: fields every task understands
CSV_FIELD_BYTES_PER_CHAR = 4  #: room for the longest allowed text in the widest UTF-8


@dataclass(frozen=True, slots=True)
class Item:
    line: int  #: 1-based line (JSONL) or row (CSV, header = line 1) the item came from
    item_id: str
    text: str
    metadata: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None  #: task-specific fields beyond id/text/metadata


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field '{self.field}'" if self.field else "")
        return f"{where}: {self.message}"


@dataclass
class ParseResult:
    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    def add_problem(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(problem)

    def raise_if_problems(self) -> None:
        if not self.problem_count:
            return
        first = self.problems[0]
        more = self.problem_count - 1
        suffix = f" ({more} more problem{'s' if more > 1 else ''} in the input)" if more else ""
        raise InvalidInput(f"{first}{suffix}")


def _depth(value: Any, level: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _check_id(raw: Any, line: int) -> str | Problem:
    if raw is None:
        return Problem(line, "id", "is missing")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return Problem(line, "id", "must be a string or an integer")
    item_id = str(raw)
    if not item_id.strip():
        return Problem(line, "id", "is empty")
    if len(item_id) > MAX_ITEM_ID_CHARS:
        return Problem(line, "id", f"is longer than {MAX_ITEM_ID_CHARS} characters")
    if "\x00" in item_id:
        return Problem(line, "id", "contains a NUL character")
    return item_id


def _check_text(raw: Any, line: int, max_chars: int) -> str | Problem:
    if raw is None:
        return Problem(line, "text", "is missing")
    if not isinstance(raw, str):
        return Problem(line, "text", "must be a string")
    if not raw.strip():
        return Problem(line, "text", "is empty")
    if len(raw) > max_chars:
        return Problem(
            line, "text", f"has {len(raw):,} characters, over the limit of {max_chars:,}"
        )
    if "\x00" in raw:
        return Problem(line, "text", "contains a NUL character")
    return raw


def _check_metadata(raw: Any, line: int) -> dict[str, Any] | None | Problem:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        return Problem(line, "metadata", "must be a JSON object")
    if _depth(raw) > MAX_METADATA_DEPTH:
        return Problem(line, "metadata", f"is nested deeper than {MAX_METADATA_DEPTH} levels")
    return raw


def build_item(record: dict[str, Any], line: int, max_chars: int) -> Item | Problem:
    """Validate one decoded record; the first problem found is returned instead of an item."""
    item_id = _check_id(record.get("id"), line)
    if isinstance(item_id, Problem):
        return item_id
    text = _check_text(record.get("text"), line, max_chars)
    if isinstance(text, Problem):
        return text
    metadata = _check_metadata(record.get("metadata"), line)
    if isinstance(metadata, Problem):
        return metadata
    payload = {k: v for k, v in record.items() if k not in ITEM_FIELDS} or None
    if payload is not None and _depth(payload) > MAX_METADATA_DEPTH:
        return Problem(line, None, f"fields are nested deeper than {MAX_METADATA_DEPTH} levels")
    return Item(line=line, item_id=item_id, text=text, metadata=metadata, payload=payload)


def _decode_lines(raw: Iterable[bytes | str]) -> Iterator[tuple[int, str | Problem]]:
    for number, line in enumerate(raw, start=1):
        if isinstance(line, bytes):
            try:
                yield number, line.decode("utf-8")
            except UnicodeDecodeError as err:
                yield number, Problem(number, None, f"is not valid UTF-8 (byte {err.start + 1})")
        else:
            yield number, line


def parse_jsonl(raw: Iterable[bytes | str], *, max_chars: int) -> ParseResult:
    result = ParseResult()
    for number, line in _decode_lines(raw):
        if isinstance(line, Problem):
            result.add_problem(line)
            continue
        stripped = line.strip().lstrip("\ufeff")
        if not stripped:
            continue
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError as err:
            result.add_problem(Problem(number, None, f"is not valid JSON ({err.msg})"))
            continue
        except ValueError:  # e.g. an integer of thousands of digits
            result.add_problem(Problem(number, None, "is not valid JSON (a number is too long)"))
            continue
        except RecursionError:
            result.add_problem(Problem(number, None, "is nested too deeply to parse"))
            continue
        if not isinstance(record, dict):
            result.add_problem(Problem(number, None, "must be a JSON object"))
            continue
        _accept(result, build_item(record, number, max_chars))
    return result


def parse_csv(raw: bytes | str, *, max_chars: int) -> ParseResult:
    """CSV with a header row: id (optional: the row number serves), text, metadata (JSON) and
    any other columns, which are kept as string metadata."""
    result = ParseResult()
    if isinstance(raw, bytes):
        try:
            decoded = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = raw[: err.start].count(b"\n") + 1
            result.add_problem(Problem(line, None, f"is not valid UTF-8 (byte {err.start + 1})"))
            return result
    else:
        decoded = raw
    # a field may be as long as the longest text allowed (the csv module stops at 128 KiB)
    csv.field_size_limit(max(csv.field_size_limit(), max_chars * CSV_FIELD_BYTES_PER_CHAR))
    reader = csv.DictReader(io.StringIO(decoded, newline=""))
    try:
        header = list(reader.fieldnames or [])
        if "text" not in header:
            result.add_problem(Problem(1, "text", "column is missing from the CSV header"))
            return result
        _read_csv_rows(reader, header, result, max_chars)
    except csv.Error as err:
        result.add_problem(Problem(reader.line_num, None, f"is not valid CSV ({err})"))
    return result


def _read_csv_rows(
    reader: csv.DictReader[str], header: list[str], result: ParseResult, max_chars: int
) -> None:
    for row in reader:
        number = reader.line_num
        if None in row:
            result.add_problem(Problem(number, None, "has more columns than the header"))
            continue
        record = _csv_record(row, number, header)
        if isinstance(record, Problem):
            result.add_problem(record)
            continue
        _accept(result, build_item(record, number, max_chars))


def _csv_record(row: dict[str, Any], number: int, header: list[str]) -> dict[str, Any] | Problem:
    metadata: dict[str, Any] = {}
    if row.get("metadata"):
        try:
            metadata = json.loads(row["metadata"])
        except json.JSONDecodeError:
            return Problem(number, "metadata", "is not valid JSON")
        if not isinstance(metadata, dict):
            return Problem(number, "metadata", "must be a JSON object")
    extra = {k: v for k, v in row.items() if k not in ITEM_FIELDS and v is not None}
    record: dict[str, Any] = {
        "id": row["id"] if "id" in header else str(number),
        "text": row.get("text"),
        "metadata": ({**metadata, **extra} or None),
    }
    return record


def _accept(result: ParseResult, outcome: Item | Problem) -> None:
    if isinstance(outcome, Problem):
        result.add_problem(outcome)
    else:
        result.items.append(outcome)


def detect_format(name: str, head: bytes) -> str:
    """'csv' or 'jsonl', from the file name or, for stdin, the first byte."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"") else "csv"


def parse_stream(
    stream: IO[bytes], *, name: str, max_chars: int, fmt: str | None = None
) -> ParseResult:
    data = stream.read()
    fmt = fmt or detect_format(name, data[:64])
    if fmt == "csv":
        return parse_csv(data, max_chars=max_chars)
    return parse_jsonl(data.splitlines(), max_chars=max_chars)

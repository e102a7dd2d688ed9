"""The request log behind `GET /_sim/log` and `GET /_sim/stats`, and its optional JSONL file.

One `RequestRecord` per request to a provider endpoint, whatever its outcome. For
`/v1/messages` and `/v1/chat/completions`, `input_tokens` and `output_tokens` are what the
request was charged: the usage a 200 reports (malformed and timeout faults included), input only
for a 500/529/503 fault, and 0 for requests refused before admission (401, 400, 429). Summing a
minute of their records therefore gives what the rate limiter counted. `count_tokens` records
carry the count they answered, which no limit charges. `ts` is the wall-clock arrival time;
`key_id` a short sha256 prefix of the API key, never the key. Memory keeps the latest
`MAX_MEMORY_RECORDS`; the file keeps every record.

With a `log_path`, records are also appended to that file as JSON lines, written by a task that
flushes at least every `FLUSH_INTERVAL_S` and once more at shutdown, so another process (a test
driving workers, say) can read what the simulator saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import Counter, deque
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

import orjson

FLUSH_INTERVAL_S = 0.5  #: how often buffered records reach the log file
MAX_MEMORY_RECORDS = 200_000  #: records kept for GET /_sim/log (~25 MB); the file keeps all
KEY_ID_HEX_CHARS = 12  #: length of the sha256 prefix that identifies a key


def key_id_for(api_key: str) -> str:
    """The short, non-secret id of an API key used in logs and limiter state."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:KEY_ID_HEX_CHARS]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """What the simulator saw and did for one request."""

    ts: float  #: unix time at arrival
    endpoint: str  #: e.g. "/v1/messages"
    key_id: str | None  #: None when no key was sent
    model: str | None
    status: int
    input_tokens: int
    output_tokens: int
    latency_ms: float  #: from arrival to the response being ready, injected latency included
    fault: str | None  #: a `Fault` value, or None
    request_id: str  #: the request-id / x-request-id header sent back

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values (faster than `dataclasses.asdict`)."""
        return {name: getattr(self, name) for name in _RECORD_FIELDS}


_RECORD_FIELDS = tuple(field.name for field in fields(RequestRecord))


class RequestLog:
    """Keeps records in memory, counts them, and (optionally) appends them to a file."""

    def __init__(self, log_path: str | Path | None = None) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=MAX_MEMORY_RECORDS)
        self._by_status: Counter[str] = Counter()
        self._by_endpoint: Counter[str] = Counter()
        self._by_fault: Counter[str] = Counter()
        self._log_path = Path(log_path) if log_path is not None else None
        self._pending: list[bytes] = []
        self._file: IO[bytes] | None = None
        self._flusher: asyncio.Task[None] | None = None

    def add(self, record: RequestRecord) -> None:
        """Record one request."""
        self._records.append(record)
        self._by_status[str(record.status)] += 1
        self._by_endpoint[record.endpoint] += 1
        if record.fault is not None:
            self._by_fault[record.fault] += 1
        if self._log_path is not None:
            self._pending.append(orjson.dumps(record.as_dict(), option=orjson.OPT_APPEND_NEWLINE))

    def records(self) -> list[dict[str, Any]]:
        """Every record kept, oldest first, as JSON-ready dicts."""
        return [record.as_dict() for record in self._records]

    def stats(self) -> dict[str, Any]:
        """Counts of requests by status, endpoint and fault."""
        return {
            "total": sum(self._by_status.values()),
            "by_status": dict(self._by_status),
            "by_endpoint": dict(self._by_endpoint),
            "by_fault": dict(self._by_fault),
        }

    def clear(self) -> None:
        """Forget the in-memory records and counts (the file keeps what it has)."""
        self._records.clear()
        self._by_status.clear()
        self._by_endpoint.clear()
        self._by_fault.clear()

    async def start(self) -> None:
        """Open the log file, if any, and start flushing to it."""
        if self._log_path is None:
            return
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._log_path.open("ab")
        self._flusher = asyncio.create_task(self._flush_forever())

    async def stop(self) -> None:
        """Flush what is buffered and close the file."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    def flush(self) -> None:
        """Write buffered records to the file now."""
        if self._file is None or not self._pending:
            return
        pending, self._pending = self._pending, []
        self._file.write(b"".join(pending))
        self._file.flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            self.flush()

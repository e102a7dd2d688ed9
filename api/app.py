"""The HTTP API (``/v1``). This first cut serves health, submission, status, results and
cancel through the same service functions as the CLI; tenants and keys come with the API issue.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.dispatch import enqueue_dispatch
from api.limits import BYTES_PER_MB, BodyLimit
from worker.domain.batches import SubmitRequest, cancel_batch, get_batch, submit_batch
from worker.domain.config import AppConfig, load_config
from worker.domain.db import session_scope
from worker.domain.errors import InvalidInput, NotFound, ServiceUnavailable, SluiceError
from worker.domain.ingest import ParseResult, Problem, build_item

app = FastAPI(title="Sluice", version="0.1.0", docs_url="/docs")
app.add_middleware(
    BodyLimit, max_bytes=lambda: int(load_config().worker.max_request_mb * BYTES_PER_MB)
)


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
ConfigDep = Annotated[AppConfig, Depends(load_config)]


class BatchCreate(BaseModel):
    task: str
    items: list[dict[str, Any]] = Field(min_length=1)
    labels: list[str] | None = None
    name: str | None = None
    budget_usd: Decimal | None = None
    tenant: str | None = None
    callback_url: str | None = None


def _error(code: str, message: str, status: int) -> JSONResponse:
    """Every error the API returns has this one shape."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@app.exception_handler(SluiceError)
async def _sluice_error(_: Any, err: SluiceError) -> JSONResponse:
    status = 404 if isinstance(err, NotFound) else 422 if isinstance(err, InvalidInput) else 503
    return _error(err.code, err.message, status)


@app.exception_handler(RequestValidationError)
async def _invalid_request(_: Any, err: RequestValidationError) -> JSONResponse:
    first = err.errors()[0]
    if first["type"] == "json_invalid":
        return _error("invalid_input", "the request body is not valid JSON", 422)
    where = ".".join(str(part) for part in first["loc"] if part != "body")
    return _error(
        "invalid_input", f"field '{where}': {first['msg'][:1].lower()}{first['msg'][1:]}", 422
    )


@app.exception_handler(StarletteHTTPException)
async def _http_error(_: Any, err: StarletteHTTPException) -> JSONResponse:
    """FastAPI turns a body it cannot decode into a bare 400; say which way it is bad."""
    message = str(err.detail)
    if isinstance(err.__cause__, UnicodeDecodeError):
        message = "the request body is not UTF-8 text"
    elif isinstance(err.__cause__, RecursionError):
        message = "the request body is nested too deeply to read"
    code = {400: "invalid_input", 404: "not_found", 405: "method_not_allowed"}.get(
        err.status_code, "http_error"
    )
    return _error(code, message, err.status_code)


@app.get("/v1/healthz")
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@app.post("/v1/batches", status_code=202)
def create_batch(body: BatchCreate, session: SessionDep, config: ConfigDep) -> dict[str, Any]:
    parsed = ParseResult()
    for index, record in enumerate(body.items, start=1):
        outcome = build_item(record, index, config.worker.max_item_chars)
        if isinstance(outcome, Problem):
            parsed.add_problem(outcome)
        else:
            parsed.items.append(outcome)
    parsed.raise_if_problems()
    request = SubmitRequest(
        task=body.task,
        items=parsed.items,
        labels=body.labels,
        name=body.name,
        budget_usd=body.budget_usd,
        tenant=body.tenant,
        callback_url=body.callback_url,
    )
    batch = submit_batch(session, config, request)
    session.commit()
    try:
        enqueue_dispatch(batch.id)
    except ServiceUnavailable:
        pass  # stored; the sweeper dispatches it when Redis is back
    return {"id": str(batch.id), "status": batch.status, "counts": batch.counts}


@app.get("/v1/batches/{batch_id}")
def read_batch(batch_id: uuid.UUID, session: SessionDep) -> dict[str, Any]:
    return get_batch(session, batch_id).as_dict()


@app.post("/v1/batches/{batch_id}/cancel")
def cancel(batch_id: uuid.UUID, session: SessionDep) -> dict[str, Any]:
    return cancel_batch(session, batch_id).as_dict()


@app.get("/v1/batches/{batch_id}/results")
def results(
    batch_id: uuid.UUID,
    fmt: Annotated[str, Query(alias="format", pattern="^(jsonl|csv)$")] = "jsonl",
) -> StreamingResponse:
    from api.streaming import stream_results

    with session_scope() as session:
        get_batch(session, batch_id)  # 404 before the stream starts
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    return StreamingResponse(stream_results(batch_id, fmt), media_type=media)

"""Batch service functions: submit, status, list and cancel. CLI, API and tests call these.

``submit_batch`` validates everything first and then writes the batch row and every job row
in one transaction, jobs through COPY, so a bad input leaves no rows and 100k items cost one
round trip per COPY buffer rather than one per item.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.domain.budgets import MAX_BUDGET_USD
from worker.domain.config import AppConfig
from worker.domain.errors import InvalidInput, NotFound
from worker.domain.ingest import Item
from worker.domain.models import Batch, Job
from worker.domain.settings import get_settings
from worker.domain.states import ACTIVE_JOB_STATES, BatchStatus, JobState
from worker.domain.tasks_spec import resolve_labels

MAX_NAME_CHARS = 200  #: longest batch name
DEFAULT_LIST_LIMIT = 20  #: batches listed when no limit is given
MAX_CALLBACK_URL_CHARS = 2_000  #: longest callback URL accepted


@dataclass(frozen=True)
class SubmitRequest:
    task: str
    items: Sequence[Item]
    labels: list[str] | None = None
    name: str | None = None
    tenant: str | None = None
    budget_usd: Decimal | None = None
    callback_url: str | None = None
    idempotency_key: str | None = None


@dataclass
class BatchView:
    id: uuid.UUID
    name: str | None
    task: str
    status: str
    item_count: int
    counts: dict[str, int] = field(default_factory=dict)
    cost_usd: Decimal = Decimal(0)
    input_tokens: int = 0
    output_tokens: int = 0
    created_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: waiting_budget jobs by the budget (and period) they wait on
    waiting: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return not any(self.counts.get(state, 0) for state in ACTIVE_JOB_STATES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "task": self.task,
            "status": self.status,
            "item_count": self.item_count,
            "counts": self.counts,
            "cost_usd": str(self.cost_usd),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "waiting_on_budgets": self.waiting,
        }


def _check_request(config: AppConfig, request: SubmitRequest) -> dict[str, Any]:
    task = config.tasks.get(request.task)
    if task is None:
        known = ", ".join(sorted(config.tasks))
        raise InvalidInput(f"unknown task type '{request.task}' (known: {known})")
    labels = resolve_labels(request.task, task, request.labels)
    if not request.items:
        raise InvalidInput("the input has no items; nothing was submitted")
    most = config.worker.max_items_per_batch
    if len(request.items) > most:
        raise InvalidInput(
            f"{len(request.items):,} items; the limit is {most:,} (worker.max_items_per_batch)"
        )
    if request.name is not None and len(request.name) > MAX_NAME_CHARS:
        raise InvalidInput(f"the batch name is longer than {MAX_NAME_CHARS} characters")
    budget = request.budget_usd
    if budget is not None and not (budget.is_finite() and 0 < budget <= MAX_BUDGET_USD):
        raise InvalidInput(f"the budget must be a number above 0 and at most {MAX_BUDGET_USD:,}")
    _check_callback(request.callback_url)
    seen: dict[str, int] = {}
    for item in request.items:
        first = seen.setdefault(item.item_id, item.line)
        if first != item.line:
            raise InvalidInput(
                f"line {item.line}, field 'id': '{item.item_id}' repeats the id of line {first}"
            )
    return {"labels": labels} if labels else {}


def _check_callback(url: str | None) -> None:
    if url is None:
        return
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(f"the callback URL '{url[:80]}' is not an http(s) URL")
    if len(url) > MAX_CALLBACK_URL_CHARS:
        raise InvalidInput(f"the callback URL is longer than {MAX_CALLBACK_URL_CHARS} characters")
    if not get_settings().webhook_secret:
        raise InvalidInput(
            "set SLUICE_WEBHOOK_SECRET to sign webhooks before giving a callback URL"
        )


def submit_batch(session: Session, config: AppConfig, request: SubmitRequest) -> BatchView:
    """Validate and store a batch with all its jobs as ``pending``, atomically."""
    params = _check_request(config, request)
    if request.idempotency_key:
        existing = session.scalar(
            select(Batch.id).where(Batch.idempotency_key == request.idempotency_key)
        )
        if existing is not None:
            return get_batch(session, existing)
    batch = Batch(
        id=uuid.uuid4(),
        name=request.name,
        task=request.task,
        tenant=request.tenant,
        status=BatchStatus.pending,
        params=params,
        item_count=len(request.items),
        budget_usd=request.budget_usd,
        callback_url=request.callback_url,
        idempotency_key=request.idempotency_key,
    )
    session.add(batch)
    try:
        session.flush()
    except IntegrityError:
        raise InvalidInput("a batch with this idempotency key is being submitted") from None
    _copy_jobs(session, batch.id, request.items)
    return BatchView(
        id=batch.id,
        name=batch.name,
        task=batch.task,
        status=batch.status,
        item_count=batch.item_count,
        counts={JobState.pending: batch.item_count},
        params=params,
    )


def _json_or_none(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _copy_jobs(session: Session, batch_id: uuid.UUID, items: Sequence[Item]) -> None:
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        statement = "COPY jobs (batch_id, item_id, text, payload, metadata) FROM STDIN"
        with cur.copy(statement) as copy:
            for item in items:
                copy.write_row(
                    (
                        batch_id,
                        item.item_id,
                        item.text,
                        _json_or_none(item.payload),
                        _json_or_none(item.metadata),
                    )
                )


def get_batch(session: Session, batch_id: uuid.UUID | str) -> BatchView:
    batch = session.get(Batch, _as_uuid(batch_id))
    if batch is None:
        raise NotFound(f"no batch with id {batch_id}")
    rows = session.execute(
        select(
            Job.state,
            func.count(),
            func.coalesce(func.sum(Job.cost_usd), 0),
            func.coalesce(func.sum(Job.input_tokens), 0),
            func.coalesce(func.sum(Job.output_tokens), 0),
        )
        .where(Job.batch_id == batch.id)
        .group_by(Job.state)
    ).all()
    view = BatchView(
        id=batch.id,
        name=batch.name,
        task=batch.task,
        status=batch.status,
        item_count=batch.item_count,
        created_at=batch.created_at,
        completed_at=batch.completed_at,
        params=dict(batch.params),
    )
    if any(state == JobState.waiting_budget for state, *_ in rows):
        view.waiting = {
            str(name): int(count)
            for name, count in session.execute(
                select(Job.waiting_on, func.count())
                .where(Job.batch_id == batch.id, Job.state == JobState.waiting_budget)
                .group_by(Job.waiting_on)
            ).all()
        }
    for state, count, cost, tokens_in, tokens_out in rows:
        view.counts[state] = int(count)
        view.cost_usd += Decimal(cost)
        view.input_tokens += int(tokens_in)
        view.output_tokens += int(tokens_out)
    return view


def list_batches(session: Session, *, limit: int = DEFAULT_LIST_LIMIT) -> list[BatchView]:
    ids = session.scalars(select(Batch.id).order_by(Batch.created_at.desc()).limit(limit)).all()
    return [get_batch(session, batch_id) for batch_id in ids]


def cancel_batch(session: Session, batch_id: uuid.UUID | str) -> BatchView:
    """Cancel every job that has not started; jobs already running finish and are recorded."""
    batch = session.get(Batch, _as_uuid(batch_id), with_for_update=True)
    if batch is None:
        raise NotFound(f"no batch with id {batch_id}")
    if batch.status != BatchStatus.completed:
        session.execute(
            update(Job)
            .where(
                Job.batch_id == batch.id,
                Job.state.in_([JobState.pending, JobState.queued, JobState.waiting_budget]),
            )
            .values(
                state=JobState.canceled,
                error_code="canceled",
                error_message="the batch was canceled",
                finished_at=func.now(),
            )
        )
        batch.status = BatchStatus.canceled
        batch.canceled_at = func.now()  # type: ignore[assignment]
    session.flush()
    return get_batch(session, batch.id)


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no batch with id {value} (a batch id looks like a UUID)") from None

"""SQLAlchemy models: batches, jobs and attempts. Alembic migrations are generated from these.

Money is NUMERIC(24, 12) in USD: a token count times a per-million price is exact at that
scale, so sums over millions of rows never drift.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: stable constraint names so Alembic autogenerate produces reviewable diffs
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(24, 12)  #: USD, exact


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    task: Mapped[str] = mapped_column(Text, nullable=False)
    tenant: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="pending")
    #: task parameters fixed at submit time, e.g. {"labels": [...]}
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    budget_usd: Mapped[Decimal | None] = mapped_column(Money)
    callback_url: Mapped[str | None] = mapped_column(Text)
    #: None (no callback), pending, delivered or failed
    webhook_status: Mapped[str | None] = mapped_column(Text)
    webhook_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    webhook_next_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str | None] = mapped_column(Text, unique=True)
    created_at: Mapped[dt.datetime] = _now()
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_batches_created_at", "created_at"),)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("batches.id", ondelete="CASCADE"), nullable=False
    )
    item_id: Mapped[str] = mapped_column(Text, nullable=False)  #: the client's own id
    state: Mapped[str] = mapped_column(Text, nullable=False, server_default="pending")
    text: Mapped[str] = mapped_column(Text, nullable=False)
    #: task-specific input fields beyond text
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    item_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    provider: Mapped[str | None] = mapped_column(Text)  #: provider of the answering model
    model: Mapped[str | None] = mapped_column(Text)  #: model that produced the result
    label: Mapped[str | None] = mapped_column(Text)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error_code: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    #: while waiting_budget: which budget it waits on, e.g. "batch:<id>:total"
    waiting_on: Mapped[str | None] = mapped_column(Text)
    #: while waiting_budget: the reservation it could not make, to release it when one fits
    budget_need_usd: Mapped[Decimal | None] = mapped_column(Money)
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    cached_input_tokens: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    cost_usd: Mapped[Decimal] = mapped_column(Money, nullable=False, server_default="0")
    cache_hit: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    attempt_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    leased_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: the lease of the run that recorded the result; its attempts carry the same token
    result_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[dt.datetime] = _now()
    queued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("batch_id", "item_id"),
        Index("ix_jobs_batch_id_state", "batch_id", "state"),
        # the sweeper's scan: only non-terminal jobs, so it stays small as history grows
        Index(
            "ix_jobs_active_state",
            "state",
            "leased_until",
            postgresql_where=sql_text("state IN ('pending','queued','running','waiting_budget')"),
        ),
    )


class Attempt(Base):
    """One provider call: every try, fallback and re-ask is a row."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    batch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    provider: Mapped[str] = mapped_column(Text, nullable=False)
    model: Mapped[str] = mapped_column(Text, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error_type: Mapped[str | None] = mapped_column(Text)  #: None when the call succeeded
    error_message: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    cached_input_tokens: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    cache_write_tokens: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    cost_usd: Mapped[Decimal] = mapped_column(Money, nullable=False, server_default="0")
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    provider_request_id: Mapped[str | None] = mapped_column(Text)
    #: the lease under which the call was made: a job's recorded run, or a superseded one
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        Index("ix_attempts_job_id", "job_id"),
        Index("ix_attempts_started_at", "started_at"),
        Index("ix_attempts_batch_id", "batch_id"),
    )


class Budget(Base):
    """A spending limit set at run time (`sluice budgets set`); the config may declare more."""

    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    scope: Mapped[str] = mapped_column(Text, nullable=False)  #: global, provider, model, ...
    key: Mapped[str] = mapped_column(Text, nullable=False, server_default="")  #: "" for global
    period: Mapped[str] = mapped_column(Text, nullable=False)  #: day, month or total
    limit_usd: Mapped[Decimal] = mapped_column(Money, nullable=False)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (UniqueConstraint("scope", "key", "period"),)


class SystemState(Base):
    """Small facts the cluster keeps about itself, e.g. the budget ledger's epoch in Redis."""

    __tablename__ = "system_state"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[dt.datetime] = _now()


class WebhookDelivery(Base):
    """One try at POSTing a batch's completion to its callback_url."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("batches.id", ondelete="CASCADE"), nullable=False
    )
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (Index("ix_webhook_deliveries_batch_id", "batch_id"),)

"""Spend reports from the attempts ledger, grouped by any of provider, model, task, day,
batch and tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, cast, distinct, func, select
from sqlalchemy.orm import Session

from worker.domain.errors import InvalidInput
from worker.domain.models import Attempt, Batch

GROUPS: dict[str, Any] = {
    "provider": Attempt.provider,
    "model": Attempt.model,
    "task": Batch.task,
    "tenant": Batch.tenant,
    "batch": Attempt.batch_id,
    "day": cast(func.timezone("UTC", Attempt.started_at), Date),
}


def parse_group_by(raw: str) -> list[str]:
    groups = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [group for group in groups if group not in GROUPS]
    if unknown:
        raise InvalidInput(
            f"cannot group costs by '{unknown[0]}' (choose from {', '.join(GROUPS)})"
        )
    return groups


def cost_report(
    session: Session, *, group_by: list[str], since: dt.date | None = None
) -> list[dict[str, Any]]:
    """One row per group: calls, jobs, tokens and exact cost in USD, most expensive first."""
    keys = [GROUPS[group].label(group) for group in group_by]
    query = select(
        *keys,
        func.count().label("calls"),
        func.count(distinct(Attempt.job_id)).label("jobs"),
        func.coalesce(func.sum(Attempt.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(Attempt.output_tokens), 0).label("output_tokens"),
        func.coalesce(func.sum(Attempt.cached_input_tokens), 0).label("cached_input_tokens"),
        func.coalesce(func.sum(Attempt.cost_usd), 0).label("cost_usd"),
    ).join(Batch, Batch.id == Attempt.batch_id)
    if since is not None:
        query = query.where(Attempt.started_at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if keys:
        query = query.group_by(*keys)
    query = query.order_by(func.sum(Attempt.cost_usd).desc().nulls_last())
    rows = session.execute(query).all()
    return [dict(row._mapping) for row in rows if keys or row.calls]

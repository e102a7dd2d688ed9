"""Reading a batch's results, one row per job, streamed from the ``job_results`` view."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from worker.domain.batches import get_batch

#: the columns of an exported result row, in order
RESULT_COLUMNS = (
    "item_id",
    "status",
    "label",
    "model",
    "provider",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cost_usd",
    "attempts",
    "error_code",
    "error_message",
)
STREAM_ROWS = 2_000  #: rows fetched per round trip while streaming

_RESULTS = text(
    f"SELECT {', '.join(RESULT_COLUMNS)} FROM job_results "
    "WHERE batch_id = :batch_id ORDER BY job_id"
)


def iter_results(session: Session, batch_id: uuid.UUID | str) -> Iterator[dict[str, Any]]:
    """Every job of the batch as a dict keyed by RESULT_COLUMNS. Raises NotFound at the call,
    before any row is read, so a caller can check the batch before opening an output file."""
    batch = get_batch(session, batch_id)
    result = session.execute(
        _RESULTS.execution_options(yield_per=STREAM_ROWS), {"batch_id": batch.id}
    )
    return (dict(row._mapping) for row in result)


def breakdown(session: Session, batch_id: uuid.UUID) -> dict[str, dict[str, int]]:
    """Counts of succeeded jobs per label and of all answered jobs per model."""
    labels = session.execute(
        text(
            "SELECT label, count(*) FROM jobs WHERE batch_id = :id AND state = 'succeeded' "
            "GROUP BY label ORDER BY count(*) DESC"
        ),
        {"id": batch_id},
    ).all()
    models = session.execute(
        text(
            "SELECT model, count(*) FROM jobs WHERE batch_id = :id AND model IS NOT NULL "
            "GROUP BY model ORDER BY count(*) DESC"
        ),
        {"id": batch_id},
    ).all()
    return {
        "labels": {str(label): int(count) for label, count in labels},
        "models": {str(model): int(count) for model, count in models},
    }

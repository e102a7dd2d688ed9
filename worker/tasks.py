"""Celery tasks: thin wrappers that call the dispatcher and the executor."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from worker import runtime
from worker.celery_app import app
from worker.dispatch import dispatch_batch as dispatch_pending
from worker.dispatch import stale_pending_batches
from worker.domain.config import load_config
from worker.domain.constants import DISPATCH_TASK, RUN_CHUNK_TASK, SWEEP_TASK
from worker.domain.log import log_event

logger = logging.getLogger("sluice.tasks")

PENDING_GRACE_S = 10  #: a job pending this long without being routed is dispatched by the sweeper


def _send_chunk(job_ids: list[int], queue: str) -> None:
    run_chunk.apply_async(args=[job_ids], queue=queue)


@app.task(name=DISPATCH_TASK)
def dispatch_batch(batch_id: str) -> int:
    """Route a batch's pending jobs to provider queues."""
    return dispatch_pending(uuid.UUID(batch_id), load_config(), send=_send_chunk)


@app.task(name=RUN_CHUNK_TASK)
def run_chunk(job_ids: list[int]) -> dict[str, Any]:
    """Run the still-queued jobs among ``job_ids`` and record their outcomes."""
    report = runtime.run(runtime.executor().run_chunk(job_ids))
    log_event(
        logger, "chunk_done", jobs=len(job_ids), claimed=report.claimed, written=report.written
    )
    return {"claimed": report.claimed, "written": report.written}


@app.task(name=SWEEP_TASK)
def sweep() -> int:
    """Dispatch batches whose pending jobs were never routed (e.g. Redis was down at submit)."""
    config = load_config()
    batch_ids = stale_pending_batches(older_than_s=PENDING_GRACE_S)
    return sum(dispatch_pending(batch_id, config, send=_send_chunk) for batch_id in batch_ids)

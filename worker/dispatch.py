"""The dispatcher: moves a batch's pending jobs to its primary provider's queue in chunks.

Each chunk is marked ``queued`` and committed before its message is sent, so a worker never
receives ids it cannot claim; a message lost after the commit leaves jobs ``queued`` with a
``queued_at`` the sweeper can find and send again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from sqlalchemy import text

from worker.domain.config import AppConfig
from worker.domain.constants import provider_queue
from worker.domain.db import session_scope
from worker.domain.log import log_event
from worker.jobstore import mark_batches_running

logger = logging.getLogger("sluice.dispatch")

SendChunk = Callable[[list[int], str], None]  #: (job ids, queue name) -> publish a message

_QUEUE_CHUNK = text(
    """
    UPDATE jobs SET state = 'queued', queued_at = now()
     WHERE id IN (SELECT id FROM jobs
                   WHERE batch_id = :batch_id AND state = 'pending'
                   ORDER BY id
                   LIMIT :limit
                   FOR UPDATE SKIP LOCKED)
    RETURNING id
    """
)

_FAIL_UNROUTABLE = text(
    """
    UPDATE jobs SET state = 'failed', error_code = 'unknown_task', error_message = :message,
                    finished_at = now()
     WHERE batch_id = :batch_id AND state = 'pending'
    """
)


def _batch_task(batch_id: uuid.UUID) -> str | None:
    with session_scope() as session:
        return session.execute(
            text("SELECT task FROM batches WHERE id = :id"), {"id": batch_id}
        ).scalar_one_or_none()


def dispatch_batch(batch_id: uuid.UUID, config: AppConfig, send: SendChunk) -> int:
    """Queue every pending job of a batch; returns how many were sent."""
    task_name = _batch_task(batch_id)
    if task_name is None:
        log_event(logger, "dispatch_unknown_batch", level=logging.WARNING, batch=batch_id)
        return 0
    task = config.tasks.get(task_name)
    if task is None:
        with session_scope() as session:
            session.execute(
                _FAIL_UNROUTABLE,
                {"batch_id": batch_id, "message": f"task '{task_name}' is not in the config"},
            )
        return 0
    queue = provider_queue(config.provider_of(task.route[0]))
    sent = 0
    while True:
        with session_scope() as session:
            ids = list(
                session.execute(
                    _QUEUE_CHUNK, {"batch_id": batch_id, "limit": config.worker.chunk_size}
                ).scalars()
            )
        if not ids:
            break
        send(ids, queue)
        sent += len(ids)
    if sent:
        mark_batches_running([batch_id])
    log_event(logger, "batch_dispatched", batch=batch_id, jobs=sent, queue=queue)
    return sent


def stale_pending_batches(*, older_than_s: int) -> list[uuid.UUID]:
    """Batches with jobs still ``pending`` this long after submission: no dispatcher saw them."""
    with session_scope() as session:
        return list(
            session.execute(
                text(
                    "SELECT DISTINCT batch_id FROM jobs WHERE state = 'pending' "
                    "AND created_at < now() - make_interval(secs => :age)"
                ),
                {"age": older_than_s},
            ).scalars()
        )

"""The feeder: keeps each provider's queue stocked with a few chunks of job ids, taken fairly
from the active batches.

Jobs wait in Postgres as ``pending``; only ``queue_depth_chunks`` chunks per provider wait in
Redis. The next chunk for a provider goes to the batch with the fewest jobs queued or running
(ties: the older batch), so a batch of a million items advances one chunk at a time like any
other, and a small batch submitted later gets a chunk at the next feed. Feeding happens when a
batch is submitted, after every chunk a worker finishes, and on every beat of the sweeper.

Each chunk is marked ``queued`` and committed before its message is sent, so a worker never
receives ids it cannot claim.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from worker.domain.config import AppConfig
from worker.domain.constants import provider_queue
from worker.domain.db import session_scope
from worker.domain.log import log_event

logger = logging.getLogger("sluice.dispatch")

SendChunk = Callable[[list[int], str], None]  #: (job ids, queue name) -> publish a message
QueueBacklog = Callable[[str], int]  #: queue name -> messages waiting in it

_ACTIVE_BATCHES = text(
    """
    SELECT b.id, b.task, b.created_at,
           (SELECT count(*) FROM jobs j
             WHERE j.batch_id = b.id AND j.state IN ('queued', 'running')) AS inflight
      FROM batches b
     WHERE b.status IN ('pending', 'running')
       AND EXISTS (SELECT 1 FROM jobs j WHERE j.batch_id = b.id AND j.state = 'pending')
    """
)

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

_MARK_RUNNING = text("UPDATE batches SET status = 'running' WHERE id = :id AND status = 'pending'")


@dataclass
class _Candidate:
    batch_id: uuid.UUID
    task: str
    created_at: dt.datetime
    inflight: int

    @property
    def order(self) -> tuple[int, dt.datetime]:
        return (self.inflight, self.created_at)


def _candidates(config: AppConfig) -> dict[str, list[_Candidate]]:
    """Active batches with pending jobs, by the queue of their task's primary model."""
    with session_scope() as session:
        rows = session.execute(_ACTIVE_BATCHES).all()
        by_queue: dict[str, list[_Candidate]] = {}
        for row in rows:
            task = config.tasks.get(row.task)
            if task is None:
                message = f"task '{row.task}' is not in the config"
                session.execute(_FAIL_UNROUTABLE, {"batch_id": row.id, "message": message})
                log_event(logger, "batch_unroutable", level=logging.WARNING, batch=row.id)
                continue
            queue = provider_queue(config.provider_of(task.route[0]))
            candidate = _Candidate(row.id, row.task, row.created_at, int(row.inflight))
            by_queue.setdefault(queue, []).append(candidate)
    return by_queue


def _queue_chunk(candidate: _Candidate, chunk_size: int) -> list[int]:
    with session_scope() as session:
        ids = list(
            session.execute(
                _QUEUE_CHUNK, {"batch_id": candidate.batch_id, "limit": chunk_size}
            ).scalars()
        )
        if ids:
            session.execute(_MARK_RUNNING, {"id": candidate.batch_id})
    return ids


def feed(config: AppConfig, *, send: SendChunk, backlog: QueueBacklog) -> int:
    """Top up every provider queue to ``queue_depth_chunks``; returns the jobs sent."""
    sent = 0
    for queue, candidates in _candidates(config).items():
        room = config.worker.queue_depth_chunks - backlog(queue)
        while room > 0 and candidates:
            head = min(candidates, key=lambda c: c.order)
            ids = _queue_chunk(head, config.worker.chunk_size)
            if not ids:  # drained, or another feeder took the last ones
                candidates.remove(head)
                continue
            send(ids, queue)
            head.inflight += len(ids)
            sent += len(ids)
            room -= 1
    if sent:
        log_event(logger, "fed", jobs=sent)
    return sent

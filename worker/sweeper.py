"""The sweeper (run by Celery beat): finds work nobody is doing and hands it back.

- ``running`` jobs whose lease expired (their worker died, or lost Postgres for a lease) go
  back to ``pending``; if the old worker ever writes, its stale lease token is refused.
- ``queued`` jobs whose message has waited longer than ``requeue_queued_after_s`` go back to
  ``pending``; if the message does turn up, it claims nothing. When Redis has visibly lost its
  data (the sweeper's mark key is gone: a flush, a restart without persistence), every queued
  job goes back at once, since its message is gone with the rest (``requeue_age_s``).
- batches with no active job left are marked finished (a safety net behind the writers).

Every statement is idempotent, so two sweepers at once would do no harm; still, a sweep runs
under a Postgres advisory lock (``exclusive_sweep``) and a second sweeper skips its turn. The
feeder then sends the returned jobs again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from sqlalchemy import text

from worker.domain.constants import QUEUES_MARK_KEY
from worker.domain.db import get_engine, session_scope
from worker.domain.log import log_event

logger = logging.getLogger("sluice.sweeper")

SWEEP_LOCK_ID = 0x534C5549_43450001  #: the advisory lock one sweep holds ("SLUICE", 1)

_EXPIRED_LEASES = text(
    """
    UPDATE jobs SET state = 'pending', lease_token = NULL, leased_until = NULL, queued_at = NULL
     WHERE state = 'running' AND leased_until < now()
    RETURNING id
    """
)

_STALE_QUEUED = text(
    """
    UPDATE jobs SET state = 'pending', queued_at = NULL
     WHERE state = 'queued' AND queued_at < now() - make_interval(secs => :age_s)
    RETURNING id
    """
)

_FINISH_IDLE_BATCHES = text(
    """
    UPDATE batches AS b
       SET status = CASE WHEN b.status = 'canceled' THEN 'canceled' ELSE 'completed' END,
           completed_at = now(),
           webhook_status = CASE WHEN b.callback_url IS NOT NULL THEN 'pending' END,
           webhook_next_at = CASE WHEN b.callback_url IS NOT NULL THEN now() END
     WHERE b.completed_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM jobs j
                        WHERE j.batch_id = b.id
                          AND j.state IN ('pending', 'queued', 'running', 'waiting_budget'))
    RETURNING b.id
    """
)


@dataclass(frozen=True)
class SweepReport:
    expired_leases: int
    stale_queued: int
    finished_batches: int


def sweep(*, requeue_queued_after_s: int) -> SweepReport:
    with session_scope() as session:
        expired = session.execute(_EXPIRED_LEASES).scalars().all()
        stale = session.execute(_STALE_QUEUED, {"age_s": requeue_queued_after_s}).scalars().all()
        finished = session.execute(_FINISH_IDLE_BATCHES).scalars().all()
    report = SweepReport(len(expired), len(stale), len(finished))
    if expired or stale or finished:
        log_event(
            logger,
            "swept",
            expired_leases=report.expired_leases,
            stale_queued=report.stale_queued,
            finished_batches=report.finished_batches,
        )
    return report


@contextmanager
def exclusive_sweep() -> Iterator[bool]:
    """Hold the sweep's advisory lock while the block runs; yields False if another sweeper has
    it. The lock belongs to the connection, so a sweeper that dies frees it with its socket."""
    with get_engine().connect() as conn:
        held = bool(
            conn.execute(
                text("SELECT pg_try_advisory_lock(:id)"), {"id": SWEEP_LOCK_ID}
            ).scalar_one()
        )
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": SWEEP_LOCK_ID})
                conn.commit()


def requeue_age_s(client: redis.Redis, configured_s: int) -> int:
    """How old a queued job's message must be to be sent again: 0 when Redis lost its data
    since the last sweep (then no message survived), else the configured age. A first sweep
    ever also reads 0; re-sending a live message is harmless, its job is claimed once."""
    return configured_s if client.exists(QUEUES_MARK_KEY) else 0


def mark_queues(client: redis.Redis) -> None:
    """After a sweep has handed back what Redis lost, note that this Redis has been swept."""
    client.set(QUEUES_MARK_KEY, "1")

"""Celery tasks: thin wrappers around the feeder and the executor."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from worker import runtime
from worker.budget_release import release_waiting
from worker.calls import utc_now
from worker.celery_app import app
from worker.dispatch import feed
from worker.domain.config import load_config
from worker.domain.constants import DISPATCH_TASK, FEED_LOCK_KEY, RUN_CHUNK_TASK, SWEEP_TASK
from worker.domain.log import log_event
from worker.redis_layer import sync_client
from worker.shutdown import StopWatch
from worker.sweeper import exclusive_sweep, mark_queues, requeue_age_s
from worker.sweeper import sweep as sweep_abandoned
from worker.webhooks import deliver_due

logger = logging.getLogger("sluice.tasks")

FEED_LOCK_S = 10  #: a feeder that died holding the lock frees it after this long


def _send_chunk(job_ids: list[int], queue: str) -> None:
    run_chunk.apply_async(args=[job_ids], queue=queue)


def feed_queues() -> int:
    """Top up the provider queues; one feeder at a time, the others skip (it is fed anyway)."""
    client = sync_client()
    lock = client.lock(FEED_LOCK_KEY, timeout=FEED_LOCK_S, blocking=False)
    if not lock.acquire():
        return 0
    try:
        return feed(load_config(), send=_send_chunk, backlog=lambda queue: int(client.llen(queue)))
    finally:
        lock.release()


@app.task(name=DISPATCH_TASK)
def dispatch(batch_id: str | None = None) -> int:
    """Wake-up after a submission: feed the provider queues."""
    return feed_queues()


@app.task(name=RUN_CHUNK_TASK, bind=True)
def run_chunk(self: Task, job_ids: list[int]) -> dict[str, Any]:
    """Run the still-queued jobs among ``job_ids``, record them, then refill the queues."""
    executor = runtime.executor()
    stop = StopWatch(executor.caller.limiter.client, self.request.hostname or "")
    report = runtime.run(executor.run_chunk(job_ids, stop=stop))
    log_event(
        logger,
        "chunk_done",
        batch=",".join(report.batch_ids) or "-",
        jobs=len(job_ids),
        claimed=report.claimed,
        written=report.written,
    )
    fed = feed_queues()
    return {"claimed": report.claimed, "written": report.written, "fed": fed}


@app.task(name=SWEEP_TASK)
def sweep() -> int:
    """Periodic safety net: hand back abandoned work, then feed what no wake-up reached.
    One sweep at a time across the cluster; a second beat's turn is skipped."""
    config = load_config()
    client = sync_client()
    with exclusive_sweep() as held:
        if not held:
            log_event(logger, "sweep_skipped", reason="another sweeper holds the lock")
            return 0
        age_s = requeue_age_s(client, config.worker.requeue_queued_after_s)
        sweep_abandoned(requeue_queued_after_s=age_s)
        mark_queues(client)  # only once the lost messages' jobs are pending again
        release_waiting(config, client, utc_now())
        deliver_due()
    return feed_queues()

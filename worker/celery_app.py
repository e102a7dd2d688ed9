"""The Celery application: broker, queues and the delivery settings Sluice relies on.

Postgres is the source of truth; a message is only a wake-up naming job ids. Hence:
- ``task_acks_late`` + prefetch 1: a message is acked after its chunk ran, and a worker holds
  at most one unstarted chunk, so a crash strands little;
- ``task_reject_on_worker_lost``: a chunk whose process was killed goes back to the queue;
  re-delivery is safe because a claim takes only jobs still ``queued`` or whose lease expired,
  and the sweeper hands back expired leases anyway;
- a visibility timeout of an hour (or four leases, if ``lease_s`` is set above 15 minutes),
  far above any lease and any chunk's usual run time, so Redis does not re-deliver a chunk
  that is still running: the lease (renewed by a heartbeat), not the broker, decides when work
  is abandoned. A re-delivery anyway would claim nothing still leased;
- ``worker_cancel_long_running_tasks_on_connection_loss``: after a broker reconnect, running
  chunks are re-delivered rather than finishing into an unacked, forgotten message.
"""

from __future__ import annotations

import redis
from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown, worker_shutting_down

from worker.domain.config import WorkerConfig, load_config
from worker.domain.constants import DISPATCH_QUEUE, SWEEP_TASK
from worker.domain.db import dispose_engines
from worker.domain.settings import get_settings

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"  #: used only when SLUICE_REDIS_URL is unset
MIN_VISIBILITY_TIMEOUT_S = 3600  #: unacked messages return to the queue after this long...
VISIBILITY_LEASES = 4  #: ...or after this many leases, if that is longer


def visibility_timeout_s(worker: WorkerConfig) -> int:
    return max(MIN_VISIBILITY_TIMEOUT_S, VISIBILITY_LEASES * worker.lease_s)


def create_app() -> Celery:
    settings = get_settings()
    config = load_config()
    broker = settings.redis_url or DEFAULT_REDIS_URL
    app = Celery("sluice", broker=broker, include=["worker.tasks"])
    app.conf.update(
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_default_queue=DISPATCH_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": visibility_timeout_s(config.worker)},
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_connection_retry_on_startup=True,
        beat_schedule={"sweep": {"task": SWEEP_TASK, "schedule": config.worker.sweep_interval_s}},
        beat_schedule_filename=str(settings.home / "celerybeat-schedule"),
    )
    return app


app = create_app()


@worker_shutting_down.connect
def _announce_stop(sender: str, **_: object) -> None:
    """SIGTERM in the main process: tell the running chunks how long they have."""
    from worker.redis_layer import sync_client
    from worker.shutdown import announce_stop

    try:
        announce_stop(sync_client(), sender, load_config().worker.shutdown_grace_s)
    except redis.RedisError:
        pass  # chunks then finish normally; leases cover anything a later SIGKILL cuts


@worker_process_init.connect
def _fresh_process(**_: object) -> None:
    from worker import runtime

    dispose_engines()
    runtime.reset()


@worker_process_shutdown.connect
def _close_process(**_: object) -> None:
    from worker import runtime

    runtime.shutdown()

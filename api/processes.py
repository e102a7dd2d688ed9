"""Starting the long-running processes: Celery workers and beat."""

from __future__ import annotations

import os

from worker.domain.config import load_config
from worker.domain.constants import DISPATCH_QUEUE, provider_queue


def default_queues() -> list[str]:
    """The dispatcher's queue and one queue per configured provider."""
    return [DISPATCH_QUEUE, *(provider_queue(name) for name in load_config().providers)]


def run_worker(*, queues: str | None, concurrency: int, loglevel: str) -> None:
    from worker.celery_app import app

    chosen = queues or ",".join(default_queues())
    app.worker_main(
        argv=[
            "worker",
            f"--queues={chosen}",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "--pool=prefork",
            f"--hostname=sluice-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def run_beat(*, loglevel: str) -> None:
    from worker.celery_app import app

    app.Beat(loglevel=loglevel).run()

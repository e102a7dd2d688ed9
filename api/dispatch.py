"""Wakes the dispatcher for a stored batch, by task name, without importing worker internals."""

from __future__ import annotations

import uuid
from functools import lru_cache

from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError

from worker.domain.constants import DISPATCH_QUEUE, DISPATCH_TASK
from worker.domain.errors import ServiceUnavailable
from worker.domain.settings import get_settings

#: kombu's publish retries: a brief Redis hiccup is ridden out, a dead Redis is reported fast
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
PING_TIMEOUT_S = 0.5  #: how long one ping waits for workers to answer
PING_RETRY_S = 0.2  #: pause before pinging an unreachable broker again


@lru_cache(maxsize=2)
def _client(broker_url: str) -> Celery:
    client = Celery("sluice-client", broker=broker_url)
    client.conf.broker_connection_retry_on_startup = False
    client.conf.broker_transport_options = {"max_retries": 1}
    return client


def enqueue_dispatch(batch_id: uuid.UUID) -> None:
    """Ask a worker to route the batch. The batch is already safe in Postgres either way."""
    url = get_settings().redis_url
    if not url:
        raise ServiceUnavailable("SLUICE_REDIS_URL is not set")
    try:
        _client(url).send_task(
            DISPATCH_TASK,
            args=[str(batch_id)],
            queue=DISPATCH_QUEUE,
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
        )
    except (KombuOperationalError, OSError) as err:
        raise ServiceUnavailable(
            f"batch {batch_id} is stored, but Redis could not be reached to start it ({err}); "
            "`sluice beat` dispatches it once Redis is back"
        ) from None


def wait_for_workers(*, timeout_s: float) -> bool:
    """Whether a worker answered a ping within ``timeout_s``."""
    import time

    url = get_settings().redis_url
    if not url:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if _client(url).control.ping(timeout=PING_TIMEOUT_S):
                return True
        except (KombuOperationalError, OSError):
            time.sleep(PING_RETRY_S)
    return False

"""Graceful shutdown of a worker: stop claiming, finish or hand back in-flight jobs in time.

On SIGTERM, Celery's main process stops taking messages and waits for the chunks its pool
children are running. It records a deadline in Redis (``announce_stop``). Each running chunk
watches for it (``StopWatch``): it hands back the jobs it has not started at once, lets calls
already in flight finish until the deadline, then cancels the rest and hands them back too.
"Handing back" makes a job ``pending`` again with no lease, so another worker takes it at
the next feed instead of waiting for the lease to expire.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis
import redis.asyncio as aioredis

from worker.domain.constants import STOPPING_KEY_PREFIX
from worker.domain.log import log_event

logger = logging.getLogger("sluice.shutdown")

STOP_POLL_S = 1.0  #: how often a running chunk checks whether its worker is stopping
STOP_KEY_EXTRA_S = 60  #: the stop notice outlives the grace period by this much


def announce_stop(client: redis.Redis, hostname: str, grace_s: float) -> None:
    """Called in the worker's main process when SIGTERM arrives."""
    deadline = time.time() + grace_s
    client.set(
        f"{STOPPING_KEY_PREFIX}{hostname}", str(deadline), ex=int(grace_s + STOP_KEY_EXTRA_S)
    )
    log_event(logger, "worker_stopping", hostname=hostname, grace_s=grace_s)


class StopWatch:
    """Tells a running chunk when its worker was asked to stop, and by when it must be done."""

    def __init__(self, client: aioredis.Redis, hostname: str) -> None:
        self._client = client
        self._key = f"{STOPPING_KEY_PREFIX}{hostname}"

    async def wait(self) -> float:
        """Return the stop deadline (unix time) once the worker is stopping."""
        while True:
            try:
                raw = await self._client.get(self._key)
            except redis.RedisError:
                raw = None  # Redis away: keep working; SIGKILL and leases still cover us
            if raw is not None:
                return float(raw)
            await asyncio.sleep(STOP_POLL_S)

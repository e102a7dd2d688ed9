"""The reference of bench/ratelimit.py: plain Celery with its own per-worker `rate_limit`.

One task per item makes one call with the official `anthropic` SDK (sync client, SDK retries
off) and does not retry a 429: the simulator's log counts it. Celery enforces `rate_limit` in
each worker separately (a token bucket of capacity 1 per task type per worker), so an operator
who runs N workers against a shared limit sets limit ÷ N on each. Nothing is shared between the
workers, which is the point of the comparison.

Run by bench/ratelimit.py as
``python -m celery -A bench._celery_reference worker --pool threads -c 64 -Q bench.reference``
with these environment variables: ``BENCH_REF_BROKER`` (the Redis URL), ``BENCH_REF_RATE_LIMIT``
(Celery's syntax, e.g. ``750.00/m``), and the SDK's own ``ANTHROPIC_BASE_URL`` and
``ANTHROPIC_API_KEY``.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import anthropic
from celery import Celery

BROKER_ENV = "BENCH_REF_BROKER"  #: the broker's Redis URL
RATE_LIMIT_ENV = "BENCH_REF_RATE_LIMIT"  #: per-worker rate limit in Celery's syntax
DEFAULT_BROKER = "redis://127.0.0.1:6379/14"  #: the benchmark's Redis database
QUEUE = "bench.reference"  #: the only queue the reference uses
TASK_NAME = "bench.reference.call"  #: one provider call per message
CALL_TIMEOUT_S = 60.0  #: as Sluice's default provider timeout

app = Celery("bench_reference", broker=os.environ.get(BROKER_ENV, DEFAULT_BROKER))
app.conf.update(
    task_ignore_result=True,
    task_default_queue=QUEUE,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
)


@cache
def _client() -> anthropic.Anthropic:
    """One client per worker process; httpx's pool is shared safely by the pool's threads."""
    return anthropic.Anthropic(max_retries=0, timeout=CALL_TIMEOUT_S)


@app.task(name=TASK_NAME, rate_limit=os.environ.get(RATE_LIMIT_ENV))
def call(kwargs: dict[str, Any]) -> str:
    """Send one Messages request; a 429 is only counted (by the simulator), never retried."""
    try:
        _client().messages.create(**kwargs)
    except anthropic.RateLimitError:
        return "rate_limited"
    return "ok"

"""Batch-completion webhooks: a signed POST to the batch's callback_url when it ends.

The delivery state lives on the batch in Postgres, so a lost Redis or a dead worker loses no
webhook: the sweeper sends what is due each time it runs, retrying failures with exponential
backoff, and records every try in ``webhook_deliveries``. A row lock (SKIP LOCKED) held during
the POST keeps two sweepers from delivering the same webhook at once.

Each POST carries ``X-Sluice-Signature: sha256=<hex>``, an HMAC-SHA256 of
``"<X-Sluice-Timestamp>.<body>"`` under ``SLUICE_WEBHOOK_SECRET``; receivers recompute it and
reject stale timestamps. The secret is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import httpx
from sqlalchemy import text

from worker.domain.batches import get_batch
from worker.domain.db import session_scope
from worker.domain.log import log_event
from worker.domain.settings import get_settings

logger = logging.getLogger("sluice.webhooks")

MAX_TRIES = 8  #: after this many failed tries a webhook is marked failed
FIRST_RETRY_S = 5.0  #: the wait after the first failure; it doubles each time
MAX_RETRY_S = 3600.0  #: the longest wait between two tries
TIMEOUT_S = 10.0  #: one POST may take this long
DUE_PER_SWEEP = 20  #: webhooks sent per sweep at most
MAX_ERROR_CHARS = 300  #: how much of a failure is recorded

_DUE = text(
    """
    SELECT id, callback_url, webhook_attempts FROM batches
     WHERE webhook_status = 'pending' AND webhook_next_at <= now()
     ORDER BY webhook_next_at
     LIMIT :limit
     FOR UPDATE SKIP LOCKED
    """
)
_RECORD_TRY = text(
    """
    INSERT INTO webhook_deliveries (batch_id, attempt, status_code, error, duration_ms)
    VALUES (:batch_id, :attempt, :status_code, :error, :duration_ms)
    """
)
_UPDATE = text(
    """
    UPDATE batches SET webhook_status = :status, webhook_attempts = :attempts,
                       webhook_next_at = now() + make_interval(secs => :wait_s)
     WHERE id = :id
    """
)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def payload(batch: Any) -> dict[str, Any]:
    base = get_settings().public_url.rstrip("/")
    return {
        "event": "batch.completed",
        "batch": batch.as_dict(),
        "results_url": f"{base}/v1/batches/{batch.id}/results",
    }


def _post(url: str, body: bytes, secret: str) -> tuple[int | None, str | None, int]:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "sluice-webhooks",
        "X-Sluice-Timestamp": timestamp,
        "X-Sluice-Delivery": uuid.uuid4().hex,
        "X-Sluice-Signature": signature(secret, timestamp, body),
    }
    started = time.perf_counter()
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as err:
        elapsed = round((time.perf_counter() - started) * 1000)
        return None, f"{type(err).__name__}: {err}"[:MAX_ERROR_CHARS], elapsed
    elapsed = round((time.perf_counter() - started) * 1000)
    error = None if response.is_success else f"HTTP {response.status_code}"
    return response.status_code, error, elapsed


def deliver_due() -> int:
    """Send every webhook that is due; returns how many were delivered."""
    secret = get_settings().webhook_secret
    delivered = 0
    with session_scope() as session:
        for batch_id, url, tries in session.execute(_DUE, {"limit": DUE_PER_SWEEP}).all():
            body = json.dumps(payload(get_batch(session, batch_id))).encode()
            if secret:
                status_code, error, duration_ms = _post(url, body, secret)
            else:
                status_code, error, duration_ms = None, "SLUICE_WEBHOOK_SECRET is not set", 0
            attempt = tries + 1
            session.execute(
                _RECORD_TRY,
                {
                    "batch_id": batch_id,
                    "attempt": attempt,
                    "status_code": status_code,
                    "error": error,
                    "duration_ms": duration_ms,
                },
            )
            state = (
                "delivered" if error is None else ("failed" if attempt >= MAX_TRIES else "pending")
            )
            wait_s = min(FIRST_RETRY_S * 2 ** (attempt - 1), MAX_RETRY_S)
            session.execute(
                _UPDATE, {"id": batch_id, "status": state, "attempts": attempt, "wait_s": wait_s}
            )
            delivered += error is None
            log_event(
                logger,
                "webhook_try",
                batch=batch_id,
                attempt=attempt,
                status=state,
                http=status_code or "-",
            )
    return delivered

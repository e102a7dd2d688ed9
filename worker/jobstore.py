"""The workers' reads and writes of jobs in Postgres: claim under a lease, record outcomes.

A claim and its lease are one statement (``FOR UPDATE SKIP LOCKED``), so two workers never
run the same job at once. An outcome is written only while the writer still holds the job's
lease token, and its attempts are inserted in the same transaction: a result and its cost are
recorded once, even if a slow worker wakes up after its lease was handed to another.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.orm import Session

from worker.domain.db import session_scope
from worker.domain.models import Attempt
from worker.domain.states import JobState


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    batch_id: uuid.UUID
    task: str
    text: str
    payload: dict[str, Any] | None
    params: dict[str, Any]
    lease_token: uuid.UUID
    tenant: str | None = None
    budget_usd: Decimal | None = None  #: the batch's own budget


@dataclass(slots=True)
class AttemptRecord:
    """One provider call, as stored in ``attempts``."""

    provider: str
    model: str
    started_at: dt.datetime
    latency_ms: int
    status_code: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    provider_request_id: str | None = None
    done: bool = False  #: the call has returned or failed; the record is final


@dataclass(slots=True)
class JobOutcome:
    job: ClaimedJob
    state: JobState
    provider: str | None = None
    model: str | None = None
    label: str | None = None
    output: Any = None
    error_code: str | None = None
    error_message: str | None = None
    attempts: list[AttemptRecord] = field(default_factory=list)
    persisted_attempts: int = 0  #: how many of ``attempts`` are already in Postgres
    waiting_on: str | None = None  #: the budget a waiting_budget job waits for
    budget_need_usd: Decimal | None = None  #: the reservation that did not fit


_CLAIM = text(
    """
    UPDATE jobs AS j
       SET state = 'running',
           lease_token = :token,
           leased_until = now() + make_interval(secs => :lease_s),
           started_at = coalesce(j.started_at, now())
      FROM (SELECT id FROM jobs
             WHERE id = ANY(:ids)
               AND (state = 'queued' OR (state = 'running' AND leased_until < now()))
             ORDER BY id
             FOR UPDATE SKIP LOCKED) AS c, batches AS b
     WHERE j.id = c.id AND b.id = j.batch_id
    RETURNING j.id, j.batch_id, b.task, j.text, j.payload, b.params, b.tenant, b.budget_usd
    """
).bindparams(bindparam("ids", type_=ARRAY(BIGINT)))


def claim_jobs(job_ids: Sequence[int], *, lease_s: int) -> list[ClaimedJob]:
    """Take the still-queued jobs among ``job_ids`` under one new lease token."""
    token = uuid.uuid4()
    with session_scope() as session:
        rows = session.execute(
            _CLAIM, {"ids": list(job_ids), "token": token, "lease_s": lease_s}
        ).all()
    return [
        ClaimedJob(
            id=row.id,
            batch_id=row.batch_id,
            task=row.task,
            text=row.text,
            payload=row.payload,
            params=row.params or {},
            lease_token=token,
            tenant=row.tenant,
            budget_usd=row.budget_usd,
        )
        for row in rows
    ]


_RECORD = text(
    """
    UPDATE jobs AS j
       SET state = v.state,
           provider = v.provider,
           model = v.model,
           label = v.label,
           output = v.output::jsonb,
           error_code = v.error_code,
           error_message = v.error_message,
           waiting_on = v.waiting_on,
           budget_need_usd = v.budget_need_usd,
           input_tokens = j.input_tokens + v.input_tokens,
           output_tokens = j.output_tokens + v.output_tokens,
           cached_input_tokens = j.cached_input_tokens + v.cached_input_tokens,
           cost_usd = j.cost_usd + v.cost_usd,
           attempt_count = j.attempt_count + v.attempt_count,
           finished_at = CASE WHEN v.state IN ('succeeded', 'failed', 'canceled')
                              THEN now() END,
           result_token = CASE WHEN v.state IN ('succeeded', 'failed', 'canceled')
                               THEN v.token END,
           lease_token = NULL,
           leased_until = NULL
      FROM unnest(
             CAST(:ids AS bigint[]), CAST(:tokens AS uuid[]), CAST(:states AS text[]),
             CAST(:providers AS text[]), CAST(:models AS text[]), CAST(:labels AS text[]),
             CAST(:outputs AS text[]), CAST(:error_codes AS text[]),
             CAST(:error_messages AS text[]), CAST(:input_tokens AS int[]),
             CAST(:output_tokens AS int[]), CAST(:cached_input_tokens AS int[]),
             CAST(:costs AS numeric[]), CAST(:attempt_counts AS int[]),
             CAST(:waiting_on AS text[]), CAST(:budget_needs AS numeric[])
           ) AS v(id, token, state, provider, model, label, output, error_code, error_message,
                  input_tokens, output_tokens, cached_input_tokens, cost_usd, attempt_count,
                  waiting_on, budget_need_usd)
     WHERE j.id = v.id AND j.lease_token = v.token AND j.state = 'running'
    RETURNING j.id
    """
)

_LOCK_BATCHES = text("SELECT id FROM batches WHERE id = ANY(:ids) ORDER BY id FOR UPDATE")

_FINISH_BATCHES = text(
    """
    UPDATE batches AS b
       SET status = CASE WHEN b.status = 'canceled' THEN 'canceled' ELSE 'completed' END,
           completed_at = now(),
           webhook_status = CASE WHEN b.callback_url IS NOT NULL THEN 'pending' END,
           webhook_next_at = CASE WHEN b.callback_url IS NOT NULL THEN now() END
     WHERE b.id = ANY(:ids) AND b.completed_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM jobs j
                        WHERE j.batch_id = b.id
                          AND j.state IN ('pending', 'queued', 'running', 'waiting_budget'))
    RETURNING b.id
    """
)


def _text(value: str | None) -> str | None:
    """Postgres text cannot hold NUL; a model or provider may still send one."""
    return None if value is None else value.replace("\x00", "")


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value).replace("\\u0000", "")


def _sum(outcome: JobOutcome, name: str) -> int:
    return sum(getattr(attempt, name) for attempt in outcome.attempts)


def _columns(outcomes: Sequence[JobOutcome]) -> dict[str, list[Any]]:
    return {
        "ids": [o.job.id for o in outcomes],
        "tokens": [o.job.lease_token for o in outcomes],
        "states": [str(o.state) for o in outcomes],
        "providers": [o.provider for o in outcomes],
        "models": [o.model for o in outcomes],
        "labels": [o.label for o in outcomes],
        "outputs": [_json_text(o.output) for o in outcomes],
        "error_codes": [o.error_code for o in outcomes],
        "error_messages": [_text(o.error_message) for o in outcomes],
        "input_tokens": [_sum(o, "input_tokens") for o in outcomes],
        "output_tokens": [_sum(o, "output_tokens") for o in outcomes],
        "cached_input_tokens": [_sum(o, "cached_input_tokens") for o in outcomes],
        "costs": [sum((a.cost_usd for a in o.attempts), Decimal(0)) for o in outcomes],
        "attempt_counts": [len(o.attempts) for o in outcomes],
        "waiting_on": [o.waiting_on for o in outcomes],
        "budget_needs": [o.budget_need_usd for o in outcomes],
    }


PendingAttempt = tuple[ClaimedJob, AttemptRecord]  #: a finished call not yet in Postgres


def new_attempts(outcome: JobOutcome) -> list[PendingAttempt]:
    """The outcome's finished calls that are not stored yet, in order."""
    pending = []
    for record in outcome.attempts[outcome.persisted_attempts :]:
        if not record.done:
            break
        pending.append((outcome.job, record))
    return pending


def record(
    attempts: Sequence[PendingAttempt], outcomes: Sequence[JobOutcome]
) -> tuple[set[int], set[uuid.UUID]]:
    """Store calls and job results in one transaction; returns (jobs written, batches finished).

    Every call is stored, whoever made it: it was paid for, and the budget ledger is the sum of
    these rows. A job's result is written only while its writer holds the job's lease, so each
    job is recorded once even when a slow worker wakes up after its lease was handed on.
    """
    if not attempts and not outcomes:
        return set(), set()
    with session_scope() as session:
        return record_in(session, attempts, outcomes)


def record_in(
    session: Session, attempts: Sequence[PendingAttempt], outcomes: Sequence[JobOutcome]
) -> tuple[set[int], set[uuid.UUID]]:
    """``record`` inside the caller's transaction."""
    if attempts:
        rows = [
            {
                "job_id": job.id,
                "batch_id": job.batch_id,
                "lease_token": job.lease_token,
                **_attempt_row(a),
            }
            for job, a in attempts
        ]
        session.execute(insert(Attempt), rows)
    if not outcomes:
        return set(), set()
    written = set(session.execute(_RECORD, _columns(outcomes)).scalars())
    batch_ids = sorted({o.job.batch_id for o in outcomes if o.job.id in written})
    if not batch_ids:
        return written, set()
    # serialise the "was that the last job?" check per batch: without the row lock, two writers
    # finishing a batch's last jobs at once would each still see the other's job running
    session.execute(_LOCK_BATCHES, {"ids": batch_ids})
    return written, set(session.execute(_FINISH_BATCHES, {"ids": batch_ids}).scalars())


def record_outcomes(outcomes: Sequence[JobOutcome]) -> tuple[set[int], set[uuid.UUID]]:
    """Store finished jobs together with whichever of their calls are not stored yet."""
    pending = [attempt for outcome in outcomes for attempt in new_attempts(outcome)]
    result = record(pending, outcomes)
    for outcome in outcomes:
        outcome.persisted_attempts = len(outcome.attempts)
    return result


def _attempt_row(record: AttemptRecord) -> dict[str, Any]:
    return {
        "provider": record.provider,
        "model": record.model,
        "status_code": record.status_code,
        "error_type": record.error_type,
        "error_message": _text(record.error_message),
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cached_input_tokens": record.cached_input_tokens,
        "cache_write_tokens": record.cache_write_tokens,
        "cost_usd": record.cost_usd,
        "latency_ms": record.latency_ms,
        "provider_request_id": record.provider_request_id,
        "started_at": record.started_at,
    }


_EXTEND = text(
    """
    UPDATE jobs SET leased_until = now() + make_interval(secs => :lease_s)
     WHERE id = ANY(:ids) AND lease_token = :token AND state = 'running'
    """
).bindparams(bindparam("ids", type_=ARRAY(BIGINT)))


def extend_leases(job_ids: Sequence[int], *, token: uuid.UUID, lease_s: int) -> int:
    """Heartbeat: keep the leases of jobs still being worked on; returns how many were kept."""
    if not job_ids:
        return 0
    with session_scope() as session:
        result = session.execute(
            _EXTEND, {"ids": list(job_ids), "token": token, "lease_s": lease_s}
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


_HAND_BACK = text(
    """
    UPDATE jobs SET state = 'pending', lease_token = NULL, leased_until = NULL, queued_at = NULL
     WHERE id = ANY(:ids) AND lease_token = :token AND state = 'running'
    """
).bindparams(bindparam("ids", type_=ARRAY(BIGINT)))


def hand_back(job_ids: Sequence[int], *, token: uuid.UUID) -> int:
    """Give unfinished jobs back (the worker is stopping) so the feeder sends them again now."""
    if not job_ids:
        return 0
    with session_scope() as session:
        result = session.execute(_HAND_BACK, {"ids": list(job_ids), "token": token})
        return int(result.rowcount)  # type: ignore[attr-defined]

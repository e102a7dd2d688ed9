"""Claims, leases and recording in Postgres: each job recorded once, every paid call kept,
and a batch finished exactly when its last job is, even when two writers race for it."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from simulator.testing import SimHandle
from tests.worker.conftest import attempt_rows, job_rows, make_config, queue_batch
from worker.domain.db import get_engine, session_scope
from worker.domain.states import JobState
from worker.jobstore import (
    AttemptRecord,
    JobOutcome,
    claim_jobs,
    extend_leases,
    record_in,
    record_outcomes,
)


def _expire(job_ids: list[int]) -> None:
    with session_scope() as session:
        session.execute(
            text("UPDATE jobs SET leased_until = now() - interval '1 second' WHERE id = ANY(:ids)"),
            {"ids": job_ids},
        )


def _paid_attempt(cost: str = "0.001") -> AttemptRecord:
    return AttemptRecord(
        provider="anthropic",
        model="claude-haiku-5-5",
        started_at=dt.datetime.now(dt.UTC),
        latency_ms=5,
        input_tokens=10,
        output_tokens=2,
        cost_usd=Decimal(cost),
        done=True,
    )


def test_an_expired_lease_can_be_claimed_again_and_the_old_holder_cannot_write(
    db: str, sdk_env: SimHandle
) -> None:
    job_ids = queue_batch(make_config(), ["a [[label:other]]"])
    (old,) = claim_jobs(job_ids, lease_s=60)
    assert claim_jobs(job_ids, lease_s=60) == []  # leased: nobody else may take it
    _expire(job_ids)

    (new,) = claim_jobs(job_ids, lease_s=60)
    zombie = JobOutcome(
        job=old, state=JobState.succeeded, label="other", attempts=[_paid_attempt("0.002")]
    )
    holder = JobOutcome(
        job=new, state=JobState.succeeded, label="billing", attempts=[_paid_attempt("0.001")]
    )

    assert record_outcomes([zombie]) == (set(), set())
    written, finished = record_outcomes([holder])

    assert written == set(job_ids) and len(finished) == 1
    (job,) = job_rows(job_ids)
    assert (job.label, job.cost_usd, job.attempt_count) == ("billing", Decimal("0.001"), 1)
    # the zombie's call was paid for, so the ledger keeps it
    assert sorted(a.cost_usd for a in attempt_rows(job_ids)) == [Decimal("0.001"), Decimal("0.002")]


def test_heartbeat_extends_only_leases_still_held(db: str, sdk_env: SimHandle) -> None:
    job_ids = queue_batch(make_config(), ["a", "b"])
    claimed = claim_jobs(job_ids, lease_s=5)
    token = claimed[0].lease_token
    record_outcomes([JobOutcome(job=claimed[0], state=JobState.succeeded, label="x")])

    assert extend_leases(job_ids, token=token, lease_s=600) == 1
    assert extend_leases(job_ids, token=uuid.uuid4(), lease_s=600) == 0
    first, second = job_rows(job_ids)
    assert first.leased_until is None
    assert (second.leased_until - second.started_at).total_seconds() > 500


def test_the_last_two_jobs_written_concurrently_still_finish_the_batch(
    db: str, sdk_env: SimHandle
) -> None:
    job_ids = queue_batch(make_config(), ["a", "b"])
    first, second = claim_jobs(job_ids, lease_s=60)
    engine = get_engine()
    with Session(engine) as one, Session(engine) as two:
        _, finished_one = record_in(
            one, [], [JobOutcome(job=first, state=JobState.succeeded, label="x")]
        )
        assert finished_one == set()  # the other job is still running as far as it can see
        result: dict[str, set[uuid.UUID]] = {}

        def write_second() -> None:  # blocks on the batch row until `one` commits
            result["finished"] = record_in(
                two, [], [JobOutcome(job=second, state=JobState.succeeded, label="y")]
            )[1]
            two.commit()

        thread = threading.Thread(target=write_second)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waiting for the lock, not deciding on a stale view
        one.commit()
        thread.join(timeout=10)
    assert result["finished"] == {first.batch_id}
    with session_scope() as session:
        status = session.execute(text("SELECT status FROM batches")).scalar_one()
    assert status == "completed"


def test_nul_characters_in_outputs_and_errors_are_stored_without_them(
    db: str, sdk_env: SimHandle
) -> None:
    job_ids = queue_batch(make_config(), ["a", "b"])
    ok, bad = claim_jobs(job_ids, lease_s=60)
    outcomes = [
        JobOutcome(job=ok, state=JobState.succeeded, label="x", output={"note": "a\x00b"}),
        JobOutcome(job=bad, state=JobState.failed, error_code="e", error_message="bad\x00byte"),
    ]

    written, _ = record_outcomes(outcomes)

    assert written == set(job_ids)
    first, second = job_rows(job_ids)
    assert first.output == {"note": "ab"}
    assert second.error_message == "badbyte"

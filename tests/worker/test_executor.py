"""The executor against real Postgres and the simulator: routes, fallbacks, re-asks, leases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from simulator.testing import SimHandle
from tests.worker.conftest import attempt_rows, job_rows, make_config, queue_batch, run_chunk
from worker.domain.db import session_scope
from worker.domain.states import JobState
from worker.jobstore import JobOutcome, claim_jobs, record_outcomes


def test_label_outside_the_set_is_asked_again_once_then_fails_invalid_output(
    db: str, sdk_env: SimHandle
) -> None:
    config = make_config()
    (job_id,) = queue_batch(config, ["Where is my parcel? [[label:nonsense]]"])

    run_chunk(config, [job_id])

    (job,) = job_rows([job_id])
    assert job.state == "failed"
    assert job.error_code == "invalid_output"
    assert "nonsense" in job.error_message
    attempts = attempt_rows([job_id])
    assert [a.error_type for a in attempts] == ["invalid_output", "invalid_output"]
    # both answers were billed, so both are costed
    assert all(a.cost_usd > 0 for a in attempts)
    assert job.cost_usd == sum(a.cost_usd for a in attempts)
    assert job.attempt_count == 2


def test_missing_key_falls_back_to_the_next_model_without_a_call(
    db: str, sdk_env: SimHandle
) -> None:
    def no_anthropic_key(data: dict[str, Any]) -> None:
        data["providers"]["anthropic"]["api_key_env"] = "SLUICE_TEST_UNSET_KEY"

    config = make_config(no_anthropic_key)
    (job_id,) = queue_batch(config, ["Card declined twice [[label:billing]]"])

    run_chunk(config, [job_id])

    (job,) = job_rows([job_id])
    assert (job.state, job.label, job.model, job.provider) == (
        "succeeded",
        "billing",
        "gpt-5.4-nano",
        "openai",
    )
    assert [(a.model, a.error_type) for a in attempt_rows([job_id])] == [("gpt-5.4-nano", None)]


def test_unreachable_primary_is_retried_then_the_fallback_answers(
    db: str, sdk_env: SimHandle
) -> None:
    def dead_anthropic(data: dict[str, Any]) -> None:
        data["providers"]["anthropic"]["base_url"] = "http://127.0.0.1:9"  # discard port

    config = make_config(dead_anthropic, attempts_per_model=3)
    (job_id,) = queue_batch(config, ["App crashes on login [[label:technical]]"])

    run_chunk(config, [job_id])

    (job,) = job_rows([job_id])
    assert (job.state, job.label, job.model) == ("succeeded", "technical", "gpt-5.4-nano")
    attempts = attempt_rows([job_id])
    assert [a.error_type for a in attempts] == ["connection_error"] * 3 + [None]
    assert all(a.cost_usd == 0 for a in attempts[:3])


def test_when_every_model_fails_the_job_fails_with_the_last_error(
    db: str, sdk_env: SimHandle
) -> None:
    sdk_env.update_config(error_500_rate=1.0)
    config = make_config(attempts_per_model=2)
    (job_id,) = queue_batch(config, ["Anything [[label:other]]"])

    run_chunk(config, [job_id])

    (job,) = job_rows([job_id])
    assert job.state == "failed"
    assert job.error_code in {"api_error", "server_error"}
    assert job.error_message.startswith("every model in the route failed")
    attempts = attempt_rows([job_id])
    assert [a.model for a in attempts] == ["claude-haiku-5-5"] * 2 + ["gpt-5.4-nano"] * 2
    assert {a.status_code for a in attempts} == {500}


def test_a_worker_that_lost_its_lease_records_nothing(db: str, sdk_env: SimHandle) -> None:
    config = make_config()
    job_ids = queue_batch(config, ["one [[label:billing]]", "two [[label:account]]"])
    claimed = claim_jobs(job_ids, lease_s=60)
    assert [job.id for job in claimed] == job_ids
    # another worker takes the first job over (its lease expired and it was re-claimed)
    with session_scope() as session:
        session.execute(
            text("UPDATE jobs SET lease_token = gen_random_uuid() WHERE id = :id"),
            {"id": job_ids[0]},
        )
    outcomes = [JobOutcome(job=job, state=JobState.succeeded, label="billing") for job in claimed]

    written, _ = record_outcomes(outcomes)

    assert written == {job_ids[1]}
    first, second = job_rows(job_ids)
    assert (first.state, first.label) == ("running", None)
    assert (second.state, second.label) == ("succeeded", "billing")


def test_a_job_is_claimed_by_one_chunk_only(db: str, sdk_env: SimHandle) -> None:
    config = make_config()
    job_ids = queue_batch(config, [f"ticket {i} [[label:other]]" for i in range(10)])
    first = claim_jobs(job_ids, lease_s=60)
    second = claim_jobs(job_ids, lease_s=60)

    assert len(first) == 10
    assert second == []
    report = run_chunk(config, job_ids)  # a re-delivered message finds nothing to do
    assert report.claimed == 0
    assert sdk_env.log() == []

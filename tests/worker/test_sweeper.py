"""The sweeper hands back abandoned work (expired leases, lost messages) and finishes batches;
running two at once is harmless."""

from __future__ import annotations

import threading

import redis
from sqlalchemy import text

from simulator.testing import SimHandle
from tests.worker.conftest import job_rows, make_config, queue_batch
from worker.domain.constants import QUEUES_MARK_KEY
from worker.domain.db import session_scope
from worker.jobstore import claim_jobs
from worker.sweeper import SweepReport, exclusive_sweep, mark_queues, requeue_age_s, sweep


def test_expired_leases_and_stale_queued_jobs_go_back_to_pending(
    db: str, sdk_env: SimHandle
) -> None:
    job_ids = queue_batch(make_config(), ["a", "b", "c", "d"])
    claim_jobs(job_ids[:2], lease_s=60)
    with session_scope() as session:
        session.execute(
            text("UPDATE jobs SET leased_until = now() - interval '1 s' WHERE id = :id"),
            {"id": job_ids[0]},
        )
        session.execute(
            text("UPDATE jobs SET queued_at = now() - interval '20 minutes' WHERE id = :id"),
            {"id": job_ids[2]},
        )

    report = sweep(requeue_queued_after_s=600)

    assert report == SweepReport(expired_leases=1, stale_queued=1, finished_batches=0)
    assert [job.state for job in job_rows(job_ids)] == ["pending", "running", "pending", "queued"]
    assert job_rows(job_ids)[0].lease_token is None


def test_a_batch_whose_jobs_all_ended_is_finished(db: str, sdk_env: SimHandle) -> None:
    job_ids = queue_batch(make_config(), ["a"])
    with session_scope() as session:
        session.execute(text("UPDATE jobs SET state = 'failed' WHERE id = :id"), {"id": job_ids[0]})

    assert sweep(requeue_queued_after_s=600).finished_batches == 1
    assert sweep(requeue_queued_after_s=600).finished_batches == 0
    with session_scope() as session:
        assert session.execute(text("SELECT status FROM batches")).scalar_one() == "completed"


def test_two_sweepers_at_once_hand_each_job_back_once(db: str, sdk_env: SimHandle) -> None:
    job_ids = queue_batch(make_config(), [f"t{i}" for i in range(200)])
    claim_jobs(job_ids, lease_s=60)
    with session_scope() as session:
        session.execute(text("UPDATE jobs SET leased_until = now() - interval '1 s'"))
    reports: list[SweepReport] = []

    threads = [
        threading.Thread(target=lambda: reports.append(sweep(requeue_queued_after_s=600)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r.expired_leases for r in reports) == 200
    assert {job.state for job in job_rows(job_ids)} == {"pending"}


def test_a_second_sweeper_skips_its_turn_while_one_holds_the_lock(
    db: str, sdk_env: SimHandle
) -> None:
    with exclusive_sweep() as first:
        with exclusive_sweep() as second:  # another connection: another sweeper
            assert (first, second) == (True, False)
    with exclusive_sweep() as after:  # released when the first sweep ended
        assert after is True


def test_after_redis_lost_its_data_every_queued_job_goes_back_at_once(
    db: str, sdk_env: SimHandle, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    job_ids = queue_batch(make_config(), ["a", "b"])  # queued a moment ago: messages are fresh
    mark_queues(client)
    assert requeue_age_s(client, 600) == 600
    assert sweep(requeue_queued_after_s=requeue_age_s(client, 600)).stale_queued == 0

    client.delete(QUEUES_MARK_KEY)  # what FLUSHALL or a restart without persistence does

    assert requeue_age_s(client, 600) == 0
    assert sweep(requeue_queued_after_s=requeue_age_s(client, 600)).stale_queued == 2
    assert {job.state for job in job_rows(job_ids)} == {"pending"}

"""Graceful stop of a running chunk: start nothing new, let calls in flight finish until the
deadline, then hand every unfinished job back at once (no waiting for leases to expire)."""

from __future__ import annotations

import asyncio
import time

from simulator.testing import SimHandle
from tests.worker.conftest import attempt_rows, job_rows, make_config, queue_batch
from worker.executor import ChunkReport
from worker.runtime import build_executor


class StopSoon:
    """A StopWatch stand-in: the worker is told to stop after ``after_s``, with ``grace_s``."""

    def __init__(self, *, after_s: float, grace_s: float) -> None:
        self.after_s, self.grace_s = after_s, grace_s

    async def wait(self) -> float:
        await asyncio.sleep(self.after_s)
        return time.time() + self.grace_s


def _run(job_ids: list[int], stop: StopSoon) -> tuple[ChunkReport, float]:
    config = make_config(max_inflight_per_process=3)

    async def main() -> ChunkReport:
        executor = build_executor(config)
        try:
            return await executor.run_chunk(job_ids, stop=stop)  # type: ignore[arg-type]
        finally:
            await executor.aclose()

    started = time.monotonic()
    report = asyncio.run(main())
    return report, time.monotonic() - started


def test_calls_in_flight_finish_within_the_grace_and_the_rest_are_handed_back(
    db: str, sdk_env: SimHandle
) -> None:
    sdk_env.update_config(latency_ms=600)
    job_ids = queue_batch(make_config(), [f"t{i} [[label:other]]" for i in range(10)])

    report, took_s = _run(job_ids, StopSoon(after_s=0.2, grace_s=3.0))

    states = [job.state for job in job_rows(job_ids)]
    assert states.count("succeeded") == 3  # the three in flight finished
    assert states.count("pending") == 7 and report.handed_back == 7
    assert took_s < 2.5  # nobody waited for the seven that had not started
    assert {job.lease_token for job in job_rows(job_ids) if job.state == "pending"} == {None}


def test_at_the_deadline_calls_still_in_flight_are_cut_and_handed_back(
    db: str, sdk_env: SimHandle
) -> None:
    sdk_env.update_config(latency_ms=5000)
    job_ids = queue_batch(make_config(), [f"t{i} [[label:other]]" for i in range(10)])

    report, took_s = _run(job_ids, StopSoon(after_s=0.2, grace_s=0.5))

    assert report.handed_back == 10
    assert {job.state for job in job_rows(job_ids)} == {"pending"}
    assert took_s < 2.5
    cut = [a for a in attempt_rows(job_ids) if a.error_type == "canceled_in_flight"]
    assert len(cut) == 3  # the calls that were cut off are still in the ledger

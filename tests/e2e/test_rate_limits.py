"""Global rate limits with three worker processes against the simulator's own limits.

The simulator enforces RPM 600 and an input-TPM limit that binds first, over strict sliding
60-second windows, and logs every request it saw. Sluice must send no request it refuses."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from simulator import SimConfig
from simulator.testing import running_simulator
from tests.conftest import fast_config, flush_test_redis, write_config
from tests.e2e.conftest import TEST_KEY, Pipeline, stop_process, submit_items, wait_for_batch
from worker.domain.constants import RATE_KEY_PREFIX

RPM = 600
INPUT_TPM = 27_000  #: about 150 of these test requests (179 input tokens each) per minute
WINDOW_S = 60.0
WORKERS = 3
LABELS = ["billing", "technical", "account", "other"]


@pytest.fixture(scope="module")
def limited(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    workdir = tmp_path_factory.mktemp("limits")
    data = fast_config(chunk_size=10)
    data["providers"]["anthropic"]["limits"] = {"rpm": RPM, "input_tpm": INPUT_TPM}
    config_path = write_config(workdir / "sluice.yaml", data)
    flush_test_redis(redis.Redis.from_url(redis_url))
    sim_config = SimConfig(seed=5, latency_ms=100, jitter_ms=50, rpm=RPM, input_tpm=INPUT_TPM)
    with running_simulator(sim_config) as sim:
        env = {
            **os.environ,
            "SLUICE_DATABASE_URL": database_url,
            "SLUICE_REDIS_URL": redis_url,
            "SLUICE_CONFIG": str(config_path),
            "SLUICE_HOME": str(workdir / "home"),
            "ANTHROPIC_BASE_URL": sim.base_url,
            "OPENAI_BASE_URL": sim.openai_base_url,
            "ANTHROPIC_API_KEY": TEST_KEY,
            "OPENAI_API_KEY": TEST_KEY,
        }
        pipe = Pipeline(sim=sim, env=env, config_path=config_path)
        workers = [
            pipe.start_worker(concurrency=1, log=workdir / f"worker{i}.log") for i in range(WORKERS)
        ]
        try:
            yield pipe
        finally:
            for worker in workers:
                stop_process(worker)


@pytest.fixture()
def fresh(limited: Pipeline, db: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    monkeypatch.setenv("SLUICE_CONFIG", str(limited.config_path))
    flush_test_redis(redis.Redis.from_url(redis_url))  # no limiter state from the last test
    limited.sim.reset()
    return limited


def _busiest_window(records: list[dict[str, object]], field: str | None) -> float:
    """The most requests (field=None) or tokens seen in any 60 s window starting at a request."""
    served = sorted((r for r in records if r["status"] != 429), key=lambda r: float(r["ts"]))
    best = 0.0
    for i, first in enumerate(served):
        total = 0.0
        for later in served[i:]:
            if float(later["ts"]) - float(first["ts"]) >= WINDOW_S:
                break
            total += 1 if field is None else float(later[field])  # type: ignore[arg-type]
        best = max(best, total)
    return best


def test_three_workers_stay_within_rpm_and_input_tpm_with_no_429s(fresh: Pipeline) -> None:
    items = [
        (f"r-{i}", f"Ticket {i}: my order #{1000 + i} needs help. [[label:billing]]")
        for i in range(200)
    ]

    batch_id = submit_items("classify", items, LABELS)
    counts = wait_for_batch(batch_id, timeout_s=150)

    assert counts == {"succeeded": 200}
    log = fresh.sim.log()
    assert [r for r in log if r["status"] == 429] == []
    assert _busiest_window(log, None) <= RPM
    busiest_tokens = _busiest_window(log, "input_tokens")
    assert busiest_tokens <= INPUT_TPM
    # the limit bound, and Sluice used it: the first window came close to the limit
    assert busiest_tokens >= 0.9 * INPUT_TPM
    span_s = max(float(r["ts"]) for r in log) - min(float(r["ts"]) for r in log)
    assert span_s > WINDOW_S  # 200 requests could not fit in one window, so Sluice waited


def test_a_429_sent_anyway_pauses_every_worker_and_all_jobs_succeed(fresh: Pipeline) -> None:
    fresh.sim.update_config(rpm=None, input_tpm=None)
    warm_up = submit_items(
        "classify", [(f"w-{i}", "hello [[label:other]]") for i in range(30)], LABELS
    )
    assert wait_for_batch(warm_up) == {"succeeded": 30}  # every worker has its clients ready
    # forget the warm-up's pace, so the batch starts with a full burst, as a run would
    client = redis.Redis.from_url(os.environ["SLUICE_REDIS_URL"])
    client.delete(*client.keys(f"{RATE_KEY_PREFIX}*"))
    fresh.sim.reset()
    # lowered behind Sluice's back: Sluice's config still allows 128 concurrent calls
    fresh.sim.update_config(max_concurrency=2)
    items = [(f"p-{i}", f"Please help {i} [[label:other]]") for i in range(24)]

    batch_id = submit_items("classify", items, LABELS)
    counts = wait_for_batch(batch_id, timeout_s=120)

    assert counts == {"succeeded": 24}
    log = sorted(fresh.sim.log(), key=lambda r: float(r["ts"]))
    refused = [r for r in log if r["status"] == 429]
    assert refused, "the lowered limit should have produced 429s"
    first = float(refused[0]["ts"])
    # the simulator said retry-after 1 s. Calls already admitted when the first 429 came
    # back still arrive for a moment; after that no worker sends anything until the pause ends
    during_pause = [r for r in log if first + 0.3 < float(r["ts"]) < first + 0.9]
    assert during_pause == []

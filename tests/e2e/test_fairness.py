"""Scheduling between batches: a small batch submitted after a large one does not wait for it."""

from __future__ import annotations

import time

from tests.e2e.conftest import Pipeline, submit_items
from worker.domain.batches import get_batch
from worker.domain.db import session_scope

LABELS = ["billing", "technical", "account", "other"]


def _done(batch_id: object) -> tuple[int, int]:
    with session_scope() as session:
        view = get_batch(session, batch_id)  # type: ignore[arg-type]
    finished = sum(view.counts.get(s, 0) for s in ("succeeded", "failed", "canceled"))
    return finished, view.item_count


def test_a_small_batch_submitted_later_finishes_long_before_a_large_one(
    fresh_sim: Pipeline,
) -> None:
    fresh_sim.sim.update_config(latency_ms=40, jitter_ms=20)
    large = submit_items(
        "classify", [(f"L-{i}", f"big {i} [[label:billing]]") for i in range(1500)], LABELS
    )
    while _done(large)[0] < 50:  # the large batch is well under way
        time.sleep(0.05)
    small = submit_items(
        "classify", [(f"s-{i}", f"small {i} [[label:other]]") for i in range(25)], LABELS
    )

    deadline = time.monotonic() + 120
    while _done(small)[0] < 25 and time.monotonic() < deadline:
        time.sleep(0.1)
    large_done, large_total = _done(large)

    assert _done(small) == (25, 25)
    # first come, first served would have finished every large job before the small batch;
    # the feeder gave the small batch the next chunks instead
    assert large_done < 0.5 * large_total

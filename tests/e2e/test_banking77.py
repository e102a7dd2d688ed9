"""Real input nobody here wrote: Banking77's 3,080 queries (CSV with quoting, £ and €) into its
77 labels, through `sluice submit` and a real worker."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, CliResult
from tests.e2e.conftest import Pipeline

BANKING77 = SHARED_DATA / "banking77"

pytestmark = pytest.mark.skipif(
    not (BANKING77 / "test.csv").exists(), reason="../shared/data is absent on this machine"
)


def test_banking77_csv_classifies_every_query_into_its_77_labels(
    fresh_sim: Pipeline, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    labels = json.loads((BANKING77 / "categories.json").read_text())
    source = BANKING77 / "test.csv"

    submitted = run_cli(
        "submit", str(source), "--task", "classify", "--labels", ",".join(labels), "--wait"
    )

    assert submitted.exit_code == 0, submitted.stderr[-2000:]
    batch_id = submitted.stdout.strip()
    out = tmp_path / "results.csv"
    assert run_cli("results", batch_id, "-o", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 3080
    assert {row["status"] for row in rows} == {"succeeded"}
    assert {row["label"] for row in rows} <= set(labels)
    assert len({row["label"] for row in rows}) > 60  # answers spread over the label set
    # every call carried the 77-label prompt
    served = [r for r in fresh_sim.sim.log() if r["status"] == 200]
    assert len(served) == 3080
    assert min(r["input_tokens"] for r in served) > len(labels)

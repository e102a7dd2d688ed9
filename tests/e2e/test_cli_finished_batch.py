"""The CLI's submit, status, results and costs on a batch that a real worker finished."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from tests.conftest import CliResult
from tests.e2e.conftest import Pipeline

LABELS = "billing,technical,account,other"


def test_submit_wait_status_results_and_costs(
    fresh_sim: Pipeline, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    source = tmp_path / "tickets.jsonl"
    lines = [
        json.dumps(
            {
                "id": f"c-{i}",
                "text": f"Refund for order {i}, please. [[label:billing]]",
                "metadata": {"n": i},
            }
        )
        for i in range(40)
    ]
    source.write_text("\n".join(lines) + "\n")

    submitted = run_cli(
        "submit",
        str(source),
        "--task",
        "classify",
        "--labels",
        LABELS,
        "--name",
        "cli-test",
        "--wait",
    )

    assert submitted.exit_code == 0, submitted
    batch_id = submitted.stdout.strip()
    status = run_cli("status", batch_id, "--json")
    assert status.exit_code == 0
    view = json.loads(status.stdout)
    assert view["counts"] == {"succeeded": 40}
    assert view["status"] == "completed"
    assert view["name"] == "cli-test"

    out_csv = tmp_path / "out.csv"
    assert run_cli("results", batch_id, "-o", str(out_csv)).exit_code == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 40
    assert {row["label"] for row in rows} == {"billing"}
    assert {row["status"] for row in rows} == {"succeeded"}
    assert all(row["model"] == "claude-haiku-5-5" and int(row["input_tokens"]) > 0 for row in rows)

    out_jsonl = tmp_path / "out.jsonl"
    assert run_cli("results", batch_id, "-o", str(out_jsonl)).exit_code == 0
    records = [json.loads(line) for line in out_jsonl.read_text().splitlines()]
    assert sorted(r["item_id"] for r in records) == sorted(f"c-{i}" for i in range(40))

    out_parquet = tmp_path / "out.parquet"
    assert run_cli("results", batch_id, "-o", str(out_parquet)).exit_code == 0
    table = pq.read_table(out_parquet)
    assert table.num_rows == 40

    costs = run_cli("costs", "--by", "model", "--format", "json")
    assert costs.exit_code == 0
    (row,) = json.loads(costs.stdout)
    assert row["model"] == "claude-haiku-5-5"
    assert row["jobs"] == "40"
    assert Decimal(row["cost_usd"]) == Decimal(view["cost_usd"]) > 0

    today = view["created_at"][:10]
    by_day = run_cli("costs", "--by", "provider,day", "--since", today, "--format", "csv")
    assert by_day.exit_code == 0
    (day_row,) = list(csv.DictReader(by_day.stdout.splitlines()))
    assert (day_row["provider"], day_row["day"]) == ("anthropic", today)
    assert Decimal(day_row["cost_usd"]) == Decimal(view["cost_usd"])
    tomorrow = (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()
    later = run_cli("costs", "--by", "model", "--since", tomorrow, "--format", "csv")
    assert later.stdout.splitlines()[1:] == []  # the header alone: nothing spent since
    table = run_cli("costs", "--by", "task")
    assert table.exit_code == 0
    (task_row,) = [line for line in table.stdout.splitlines() if "classify" in line]
    assert task_row.split()[1:3] == ["│", "40"] or " 40 " in task_row  # calls

    # the 40 calls show in the operator's view of the provider's minute
    limits = run_cli("limits", "--json")
    assert limits.exit_code == 0
    scopes = {row["scope"]: row for row in json.loads(limits.stdout)}
    anthropic = scopes["provider:anthropic"]
    assert (anthropic["used"]["rpm"], anthropic["limits"]["rpm"]) == (40, 4000)
    assert anthropic["used"]["input_tpm"] == int(view["input_tokens"])
    assert anthropic["slots_in_use"] == 0 and anthropic["paused_for_s"] == 0
    assert scopes["provider:openai"]["used"]["rpm"] == 0
    assert "rate limits, last 60 s" in run_cli("limits").stdout  # the table for people

    unwritable = run_cli("results", batch_id, "-o", str(tmp_path / "no-such-dir" / "out.csv"))
    assert unwritable.exit_code == 2
    assert unwritable.stderr.startswith("error: cannot write ")
    assert "No such file or directory" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr


def test_status_of_unknown_batch_and_bad_results_path(
    fresh_sim: Pipeline, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    missing = run_cli("status", "8d1f8a36-1f42-4c3a-9a49-0d3c3f1e0000")
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "error: no batch with id 8d1f8a36-1f42-4c3a-9a49-0d3c3f1e0000"
    bad = run_cli("results", "8d1f8a36-1f42-4c3a-9a49-0d3c3f1e0000", "-o", str(tmp_path / "x.xls"))
    assert bad.exit_code == 2
    assert "use .jsonl, .csv or .parquet" in bad.stderr

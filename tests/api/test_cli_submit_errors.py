"""Bad input to `sluice submit` gets one readable sentence, exit code 2, and stores nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import CliResult
from worker.domain.db import get_engine

LABELS = "billing,technical,account,other"


def _row_counts() -> tuple[int, int]:
    with get_engine().connect() as conn:
        batches = conn.execute(text("SELECT count(*) FROM batches")).scalar_one()
        jobs = conn.execute(text("SELECT count(*) FROM jobs")).scalar_one()
    return batches, jobs


def _assert_refused(result: CliResult, *fragments: str) -> None:
    assert result.exit_code == 2, result
    message = result.stderr.strip()
    assert message.startswith("error: "), message
    assert "Traceback" not in result.stderr
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message
    assert _row_counts() == (0, 0)


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (
            b'{"id": "a", "text": "fine"}\n{"id": "b", "text": "broken\n',
            ("line 2", "not valid JSON"),
        ),
        (b'{"id": "a", "text": "fine"}\n{"id": "b"}\n', ("line 2", "'text'", "missing")),
        (b'{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', ("line 2", "'id'", "line 1")),
        (b"", ("no items",)),
        (b'{"id": "a", "text": "bad \\u0000 byte"}\n', ("line 1", "'text'", "NUL")),
        (b'{"id": "a", "text": "ok"}\n\xff\xfe{"id": "b"}\n', ("line 2", "UTF-8")),
        (b'["not", "an", "object"]\n', ("line 1", "JSON object")),
    ],
    ids=[
        "malformed-json",
        "missing-text",
        "duplicate-id",
        "empty-file",
        "nul",
        "not-utf8",
        "not-object",
    ],
)
def test_bad_jsonl_is_refused_with_line_and_field(
    run_cli: Callable[..., CliResult],
    db: str,
    redis_url: str,
    config_path: Path,
    tmp_path: Path,
    content: bytes,
    fragments: tuple[str, ...],
) -> None:
    source = tmp_path / "items.jsonl"
    source.write_bytes(content)

    result = run_cli("submit", str(source), "--task", "classify", "--labels", LABELS)

    _assert_refused(result, *fragments)


def test_unknown_task_type_is_refused(
    run_cli: Callable[..., CliResult], db: str, redis_url: str, config_path: Path, tmp_path: Path
) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": "a", "text": "hello"}\n')

    result = run_cli("submit", str(source), "--task", "summarise", "--labels", LABELS)

    _assert_refused(result, "unknown task type 'summarise'", "classify")


def test_classify_without_labels_is_refused(
    run_cli: Callable[..., CliResult], db: str, redis_url: str, config_path: Path, tmp_path: Path
) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": "a", "text": "hello"}\n')

    result = run_cli("submit", str(source), "--task", "classify")

    _assert_refused(result, "needs labels")


def test_missing_file_and_bad_budget_are_refused(
    run_cli: Callable[..., CliResult], db: str, redis_url: str, config_path: Path, tmp_path: Path
) -> None:
    _assert_refused(
        run_cli("submit", str(tmp_path / "nope.jsonl"), "--task", "classify", "--labels", LABELS),
        "no such file",
    )
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": "a", "text": "hello"}\n')
    _assert_refused(
        run_cli(
            "submit", str(source), "--task", "classify", "--labels", LABELS, "--budget-usd", "lots"
        ),
        "not a number",
    )


def test_oversize_text_is_refused(
    run_cli: Callable[..., CliResult], db: str, redis_url: str, config_path: Path, tmp_path: Path
) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": "a", "text": "' + "x" * 100_001 + '"}\n')

    result = run_cli("submit", str(source), "--task", "classify", "--labels", LABELS)

    _assert_refused(result, "line 1", "'text'", "over the limit")


def test_skip_invalid_stores_good_lines_and_reports_bad(
    run_cli: Callable[..., CliResult], db: str, redis_url: str, config_path: Path, tmp_path: Path
) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text(
        '{"id": "a", "text": "ok"}\n{"id": "b"}\nnot json\n{"id": "c", "text": "ok"}\n'
    )

    result = run_cli(
        "submit", str(source), "--task", "classify", "--labels", LABELS, "--skip-invalid"
    )

    assert result.exit_code == 0, result
    assert "skipped line 2, field 'text': is missing" in result.stderr
    assert "skipped line 3: is not valid JSON" in result.stderr
    assert _row_counts() == (1, 2)


def test_installed_command_exits_2_without_traceback(
    db: str, redis_url: str, config_path: Path, tmp_path: Path
) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": "a"}\n')

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "submit",
            str(source),
            "--task",
            "classify",
            "--labels",
            LABELS,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert done.stderr.strip() == "error: line 1, field 'text': is missing"
    assert _row_counts() == (0, 0)


def test_results_for_an_unknown_batch_leave_the_output_file_alone(
    run_cli: Callable[..., CliResult], db: str, redis_url: str, config_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    out.write_text("precious\n")

    result = run_cli("results", "8d1f8a36-1f42-4c3a-9a49-0d3c3f1e0000", "-o", str(out))

    assert result.exit_code == 2
    assert out.read_text() == "precious\n"


def test_a_non_finite_budget_is_one_sentence(
    run_cli: Callable[..., CliResult], db: str, redis_url: str, config_path: Path, tmp_path: Path
) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": "a", "text": "hello"}\n')

    result = run_cli(
        "submit", str(source), "--task", "classify", "--labels", "x", "--budget-usd", "NaN"
    )

    _assert_refused(result, "budget must be a number above 0")

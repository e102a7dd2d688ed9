"""`sluice budgets set/list` and `sluice estimate`: money before it is spent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import CliResult, fast_config, write_config
from worker.domain.db import get_engine

LABELS = "billing,technical,account,other"
SMALL_CONTEXT = 400  #: tokens: a model this small cannot take the long ticket below


@pytest.fixture()
def money_env(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default config, but gpt-5.4-mini's context window is tiny; wide tables; a file."""
    config = fast_config()
    config["models"]["gpt-5.4-mini"]["context_window"] = SMALL_CONTEXT  # type: ignore[index]
    monkeypatch.setenv("SLUICE_CONFIG", str(write_config(tmp_path / "sluice.yaml", config)))
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables at 80 columns otherwise
    tickets = tmp_path / "tickets.jsonl"
    items = [
        {"id": "short-1", "text": "I was charged twice for my order."},
        {"id": "short-2", "text": "The app crashes when I open settings."},
        {"id": "long", "text": "My card payment is still pending after a week. " * 60},
    ]
    tickets.write_text("".join(json.dumps(item) + "\n" for item in items))
    return tickets


def _budget_rows() -> int:
    with get_engine().connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM budgets")).scalar_one())


def _line(result: CliResult, *fragments: str) -> str:
    matches = [line for line in result.stdout.splitlines() if all(f in line for f in fragments)]
    assert len(matches) == 1, result.stdout
    return matches[0]


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("│").split("│")]


def test_a_budget_on_an_undeclared_model_is_refused(
    money_env: Path, run_cli: Callable[..., CliResult]
) -> None:
    refused = run_cli("budgets", "set", "--scope", "model", "--key", "gpt-9", "--limit-usd", "5")

    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: no model 'gpt-9' in the config (known: ")
    assert _budget_rows() == 0


def test_budgets_set_and_list(money_env: Path, run_cli: Callable[..., CliResult]) -> None:
    assert (
        run_cli("budgets", "set", "--scope", "task", "--key", "classify", "--limit-usd", "100")
    ).exit_code == 0
    assert (
        run_cli(
            "budgets", "set", "--scope", "provider", "--key", "openai", "--period", "day",
            "--limit-usd", "2.5",
        )
    ).exit_code == 0  # fmt: skip

    listed = run_cli("budgets", "list")

    assert listed.exit_code == 0
    assert "$100" in _line(listed, "task:classify:total")
    assert "$2.5" in _line(listed, "provider:openai:day")


def test_estimate_prices_every_route_model_flags_context_and_checks_budgets(
    money_env: Path, run_cli: Callable[..., CliResult]
) -> None:
    run_cli("budgets", "set", "--scope", "task", "--key", "classify", "--limit-usd", "100")
    run_cli(
        "budgets", "set", "--scope", "model", "--key", "gpt-5.4-nano", "--period", "day",
        "--limit-usd", "0.000001",
    )  # fmt: skip

    estimated = run_cli(
        "estimate", str(money_env), "--task", "classify", "--labels", LABELS,
        "--models", "gpt-5.4-mini", "--budget-usd", "10",
    )  # fmt: skip

    assert estimated.exit_code == 0, estimated
    assert "estimate for 3 items" in estimated.stdout
    over_context = {
        role: _cells(_line(estimated, model, role))[-1]
        for model, role in (
            ("claude-haiku-5-5", "primary"),
            ("gpt-5.4-nano", "fallback"),
            ("gpt-5.4-mini", "--models"),
        )
    }
    assert over_context == {"primary": "0", "fallback": "0", "--models": "1"}  # the long ticket
    assert "warning: 1 items exceed gpt-5.4-mini's context window" in estimated.stdout
    assert "; fits" in _line(estimated, "budget task:classify:total")
    assert "; fits" in _line(estimated, "budget --budget-usd")
    nano = _line(estimated, "budget model:gpt-5.4-nano:day")
    assert nano.endswith("DOES NOT FIT (if jobs fall back to gpt-5.4-nano)")


def test_estimate_refuses_unknown_models_and_tasks(
    money_env: Path, run_cli: Callable[..., CliResult]
) -> None:
    model = run_cli("estimate", str(money_env), "--task", "classify", "--models", "gpt-9")
    task = run_cli("estimate", str(money_env), "--task", "summarize")

    assert (model.exit_code, task.exit_code) == (2, 2)
    assert model.stderr.strip() == "error: unknown model 'gpt-9' in --models"
    assert task.stderr.startswith("error: unknown task type 'summarize'")

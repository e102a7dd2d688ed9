"""The YAML config: the default loads, and a bad config is refused with the path of the bad key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import fast_config
from worker.domain.config import load_config, load_config_file, parse_config
from worker.domain.errors import ConfigError


def test_default_config_declares_both_providers_a_local_one_and_classify() -> None:
    config = load_config()

    kinds = {name: provider.kind for name, provider in config.providers.items()}
    assert kinds == {"anthropic": "anthropic", "openai": "openai", "local": "openai_compatible"}
    route = config.tasks["classify"].route
    assert len(route) >= 2
    assert {config.provider_of(model) for model in route} == {"anthropic", "openai"}
    for model in config.models.values():
        assert model.context_window > 0 and model.input_per_mtok >= 0


def _broken(change: Any) -> dict[str, Any]:
    data = fast_config()
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["tasks"]["classify"]["route"].append("gpt-9"),
            "at tasks.classify.route[2]: unknown model 'gpt-9'",
        ),
        (
            lambda d: d["models"]["gpt-5.4-nano"].update(input_per_mtok="-1"),
            "at models.gpt-5.4-nano.input_per_mtok: Input should be greater than or equal to 0",
        ),
        (
            lambda d: d["models"]["gpt-5.4-nano"].pop("output_per_mtok"),
            "at models.gpt-5.4-nano.output_per_mtok: Field required",
        ),
        (
            lambda d: d["providers"]["openai"].update(kind="gemini"),
            "at providers.openai.kind: Input should be 'anthropic', 'openai' or "
            "'openai_compatible'",
        ),
        (lambda d: d.update(colour="blue"), "at colour: Extra inputs are not permitted"),
        (
            lambda d: d["models"]["gpt-5.4-nano"].update(provider="azure"),
            "at models.gpt-5.4-nano.provider: unknown provider 'azure'",
        ),
        (
            lambda d: d["tasks"]["classify"].update(prompt="no placeholder"),
            "at tasks.classify.prompt: the prompt template must contain {text}",
        ),
        (
            lambda d: d["worker"].update(chunk_size=0),
            "at worker.chunk_size: Input should be greater than 0",
        ),
    ],
    ids=[
        "unknown-model",
        "negative-price",
        "missing-price",
        "bad-kind",
        "unknown-key",
        "unknown-provider",
        "prompt-without-text",
        "zero-chunk",
    ],
)
def test_bad_config_names_the_bad_key(change: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_broken(change), source="sluice.yaml")

    assert message in caught.value.message
    assert caught.value.message.startswith("config error in sluice.yaml")


def test_unreadable_and_invalid_yaml_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("providers: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config_file(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text(yaml.safe_dump("just a string"))
    with pytest.raises(ConfigError, match="the top level must be a mapping"):
        load_config_file(scalar)


def test_cli_refuses_a_bad_config_at_start(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sluice.yaml"
    path.write_text(yaml.safe_dump(_broken(lambda d: d["tasks"]["classify"]["route"].clear())))
    monkeypatch.setenv("SLUICE_CONFIG", str(path))

    result = run_cli("status", "00000000-0000-0000-0000-000000000000")

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: config error in {path} at tasks.classify.route: "
        "List should have at least 1 item after validation, not 0"
    )

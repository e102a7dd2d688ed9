"""Provider adapters through the official SDKs against the simulator: one Completion record out,
Sluice's error tree out of every SDK failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from simulator.testing import SimHandle
from tests.worker.conftest import TEST_KEY, make_config
from worker.domain.errors import Permanent, ProviderError, RateLimited, Retryable
from worker.domain.tasks_spec import build_request
from worker.providers import build_provider
from worker.providers.base import redact

PROVIDERS = [("anthropic", "claude-haiku-5-5"), ("openai", "gpt-5.4-nano")]


def _call(provider_name: str, model: str, text: str, **provider_changes: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["providers"][provider_name].update(provider_changes)

    config = make_config(change)
    request = build_request(
        config.tasks["classify"], text=text, params={"labels": ["billing", "other"]}
    )

    async def main() -> Any:
        provider = build_provider(provider_name, config.providers[provider_name])
        try:
            return await provider.complete(request, model=model)
        finally:
            await provider.aclose()

    return asyncio.run(main())


def _raises(call: Callable[[], Awaitable[Any]] | Callable[[], Any]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
def test_structured_answer_becomes_one_completion(
    sdk_env: SimHandle, provider: str, model: str
) -> None:
    completion = _call(provider, model, "refund please [[label:billing]]")

    assert completion.output == {"label": "billing"}
    assert completion.request_id
    (record,) = sdk_env.log()
    assert completion.usage.input_tokens == record["input_tokens"] > 0
    assert completion.usage.output_tokens == record["output_tokens"] > 0
    assert record["model"] == model


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
def test_429_becomes_rate_limited_with_the_providers_wait(
    sdk_env: SimHandle, provider: str, model: str
) -> None:
    sdk_env.update_config(rpm=1)
    _call(provider, model, "first [[label:other]]")

    error = _raises(lambda: _call(provider, model, "second [[label:other]]"))

    assert isinstance(error, RateLimited)
    assert error.status_code == 429
    assert error.retry_after_s is not None and 0 < error.retry_after_s <= 60


@pytest.mark.parametrize(
    ("provider", "model", "fault", "status"),
    [
        ("anthropic", "claude-haiku-5-5", "error_500_rate", 500),
        ("anthropic", "claude-haiku-5-5", "overloaded_rate", 529),
        ("openai", "gpt-5.4-nano", "error_500_rate", 500),
        ("openai", "gpt-5.4-nano", "overloaded_rate", 503),
    ],
)
def test_server_errors_are_retryable_with_their_status(
    sdk_env: SimHandle, provider: str, model: str, fault: str, status: int
) -> None:
    sdk_env.update_config(**{fault: 1.0})

    error = _raises(lambda: _call(provider, model, "x [[label:other]]"))

    assert type(error) is Retryable
    assert error.status_code == status
    assert error.request_id


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
def test_malformed_body_and_timeout_are_retryable(
    sdk_env: SimHandle, provider: str, model: str
) -> None:
    sdk_env.update_config(malformed_rate=1.0)
    malformed = _raises(lambda: _call(provider, model, "x"))
    assert (type(malformed), malformed.code) == (Retryable, "malformed_response")

    sdk_env.update_config(malformed_rate=0.0, timeout_rate=1.0, timeout_hang_s=3.0)
    timed_out = _raises(lambda: _call(provider, model, "x", timeout_s=0.3))
    assert (type(timed_out), timed_out.code) == (Retryable, "timeout")


@pytest.mark.parametrize(("provider", "model"), PROVIDERS)
def test_a_missing_key_is_refused_before_any_call(
    sdk_env: SimHandle, provider: str, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY")

    error = _raises(lambda: _call(provider, model, "x"))

    assert isinstance(error, Permanent)
    assert error.code == "missing_api_key"
    assert "_API_KEY" in error.message
    assert sdk_env.log() == []


def test_keys_are_redacted_from_error_messages() -> None:
    message = f"Incorrect API key provided: {TEST_KEY}. Authorization: Bearer {TEST_KEY}"

    cleaned = redact(message, TEST_KEY)

    assert TEST_KEY not in cleaned
    assert "sk-" not in redact("key sk-abcdef123456 was rejected")


def test_openai_compatible_server_is_called_without_a_key(
    sdk_env: SimHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOCAL_LLM_API_KEY", raising=False)

    completion = _call(
        "local",
        "meta-llama/Llama-3.1-8B-Instruct",
        "hello [[label:billing]]",
        base_url=sdk_env.openai_base_url,
    )

    assert completion.output == {"label": "billing"}
    (record,) = sdk_env.log()
    assert record["endpoint"] == "/v1/chat/completions"
    assert record["model"] == "meta-llama/Llama-3.1-8B-Instruct"

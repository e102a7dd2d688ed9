"""Per-key limits: 429s with retry-after, and the providers' rate-limit headers."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import anthropic
import openai
import pytest

from simulator.testing import SimHandle

from .helpers import (
    CLASSIFY_TOOL,
    StartSim,
    anthropic_client,
    chat,
    classify,
    openai_client,
)

#: A Go-style duration, as OpenAI's x-ratelimit-reset-* headers write it.
GO_DURATION = re.compile(r"^(\d+ms|\d+(\.\d+)?s|\d+m\d+(\.\d+)?s)$")


def assert_sane_retry_after(error: anthropic.RateLimitError | openai.RateLimitError) -> int:
    retry_after = int(error.response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    return retry_after


def test_rpm_refuses_with_retry_after_and_rate_limit_error_body(start_sim: StartSim) -> None:
    sim = start_sim(rpm=2)
    client = anthropic_client(sim)
    classify(client, "one")
    classify(client, "two")
    with pytest.raises(anthropic.RateLimitError) as caught:
        classify(client, "three")
    assert assert_sane_retry_after(caught.value) >= 59  # the window frees up in ~60 s
    body = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["request_id"] == caught.value.response.headers["request-id"]
    assert caught.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert [r["status"] for r in sim.log()] == [200, 200, 429]


def test_input_tpm_counts_input_tokens(start_sim: StartSim) -> None:
    sim = start_sim()
    client = anthropic_client(sim)
    input_tokens = classify(client, "a ticket").usage.input_tokens
    sim.reset()
    sim.update_config(input_tpm=2 * input_tokens)
    classify(client, "a ticket")
    classify(client, "a ticket")
    with pytest.raises(anthropic.RateLimitError) as caught:
        classify(client, "a ticket")
    assert_sane_retry_after(caught.value)
    assert "input tokens per minute" in caught.value.message


def test_output_tpm_charges_max_tokens_then_the_actual_output(start_sim: StartSim) -> None:
    sim = start_sim(output_tpm=50)
    client = anthropic_client(sim)

    def ask() -> anthropic.types.Message:
        return client.messages.create(
            model="claude-sim", max_tokens=40, messages=[{"role": "user", "content": "[[label:a]]"}]
        )

    assert [ask().usage.output_tokens for _ in range(3)] == [4, 4, 4]  # 4 + 4 + 40 <= 50
    with pytest.raises(anthropic.RateLimitError) as caught:
        ask()  # 12 already used + 40 charged up front > 50
    assert "output tokens per minute" in caught.value.message
    assert_sane_retry_after(caught.value)


def test_openai_tpm_counts_prompt_and_completion(start_sim: StartSim) -> None:
    sim = start_sim()
    client = openai_client(sim)
    usage = chat(client, "a ticket", max_completion_tokens=20).usage
    assert usage is not None
    sim.reset()
    # Room for one settled request plus a second charged its prompt and max_completion_tokens.
    sim.update_config(tpm=usage.total_tokens + usage.prompt_tokens + 20)
    chat(client, "a ticket", max_completion_tokens=20)
    chat(client, "a ticket", max_completion_tokens=20)
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client, "a ticket", max_completion_tokens=20)
    assert caught.value.type == "tokens" and caught.value.code == "rate_limit_exceeded"
    assert_sane_retry_after(caught.value)


def test_openai_rpm_error_type_is_requests(start_sim: StartSim) -> None:
    client = openai_client(start_sim(rpm=1))
    chat(client, "one")
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client, "two")
    assert caught.value.type == "requests" and caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "0"


def test_concurrency_limit_refuses_the_second_request_in_flight(start_sim: StartSim) -> None:
    sim = start_sim(max_concurrency=1, latency_ms=300)

    async def both() -> list[object]:
        client = anthropic.AsyncAnthropic(base_url=sim.base_url, api_key="sk-test", max_retries=0)
        params = {
            "model": "claude-sim",
            "max_tokens": 20,
            "messages": [{"role": "user", "content": "hi"}],
        }
        async with client:
            return await asyncio.gather(
                client.messages.create(**params),
                client.messages.create(**params),
                return_exceptions=True,
            )

    results = asyncio.run(both())
    errors = [r for r in results if isinstance(r, anthropic.RateLimitError)]
    assert len(errors) == 1 and len(results) == 2
    assert errors[0].response.headers["retry-after"] == "1"
    assert "concurrent requests" in errors[0].message


def test_limits_are_per_key_and_per_api(start_sim: StartSim) -> None:
    sim = start_sim(rpm=1)
    classify(anthropic_client(sim), "hello")
    with pytest.raises(anthropic.RateLimitError):
        classify(anthropic_client(sim), "hello")
    classify(anthropic_client(sim, api_key="sk-other"), "hello")
    chat(openai_client(sim), "hello")


def test_anthropic_headers_count_down(start_sim: StartSim) -> None:
    sim = start_sim(rpm=10, input_tpm=10_000, output_tpm=5_000)
    client = anthropic_client(sim)
    seen = []
    for _ in range(3):
        raw = client.messages.with_raw_response.create(
            model="claude-sim",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
            tools=[CLASSIFY_TOOL],
            tool_choice={"type": "tool", "name": "classify"},
        )
        usage = raw.parse().usage
        headers = raw.headers
        prefix = "anthropic-ratelimit-"
        assert headers[f"{prefix}requests-limit"] == "10"
        assert headers[f"{prefix}input-tokens-limit"] == "10000"
        assert headers[f"{prefix}output-tokens-limit"] == "5000"
        reset = datetime.fromisoformat(headers[f"{prefix}input-tokens-reset"])
        assert 0 <= (reset - datetime.now(UTC)).total_seconds() <= 61
        seen.append(
            (
                int(headers[f"{prefix}requests-remaining"]),
                int(headers[f"{prefix}input-tokens-remaining"]),
                int(headers[f"{prefix}output-tokens-remaining"]),
                usage.input_tokens,
                usage.output_tokens,
            )
        )
    assert [s[0] for s in seen] == [9, 8, 7]
    for before, after in zip(seen, seen[1:], strict=False):
        assert after[1] == before[1] - after[3]  # input remaining drops by each request's input
        assert after[2] == before[2] - after[4]  # output by its actual output
    # tokens-* reports the tightest token limit: here output tokens.
    assert headers[f"{prefix}tokens-remaining"] == headers[f"{prefix}output-tokens-remaining"]


def test_openai_headers_count_down(start_sim: StartSim) -> None:
    sim = start_sim(rpm=10, tpm=10_000)
    client = openai_client(sim)
    remaining = []
    for _ in range(3):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-sim", messages=[{"role": "user", "content": "hi"}]
        )
        completion = raw.parse()
        assert raw.headers["x-ratelimit-limit-requests"] == "10"
        assert raw.headers["x-ratelimit-limit-tokens"] == "10000"
        assert GO_DURATION.match(raw.headers["x-ratelimit-reset-requests"])
        assert GO_DURATION.match(raw.headers["x-ratelimit-reset-tokens"])
        assert completion.usage is not None
        remaining.append(
            (
                int(raw.headers["x-ratelimit-remaining-requests"]),
                int(raw.headers["x-ratelimit-remaining-tokens"]),
                completion.usage.total_tokens,
            )
        )
    assert [r[0] for r in remaining] == [9, 8, 7]
    assert remaining[0][1] == 10_000 - remaining[0][2]
    assert remaining[2][1] == remaining[1][1] - remaining[2][2]


def test_unset_limits_send_no_rate_limit_headers(sim: SimHandle) -> None:
    raw = anthropic_client(sim).messages.with_raw_response.create(
        model="claude-sim", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert not [name for name in raw.headers if name.startswith("anthropic-ratelimit-")]


def test_config_endpoint_changes_a_limit_live(sim: SimHandle) -> None:
    client = anthropic_client(sim)
    classify(client, "one")
    classify(client, "two")
    assert sim.update_config(rpm=2)["rpm"] == 2
    with pytest.raises(anthropic.RateLimitError):
        classify(client, "three")
    sim.update_config(rpm=None)
    classify(client, "four")
    with pytest.raises(ValueError, match="unknown"):
        sim.update_config(rmp=5)

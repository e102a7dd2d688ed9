"""Injected faults map to the SDKs' own exceptions, and follow the seed."""

from __future__ import annotations

import time
from collections.abc import Callable

import anthropic
import openai
import pytest

from simulator.testing import SimHandle

from .helpers import SHORT_TIMEOUT_S, StartSim, anthropic_client, chat, classify, openai_client


def test_error_500_is_internal_server_error_in_both_sdks(start_sim: StartSim) -> None:
    sim = start_sim(error_500_rate=1.0)
    with pytest.raises(anthropic.InternalServerError) as anthropic_error:
        classify(anthropic_client(sim), "hello")
    assert anthropic_error.value.status_code == 500
    assert anthropic_error.value.body["error"]["type"] == "api_error"
    with pytest.raises(openai.InternalServerError) as openai_error:
        chat(openai_client(sim), "hello")
    assert openai_error.value.status_code == 500 and openai_error.value.type == "server_error"
    assert [r["fault"] for r in sim.log()] == ["error_500", "error_500"]


def test_overloaded_is_529_for_anthropic_and_503_for_openai(start_sim: StartSim) -> None:
    sim = start_sim(overloaded_rate=1.0)
    with pytest.raises(anthropic.OverloadedError) as anthropic_error:
        classify(anthropic_client(sim), "hello")
    assert anthropic_error.value.status_code == 529
    with pytest.raises(openai.InternalServerError) as openai_error:
        chat(openai_client(sim), "hello")
    assert openai_error.value.status_code == 503


def test_timeout_fault_holds_the_request_past_the_client_timeout(start_sim: StartSim) -> None:
    sim = start_sim(timeout_rate=1.0, timeout_hang_s=3.0)
    cases: list[tuple[type[Exception], Callable[[], object]]] = [
        (
            anthropic.APITimeoutError,
            lambda: classify(anthropic_client(sim, timeout=SHORT_TIMEOUT_S), "hello"),
        ),
        (
            openai.APITimeoutError,
            lambda: chat(openai_client(sim, timeout=SHORT_TIMEOUT_S), "hello"),
        ),
    ]
    for error, call in cases:
        started = time.monotonic()
        with pytest.raises(error):
            call()
        assert time.monotonic() - started < 2.0  # the client gave up; the server still holds


def test_malformed_body_is_a_json_decode_error(start_sim: StartSim) -> None:
    sim = start_sim(malformed_rate=1.0)
    with pytest.raises(ValueError):
        classify(anthropic_client(sim), "hello")
    with pytest.raises(ValueError):
        chat(openai_client(sim), "hello")
    assert [(r["status"], r["fault"]) for r in sim.log()] == [(200, "malformed")] * 2


def statuses(sim: SimHandle, count: int) -> list[int]:
    client, seen = anthropic_client(sim), []
    for _ in range(count):
        try:
            classify(client, "hello")
            seen.append(200)
        except anthropic.APIStatusError as err:
            seen.append(err.status_code)
    return seen


def test_fault_sequence_follows_the_seed(start_sim: StartSim) -> None:
    first = start_sim(seed=7, error_500_rate=0.3, overloaded_rate=0.3)
    sequence = statuses(first, 12)
    assert {200, 500, 529} <= set(sequence)
    first.reset()
    assert statuses(first, 12) == sequence
    assert statuses(start_sim(seed=7, error_500_rate=0.3, overloaded_rate=0.3), 12) == sequence
    assert statuses(start_sim(seed=8, error_500_rate=0.3, overloaded_rate=0.3), 12) != sequence


def test_latency_delays_answers(start_sim: StartSim) -> None:
    sim = start_sim(latency_ms=150, jitter_ms=20)
    started = time.monotonic()
    classify(anthropic_client(sim), "hello")
    assert time.monotonic() - started >= 0.13
    assert sim.log()[0]["latency_ms"] >= 130

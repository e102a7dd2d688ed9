"""The admin endpoints, the request log and its file, and both ways of running a simulator."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import anthropic
import orjson
import pytest

from simulator import SimConfig
from simulator.testing import SimHandle, running_simulator

from .helpers import API_KEY, StartSim, anthropic_client, chat, classify, openai_client


def test_log_records_match_what_was_sent(sim: SimHandle) -> None:
    before = time.time()
    message = classify(anthropic_client(sim), "a ticket")
    completion = chat(openai_client(sim), "a ticket")
    first, second = sim.log()
    key_id = hashlib.sha256(API_KEY.encode()).hexdigest()[:12]
    assert first["endpoint"] == "/v1/messages" and second["endpoint"] == "/v1/chat/completions"
    assert (first["model"], second["model"]) == ("claude-sim", "gpt-sim")
    assert first["key_id"] == second["key_id"] == key_id
    assert first["status"] == second["status"] == 200
    assert first["fault"] is None and second["fault"] is None
    assert before <= first["ts"] <= second["ts"] <= time.time()
    assert (first["input_tokens"], first["output_tokens"]) == (
        message.usage.input_tokens,
        message.usage.output_tokens,
    )
    assert completion.usage is not None
    assert (second["input_tokens"], second["output_tokens"]) == (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    )
    assert second["request_id"] == completion._request_id
    assert first["latency_ms"] >= 0
    assert API_KEY not in orjson.dumps(sim.log()).decode()


def test_stats_count_by_status_and_endpoint_and_reset_clears_them(start_sim: StartSim) -> None:
    sim = start_sim(rpm=1)
    client = anthropic_client(sim)
    classify(client, "one")
    with pytest.raises(anthropic.RateLimitError):
        classify(client, "two")
    client.messages.count_tokens(model="claude-sim", messages=[{"role": "user", "content": "x"}])
    stats = sim.stats()
    assert stats["total"] == 3
    assert stats["by_status"] == {"200": 2, "429": 1}
    assert stats["by_endpoint"] == {"/v1/messages": 2, "/v1/messages/count_tokens": 1}
    sim.reset()
    assert sim.stats()["total"] == 0 and sim.log() == []
    classify(client, "three")  # the limiter forgot the first request too


def test_subprocess_simulator_writes_the_log_file(tmp_path: Path) -> None:
    log_path = tmp_path / "sim.jsonl"
    with running_simulator(SimConfig(log_path=str(log_path), rpm=100)) as sim:
        assert sim.config()["rpm"] == 100
        client = anthropic_client(sim)
        for text in ("one", "two", "three"):
            classify(client, text)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:  # flushed at least every second while running
            if log_path.exists() and len(log_path.read_bytes().splitlines()) == 3:
                break
            time.sleep(0.05)
        in_memory = sim.log()
        lines = [orjson.loads(line) for line in log_path.read_bytes().splitlines()]
        assert lines == in_memory
        chat(openai_client(sim), "four")
    lines = [orjson.loads(line) for line in log_path.read_bytes().splitlines()]
    assert [line["endpoint"] for line in lines] == ["/v1/messages"] * 3 + ["/v1/chat/completions"]


def test_in_process_handle_gives_both_base_urls() -> None:
    with running_simulator(SimConfig(), in_process=True) as sim:
        assert sim.base_url == f"http://127.0.0.1:{sim.port}"
        assert sim.openai_base_url == sim.base_url + "/v1"
        assert sim.stats()["total"] == 0

"""The Anthropic Messages API as the official SDK sees it."""

from __future__ import annotations

import anthropic
import orjson
import pytest
from anthropic.types import TextBlock, ToolUseBlock

from simulator import count_tokens
from simulator.answers import choose_label
from simulator.testing import SimHandle
from simulator.tokens import OUTPUT_OVERHEAD_TOKENS

from .helpers import API_KEY, CLASSIFY_TOOL, LABELS, anthropic_client, classify

SYSTEM = "Classify the support ticket."


def expected_input_tokens(text: str, *, tools: bool = True) -> int:
    tool_tokens = count_tokens(orjson.dumps([CLASSIFY_TOOL]).decode()) if tools else 0
    return count_tokens(SYSTEM) + count_tokens(text) + tool_tokens


def test_forced_tool_returns_one_tool_use_block_with_usage(sim: SimHandle) -> None:
    text = "I was charged twice for my subscription."
    raw = anthropic_client(sim).messages.with_raw_response.create(
        model="claude-sim",
        max_tokens=256,
        system=SYSTEM,
        messages=[{"role": "user", "content": text}],
        tools=[CLASSIFY_TOOL],
        tool_choice={"type": "tool", "name": "classify"},
    )
    message = raw.parse()
    assert raw.headers["request-id"].startswith("req_")
    assert message.id.startswith("msg_") and message.type == "message"
    assert message.model == "claude-sim" and message.role == "assistant"
    assert message.stop_reason == "tool_use" and message.stop_sequence is None
    [block] = message.content
    assert isinstance(block, ToolUseBlock)
    assert block.id.startswith("toolu_") and block.name == "classify"
    assert block.input["label"] == choose_label(text, LABELS)
    assert 0 <= float(block.input["confidence"]) <= 1
    usage = message.usage
    assert usage.input_tokens == expected_input_tokens(text)
    output_json = orjson.dumps(block.input).decode()
    assert usage.output_tokens == count_tokens(output_json) + OUTPUT_OVERHEAD_TOKENS
    assert usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0


@pytest.mark.parametrize("tool_choice", [{"type": "any"}, {"type": "auto"}])
def test_any_and_auto_tool_choice_use_the_first_tool(
    sim: SimHandle, tool_choice: dict[str, str]
) -> None:
    message = classify(anthropic_client(sim), "[[label:bug]] crash", tool_choice=tool_choice)
    [block] = message.content
    assert isinstance(block, ToolUseBlock) and block.input["label"] == "bug"


def test_label_marker_fixes_the_answer_and_hash_is_stable(sim: SimHandle) -> None:
    client = anthropic_client(sim)
    marked = classify(client, "Please help [[label:not_in_enum]]").content[0]
    assert isinstance(marked, ToolUseBlock) and marked.input["label"] == "not_in_enum"
    blocks = [classify(client, "The app crashes on start").content[0] for _ in range(3)]
    inputs = {orjson.dumps(b.input) for b in blocks if isinstance(b, ToolUseBlock)}
    assert len(inputs) == 1 and len({b.id for b in blocks}) == 3  # same answer, fresh ids


def test_without_tools_the_answer_is_a_text_block(sim: SimHandle) -> None:
    text = "Say something [[label:hello]]"
    message = anthropic_client(sim).messages.create(
        model="claude-sim",
        max_tokens=50,
        system=SYSTEM,
        messages=[{"role": "user", "content": [{"type": "text", "text": text}]}],
    )
    [block] = message.content
    assert isinstance(block, TextBlock) and block.text == "hello"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == expected_input_tokens(text, tools=False)
    assert message.usage.output_tokens == 1 + OUTPUT_OVERHEAD_TOKENS


def test_output_config_json_schema_returns_json_text(sim: SimHandle) -> None:
    message = anthropic_client(sim).messages.create(
        model="claude-sim",
        max_tokens=100,
        messages=[{"role": "user", "content": "a ticket"}],
        output_config={"format": {"type": "json_schema", "schema": CLASSIFY_TOOL["input_schema"]}},
    )
    block = message.content[0]
    assert isinstance(block, TextBlock)
    assert orjson.loads(block.text)["label"] == choose_label("a ticket", LABELS)


def test_max_tokens_cuts_the_answer(sim: SimHandle) -> None:
    message = classify(anthropic_client(sim), "a ticket", max_tokens=5)
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 5
    block = message.content[0]
    assert isinstance(block, ToolUseBlock) and block.input == {}


def test_count_tokens_matches_the_messages_usage(sim: SimHandle) -> None:
    client, text = anthropic_client(sim), "How many tokens is this?"
    counted = client.messages.count_tokens(
        model="claude-sim",
        system=SYSTEM,
        messages=[{"role": "user", "content": text}],
        tools=[CLASSIFY_TOOL],
    )
    assert counted.input_tokens == expected_input_tokens(text)
    assert classify(client, text).usage.input_tokens == counted.input_tokens


def test_key_is_accepted_as_x_api_key_or_bearer(sim: SimHandle) -> None:
    bearer = anthropic_client(sim)
    x_api_key = anthropic_client(
        sim, default_headers={"Authorization": anthropic.Omit(), "x-api-key": API_KEY}
    )
    for client in (bearer, x_api_key):
        assert classify(client, "hello").stop_reason == "tool_use"
    key_ids = {record["key_id"] for record in sim.log()}
    assert len(key_ids) == 1  # the same key, whichever header carried it


def test_missing_key_is_an_authentication_error(sim: SimHandle) -> None:
    client = anthropic_client(sim, default_headers={"Authorization": anthropic.Omit()})
    with pytest.raises(anthropic.AuthenticationError) as caught:
        classify(client, "hello")
    assert caught.value.body["error"]["type"] == "authentication_error"
    assert caught.value.response.headers["request-id"].startswith("req_")


def test_unknown_forced_tool_is_a_bad_request(sim: SimHandle) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        classify(anthropic_client(sim), "x", tool_choice={"type": "tool", "name": "nope"})
    assert caught.value.body["error"]["type"] == "invalid_request_error"

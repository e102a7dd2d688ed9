"""The OpenAI Chat Completions API as the official SDK sees it."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest

from simulator import count_tokens
from simulator.answers import choose_label, text_answer
from simulator.testing import SimHandle
from simulator.tokens import OUTPUT_OVERHEAD_TOKENS

from .helpers import CLASSIFY_FORMAT, CLASSIFY_TOOL, LABELS, chat, openai_client

SYSTEM = "Classify the support ticket."
FUNCTION_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "classify",
        "description": "Record the category.",
        "parameters": CLASSIFY_TOOL["input_schema"],
    },
}


def test_json_schema_content_satisfies_the_schema_with_usage(sim: SimHandle) -> None:
    text = "I was charged twice for my subscription."
    raw = openai_client(sim).chat.completions.with_raw_response.create(
        model="gpt-sim",
        response_format=CLASSIFY_FORMAT,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
    )
    completion = raw.parse()
    assert raw.headers["x-request-id"] == completion._request_id
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    assert completion.model == "gpt-sim"
    [choice] = completion.choices
    assert choice.index == 0 and choice.finish_reason == "stop" and choice.logprobs is None
    assert choice.message.role == "assistant" and choice.message.refusal is None
    content = choice.message.content
    assert content is not None and orjson.loads(content) == {"label": choose_label(text, LABELS)}
    usage = completion.usage
    assert usage is not None
    schema_tokens = count_tokens(orjson.dumps(CLASSIFY_FORMAT["json_schema"]).decode())
    assert usage.prompt_tokens == count_tokens(SYSTEM) + count_tokens(text) + schema_tokens
    assert usage.completion_tokens == count_tokens(content) + OUTPUT_OVERHEAD_TOKENS
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0


@pytest.mark.parametrize(
    "tool_choice",
    [{"type": "function", "function": {"name": "classify"}}, "required", "auto"],
)
def test_tools_answer_with_a_tool_call(sim: SimHandle, tool_choice: Any) -> None:
    text = "[[label:feature_request]] please add dark mode"
    completion = openai_client(sim).chat.completions.create(
        model="gpt-sim",
        messages=[{"role": "user", "content": text}],
        tools=[FUNCTION_TOOL],
        tool_choice=tool_choice,
    )
    [choice] = completion.choices
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "classify"
    arguments = orjson.loads(call.function.arguments)
    assert arguments["label"] == "feature_request" and 0 <= arguments["confidence"] <= 1
    assert completion.usage is not None
    tools_tokens = count_tokens(orjson.dumps([FUNCTION_TOOL]).decode())
    assert completion.usage.prompt_tokens == count_tokens(text) + tools_tokens
    assert completion.usage.completion_tokens == (
        count_tokens(call.function.arguments) + OUTPUT_OVERHEAD_TOKENS
    )


def test_plain_request_answers_text(sim: SimHandle) -> None:
    completion = openai_client(sim).chat.completions.create(
        model="gpt-sim", messages=[{"role": "user", "content": "hi there"}]
    )
    assert completion.choices[0].message.content == text_answer("hi there")
    marked = chat(openai_client(sim), "x [[label:bogus]]").choices[0].message.content
    assert marked is not None and orjson.loads(marked) == {"label": "bogus"}


def test_max_completion_tokens_cuts_the_json_with_length(sim: SimHandle) -> None:
    completion = chat(openai_client(sim), "a ticket", max_completion_tokens=5)
    choice = completion.choices[0]
    assert choice.finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 5
    with pytest.raises(ValueError):
        orjson.loads(choice.message.content or "")


def test_missing_key_is_an_authentication_error(sim: SimHandle) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(openai_client(sim), "hello", extra_headers={"Authorization": openai.Omit()})
    assert caught.value.type == "invalid_request_error"
    assert caught.value.response.headers["x-request-id"].startswith("req_")


def test_x_api_key_alone_is_not_accepted_by_openai(sim: SimHandle) -> None:
    headers = {"Authorization": openai.Omit(), "x-api-key": "sk-test"}
    with pytest.raises(openai.AuthenticationError):
        chat(openai_client(sim), "hello", extra_headers=headers)

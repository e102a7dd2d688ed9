"""The OpenAI Chat Completions API: `POST /v1/chat/completions`.

The key must come as `Authorization: Bearer`. Input tokens are the sum of `count_tokens` over
every message's text (string content, text parts, other parts as JSON, assistant tool-call
arguments), plus the compact JSON of `tools` and of `response_format.json_schema`.

The answer: with `tools` and a `tool_choice` other than `none`, one tool call to the named
function (`{"type": "function", ...}`) or else the first (`required`, and also `auto`), with
`finish_reason: "tool_calls"` (the real API says `"stop"` when a named function is forced;
clients should accept both); with a `json_schema` response format, content is JSON satisfying its
schema; with `json_object`, `{"answer": ...}`; otherwise plain text (see `answers`). An answer
longer than `max_completion_tokens` (or `max_tokens`) is cut mid-JSON with `finish_reason:
"length"`, as the real API does.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import orjson
from aiohttp import web

from simulator.answers import text_answer, value_for_schema
from simulator.limits import Rejection, Snapshot
from simulator.pipeline import Call, Dialect, ErrorKind, InvalidRequest, Reply
from simulator.tokens import count_json_tokens, count_tokens, fit_output
from simulator.wire import bearer_token, go_duration, new_id

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
#: Roles a chat message may have.
MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
#: OpenAI error type and code per simulator error kind, with its HTTP status.
ERRORS: dict[ErrorKind, tuple[int, str, str | None]] = {
    ErrorKind.AUTHENTICATION: (401, "invalid_request_error", None),
    ErrorKind.INVALID_REQUEST: (400, "invalid_request_error", None),
    ErrorKind.RATE_LIMIT: (429, "requests", "rate_limit_exceeded"),
    ErrorKind.SERVER: (500, "server_error", None),
    ErrorKind.OVERLOADED: (503, "server_error", None),
}


class OpenAIDialect(Dialect):
    """OpenAI's auth, error shapes, request ids and rate-limit headers."""

    api: ClassVar[str] = "openai"
    request_id_header: ClassVar[str] = "x-request-id"

    def new_request_id(self) -> str:
        return new_id("req_")

    def api_key(self, request: web.Request) -> str | None:
        return bearer_token(request)

    def error(
        self, kind: ErrorKind, message: str, request_id: str, rejection: Rejection | None = None
    ) -> tuple[int, dict[str, Any]]:
        status, error_type, code = ERRORS[kind]
        if rejection is not None and rejection.is_tokens:
            error_type = "tokens"
        return status, {
            "error": {"message": message, "type": error_type, "param": None, "code": code}
        }

    def rate_limit_headers(self, snapshot: Snapshot, now_wall_s: float) -> dict[str, str]:
        """`x-ratelimit-*-requests` for rpm; `x-ratelimit-*-tokens` for the tightest token limit."""
        headers: dict[str, str] = {}
        for name, state in (
            ("requests", snapshot.requests),
            ("tokens", snapshot.tightest_tokens()),
        ):
            if state is None:
                continue
            headers[f"x-ratelimit-limit-{name}"] = str(state.limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(state.remaining)
            headers[f"x-ratelimit-reset-{name}"] = go_duration(state.reset_in_s)
        return headers


def parse_chat_completion(body: dict[str, Any]) -> Call:
    """Validate a `POST /v1/chat/completions` body into a `Call`."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("you must provide a model parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in MESSAGE_ROLES:
            raise InvalidRequest(f"Invalid value for 'messages[{index}].role'.")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise InvalidRequest("max_completion_tokens must be a positive integer")
    function = _chosen_function(body.get("tools") or [], body.get("tool_choice"))
    schema, json_object = _response_format(body.get("response_format"))
    user_text = "\n".join(
        text
        for message in messages
        if message["role"] == "user"
        for text in _texts(message.get("content"))
    )
    input_tokens = _input_tokens(body, messages)

    def answer() -> Reply:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "annotations": [],
        }
        if function is not None:
            arguments = orjson.dumps(
                value_for_schema(function.get("parameters") or {}, user_text)
            ).decode()
            arguments, output_tokens, cut = fit_output(arguments, max_tokens)
            message["tool_calls"] = [
                {
                    "id": new_id("call_"),
                    "type": "function",
                    "function": {"name": function["name"], "arguments": arguments},
                }
            ]
            finish_reason = "length" if cut else "tool_calls"
        else:
            if schema is not None:
                text = orjson.dumps(value_for_schema(schema, user_text)).decode()
            elif json_object:
                text = orjson.dumps({"answer": text_answer(user_text)}).decode()
            else:
                text = text_answer(user_text)
            message["content"], output_tokens, cut = fit_output(text, max_tokens)
            finish_reason = "length" if cut else "stop"
        return Reply(
            _completion(model, message, finish_reason, input_tokens, output_tokens), output_tokens
        )

    return Call(model, input_tokens, max_tokens, answer)


def _completion(
    model: str,
    message: dict[str, Any],
    finish_reason: str,
    input_tokens: int,
    output_tokens: int,
) -> dict[str, Any]:
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": None,
    }


def _chosen_function(tools: Any, tool_choice: Any) -> dict[str, Any] | None:
    if not isinstance(tools, list):
        raise InvalidRequest("'tools' must be an array")
    functions = [
        t["function"]
        for t in tools
        if isinstance(t, dict)
        and t.get("type") == "function"
        and isinstance(t.get("function"), dict)
    ]
    if isinstance(tool_choice, dict):
        name = (tool_choice.get("function") or {}).get("name")
        for function in functions:
            if function.get("name") == name:
                return function
        raise InvalidRequest(f"Invalid value for 'tool_choice': no function named {name!r}.")
    if tool_choice == "required" and not functions:
        raise InvalidRequest("'tool_choice' is 'required' but no tools were given.")
    if tool_choice == "none" or not functions:
        return None
    return functions[0]


def _response_format(response_format: Any) -> tuple[dict[str, Any] | None, bool]:
    """(json schema, whether json_object) of a `response_format`."""
    if response_format is None:
        return None, False
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None, False
    if kind == "json_object":
        return None, True
    if kind == "json_schema":
        json_schema = response_format.get("json_schema")
        if not isinstance(json_schema, dict) or not isinstance(json_schema.get("name"), str):
            raise InvalidRequest("Missing required parameter: 'response_format.json_schema.name'.")
        schema = json_schema.get("schema")
        return (schema if isinstance(schema, dict) else {}), False
    raise InvalidRequest("Invalid value for 'response_format.type'.")


def _input_tokens(body: dict[str, Any], messages: list[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        total += sum(count_tokens(text) for text in _texts(message.get("content")))
        for call in message.get("tool_calls") or []:
            total += count_tokens(str((call.get("function") or {}).get("arguments", "")))
    if body.get("tools"):
        total += count_json_tokens(body["tools"])
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        total += count_json_tokens(response_format["json_schema"])
    return total


def _texts(content: Any) -> list[str]:
    """The text of a string content, or of each part (non-text parts as JSON)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        raise InvalidRequest("Invalid type for 'messages[].content'.")
    texts: list[str] = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        else:
            texts.append(orjson.dumps(part).decode())
    return texts

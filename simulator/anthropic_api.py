"""The Anthropic Messages API: `POST /v1/messages` and `POST /v1/messages/count_tokens`.

Accepts the key as `x-api-key` or `Authorization: Bearer` (anthropic 2.x sends the latter).

Input tokens are the sum of `count_tokens` over the system prompt, every message's text (string
content, text blocks, tool_result content), the compact JSON of each tool_use input and of any
other block, plus the JSON of the `tools` list and of `output_config.format`.

The answer: with client tools (ones with an `input_schema`) and a `tool_choice` other than
`none`, one `tool_use` block for the named tool (`{"type": "tool"}`) or else the first tool
(`any`, and also `auto`, since a classifier given a tool uses it); with `output_config.format`,
a text block holding JSON that satisfies its schema; otherwise a text block (see `answers`).
An answer longer than `max_tokens` stops with `max_tokens`: text is cut, tool input is `{}`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from aiohttp import web

from simulator.answers import text_answer, value_for_schema
from simulator.limits import LimitState, Rejection, Snapshot
from simulator.pipeline import Call, Dialect, ErrorKind, InvalidRequest, Reply
from simulator.tokens import count_json_tokens, count_tokens, fit_output
from simulator.wire import bearer_token, new_id, rfc3339

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
#: Anthropic error type per simulator error kind, with its HTTP status.
ERROR_TYPES = {
    ErrorKind.AUTHENTICATION: (401, "authentication_error"),
    ErrorKind.INVALID_REQUEST: (400, "invalid_request_error"),
    ErrorKind.RATE_LIMIT: (429, "rate_limit_error"),
    ErrorKind.SERVER: (500, "api_error"),
    ErrorKind.OVERLOADED: (529, "overloaded_error"),
}


class AnthropicDialect(Dialect):
    """Anthropic's auth, error shapes, request ids and rate-limit headers."""

    api: ClassVar[str] = "anthropic"
    request_id_header: ClassVar[str] = "request-id"

    def new_request_id(self) -> str:
        return new_id("req_")

    def api_key(self, request: web.Request) -> str | None:
        return request.headers.get("x-api-key") or bearer_token(request)

    def error(
        self, kind: ErrorKind, message: str, request_id: str, rejection: Rejection | None = None
    ) -> tuple[int, dict[str, Any]]:
        status, error_type = ERROR_TYPES[kind]
        body = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": request_id,
        }
        return status, body

    def rate_limit_headers(self, snapshot: Snapshot, now_wall_s: float) -> dict[str, str]:
        """`anthropic-ratelimit-*` for each configured limit; `tokens-*` is the tightest one.

        Unlike the real API, remaining token counts are exact, not rounded to thousands.
        """
        headers: dict[str, str] = {}
        groups: tuple[tuple[str, LimitState | None], ...] = (
            ("requests", snapshot.requests),
            ("input-tokens", snapshot.input_tokens),
            ("output-tokens", snapshot.output_tokens),
            ("tokens", snapshot.tightest_tokens()),
        )
        for name, state in groups:
            if state is None:
                continue
            prefix = f"anthropic-ratelimit-{name}-"
            headers[prefix + "limit"] = str(state.limit)
            headers[prefix + "remaining"] = str(state.remaining)
            headers[prefix + "reset"] = rfc3339(now_wall_s + state.reset_in_s)
        return headers


def parse_messages(body: dict[str, Any]) -> Call:
    """Validate a `POST /v1/messages` body into a `Call`."""
    model, messages = _model_and_messages(body)
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidRequest("max_tokens: Field required (a positive integer).")
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and "input_schema" in t]
    tool = _chosen_tool(tools, body.get("tool_choice"))
    output_format = _output_format(body)
    user_text = "\n".join(_user_texts(messages))
    input_tokens = _input_tokens(body, messages)

    def answer() -> Reply:
        content: list[dict[str, Any]]
        if tool is not None:
            tool_input = value_for_schema(tool["input_schema"], user_text)
            _, output_tokens, cut = fit_output(orjson.dumps(tool_input).decode(), max_tokens)
            content = [
                {
                    "type": "tool_use",
                    "id": new_id("toolu_"),
                    "name": tool["name"],
                    "input": {} if cut else tool_input,
                }
            ]
            stop_reason = "max_tokens" if cut else "tool_use"
        else:
            if output_format is not None:
                text = orjson.dumps(value_for_schema(output_format, user_text)).decode()
            else:
                text = text_answer(user_text)
            text, output_tokens, cut = fit_output(text, max_tokens)
            content = [{"type": "text", "text": text}]
            stop_reason = "max_tokens" if cut else "end_turn"
        return Reply(
            _message(model, content, stop_reason, input_tokens, output_tokens), output_tokens
        )

    return Call(model, input_tokens, max_tokens, answer)


def parse_count_tokens(body: dict[str, Any]) -> Call:
    """Validate a `POST /v1/messages/count_tokens` body into a `Call` (never answered)."""
    model, messages = _model_and_messages(body)
    _output_format(body)
    return Call(model, _input_tokens(body, messages), None, _no_answer)


def _no_answer() -> Reply:
    raise AssertionError("count_tokens calls are never answered")


def _message(
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str,
    input_tokens: int,
    output_tokens: int,
) -> dict[str, Any]:
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        },
    }


def _model_and_messages(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: Field required.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: Field required (a non-empty list).")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{index}.role: must be 'user' or 'assistant'.")
    return model, messages


def _chosen_tool(tools: list[dict[str, Any]], tool_choice: Any) -> dict[str, Any] | None:
    choice_type = tool_choice.get("type", "auto") if isinstance(tool_choice, dict) else "auto"
    if choice_type == "tool":
        name = tool_choice.get("name")
        for tool in tools:
            if tool.get("name") == name:
                return tool
        raise InvalidRequest(f"tool_choice.name: no tool named {name!r} in tools.")
    if choice_type == "any" and not tools:
        raise InvalidRequest("tool_choice: 'any' requires at least one tool.")
    if choice_type == "none" or not tools:
        return None
    return tools[0]


def _output_format(body: dict[str, Any]) -> dict[str, Any] | None:
    output_config = body.get("output_config")
    fmt = output_config.get("format") if isinstance(output_config, dict) else None
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise InvalidRequest("output_config.format.type: must be 'json_schema'.")
    if not isinstance(fmt.get("schema"), dict):
        raise InvalidRequest("output_config.format.schema: Field required.")
    return fmt["schema"]


def _input_tokens(body: dict[str, Any], messages: list[dict[str, Any]]) -> int:
    total = sum(count_tokens(text) for text in _texts(body.get("system")))
    for message in messages:
        total += sum(count_tokens(text) for text in _texts(message.get("content")))
    if body.get("tools"):
        total += count_json_tokens(body["tools"])
    output_config = body.get("output_config")
    if isinstance(output_config, dict) and output_config.get("format"):
        total += count_json_tokens(output_config["format"])
    return total


def _user_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [
        text
        for message in messages
        if message["role"] == "user"
        for text in _texts(message.get("content"))
    ]


def _texts(content: Any) -> list[str]:
    """The text of a string, or of each content block (tool_use input and others as JSON)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        raise InvalidRequest("content: must be a string or a list of content blocks.")
    texts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            raise InvalidRequest("content: each block must be an object.")
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_result":
            texts.extend(_texts(block.get("content")))
        elif kind == "tool_use":
            texts.append(orjson.dumps(block.get("input", {})).decode())
        else:
            texts.append(orjson.dumps(block).decode())
    return texts

"""Anthropic Messages API through the official async SDK; classify uses a forced tool call."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import anthropic

from worker.domain.config import ProviderConfig
from worker.domain.errors import ProviderError
from worker.domain.pricing import Usage
from worker.domain.tasks_spec import TaskRequest
from worker.providers.base import Completion, parsed, translate_sdk_error
from worker.providers.headers import anthropic_reports

TOOL_DESCRIPTION = "Record the answer. Always call this tool exactly once."  #: tool description


class AnthropicProvider:
    """One reusable ``AsyncAnthropic`` client; the SDK's own retries are off."""

    def __init__(self, *, name: str, config: ProviderConfig, api_key: str) -> None:
        self.name = name
        self._key = api_key
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=config.base_url, max_retries=0, timeout=config.timeout_s
        )

    async def complete(self, request: TaskRequest, *, model: str) -> Completion:
        kwargs = message_kwargs(request, model=model)
        try:
            raw = await self._client.messages.with_raw_response.create(**kwargs)
            message = await parsed(raw)
        except Exception as err:
            raise self._translate(err) from err
        completion = self._completion(message, request.output_name)
        return replace(completion, remaining=anthropic_reports(raw.headers))

    def _completion(self, message: Any, tool_name: str) -> Completion:
        usage = message.usage
        recorded = Usage(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cached_input_tokens=getattr(usage, "cache_read_input_tokens", None) or 0,
            cache_write_tokens=getattr(usage, "cache_creation_input_tokens", None) or 0,
        )
        request_id = getattr(message, "_request_id", None)
        for block in message.content:
            if block.type == "tool_use" and block.name == tool_name:
                return Completion(
                    output=block.input, text=None, usage=recorded, request_id=request_id
                )
        # no tool call: the executor judges the text answer as invalid output
        text = "".join(getattr(block, "text", "") for block in message.content)
        return Completion(output=None, text=text, usage=recorded, request_id=request_id)

    def _translate(self, err: Exception) -> ProviderError:
        return translate_sdk_error(err, anthropic, key=self._key, type_fields=("type",))

    async def aclose(self) -> None:
        await self._client.close()


def message_kwargs(request: TaskRequest, *, model: str) -> dict[str, Any]:
    """`messages.create` arguments for one task request: a forced tool call whose input schema
    is the task's output schema."""
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens,
        "messages": [{"role": "user", "content": request.prompt}],
        "tools": [
            {
                "name": request.output_name,
                "description": TOOL_DESCRIPTION,
                "input_schema": request.output_schema,
            }
        ],
        "tool_choice": {"type": "tool", "name": request.output_name},
    }
    if request.system:
        kwargs["system"] = request.system
    return kwargs

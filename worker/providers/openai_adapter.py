"""OpenAI Chat Completions (and OpenAI-compatible servers) through the official async SDK.

Classify uses ``response_format`` with a strict ``json_schema``; the content is JSON text.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import openai

from worker.domain.config import ProviderConfig, ProviderKind
from worker.domain.errors import ProviderError
from worker.domain.pricing import Usage
from worker.domain.tasks_spec import TaskRequest
from worker.providers.base import Completion, parsed, translate_sdk_error
from worker.providers.headers import openai_reports


class OpenAIProvider:
    """One reusable ``AsyncOpenAI`` client; the SDK's own retries are off."""

    def __init__(self, *, name: str, config: ProviderConfig, api_key: str) -> None:
        self.name = name
        self._key = api_key
        # self-hosted servers often predate max_completion_tokens; they all accept max_tokens
        self._max_tokens_field = (
            "max_tokens"
            if config.kind is ProviderKind.openai_compatible
            else "max_completion_tokens"
        )
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=config.base_url, max_retries=0, timeout=config.timeout_s
        )

    async def complete(self, request: TaskRequest, *, model: str) -> Completion:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            self._max_tokens_field: request.max_tokens,
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": request.output_name,
                    "strict": True,
                    "schema": request.output_schema,
                },
            },
        }
        try:
            raw = await self._client.chat.completions.with_raw_response.create(**kwargs)
            response = await parsed(raw)
        except Exception as err:
            raise self._translate(err) from err
        return replace(_completion(response), remaining=openai_reports(raw.headers))

    def _translate(self, err: Exception) -> ProviderError:
        return translate_sdk_error(err, openai, key=self._key, type_fields=("code", "type"))

    async def aclose(self) -> None:
        await self._client.close()


def _completion(response: Any) -> Completion:
    usage = response.usage
    details = getattr(usage, "prompt_tokens_details", None) if usage else None
    cached = (getattr(details, "cached_tokens", None) or 0) if details else 0
    prompt_tokens = (usage.prompt_tokens or 0) if usage else 0
    recorded = Usage(
        input_tokens=max(prompt_tokens - cached, 0),
        output_tokens=(usage.completion_tokens or 0) if usage else 0,
        cached_input_tokens=cached,
    )
    request_id = getattr(response, "_request_id", None)
    content = response.choices[0].message.content if response.choices else None
    try:
        output = json.loads(content) if content else None
    except json.JSONDecodeError:
        output = None  # the executor records this as invalid output
    return Completion(output=output, text=content, usage=recorded, request_id=request_id)

"""Shared constants and SDK helpers for the simulator tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import openai

from simulator.testing import SimHandle

API_KEY = "sk-test"
LABELS = ["billing", "bug", "feature_request", "other"]
#: A classification tool as Sluice sends it to Anthropic.
CLASSIFY_TOOL: dict[str, Any] = {
    "name": "classify",
    "description": "Record the ticket's category.",
    "input_schema": {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": LABELS},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["label", "confidence"],
    },
}
#: The same output as an OpenAI strict json_schema response format.
CLASSIFY_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "classification",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"label": {"type": "string", "enum": LABELS}},
            "required": ["label"],
            "additionalProperties": False,
        },
    },
}
SHORT_TIMEOUT_S = 0.3  #: client timeout for the timeout-fault tests

StartSim = Callable[..., SimHandle]  #: the start_sim fixture: SimConfig fields -> handle


def anthropic_client(sim: SimHandle, **options: Any) -> anthropic.Anthropic:
    options.setdefault("api_key", API_KEY)
    return anthropic.Anthropic(base_url=sim.base_url, max_retries=0, **options)


def openai_client(sim: SimHandle, **options: Any) -> openai.OpenAI:
    options.setdefault("api_key", API_KEY)
    return openai.OpenAI(base_url=sim.openai_base_url, max_retries=0, **options)


def classify(client: anthropic.Anthropic, text: str, **overrides: Any) -> anthropic.types.Message:
    """Send a forced-tool classification request the way Sluice's worker does."""
    params: dict[str, Any] = {
        "model": "claude-sim",
        "max_tokens": 256,
        "system": "Classify the support ticket.",
        "messages": [{"role": "user", "content": text}],
        "tools": [CLASSIFY_TOOL],
        "tool_choice": {"type": "tool", "name": "classify"},
    }
    params.update(overrides)
    return client.messages.create(**params)


def chat(client: openai.OpenAI, text: str, **overrides: Any) -> Any:
    """Send a json_schema classification request to the chat completions endpoint."""
    params: dict[str, Any] = {
        "model": "gpt-sim",
        "messages": [
            {"role": "system", "content": "Classify the support ticket."},
            {"role": "user", "content": text},
        ],
        "response_format": CLASSIFY_FORMAT,
    }
    params.update(overrides)
    return client.chat.completions.create(**params)

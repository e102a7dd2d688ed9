"""Deterministic token counting for the simulator.

The rule: one token per run of word characters (`\\w+`, Unicode-aware, so letters, digits
and underscores) and one per other non-space character (`[^\\w\\s]`); whitespace is free. So
`count_tokens('{"label": "billing"}') == 9` (`{ " label " : " billing " }`). It is not any real
tokenizer, only stable across runs, machines and Python versions, and cheap enough to run on every
request. Clients should treat it as a provider's opaque usage figure.

A request's input tokens are the sum of `count_tokens` over its text parts and the compact JSON
of its tool definitions and output schemas (see `anthropic_api` and `openai_api`). Its output
tokens are `count_tokens` of the produced text or JSON plus `OUTPUT_OVERHEAD_TOKENS`.
"""

from __future__ import annotations

import re

import orjson

#: One token: a run of word characters, or a single other non-space character.
TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")
#: Tokens added to every answer's output count, as real providers count stop tokens.
OUTPUT_OVERHEAD_TOKENS = 3


#: Distinct tool lists and schemas whose token counts are remembered; clients resend the same.
JSON_CACHE_SIZE = 1024

_json_token_cache: dict[bytes, int] = {}


def count_tokens(text: str) -> int:
    """Number of tokens in `text` under the simulator's rule (see the module docstring)."""
    return TOKEN_PATTERN.subn("", text)[1]  # counts matches without building a list of them


def count_json_tokens(value: object) -> int:
    """Tokens of `value` serialized as compact JSON (how tool definitions and schemas count)."""
    encoded = orjson.dumps(value)
    cached = _json_token_cache.get(encoded)
    if cached is None:
        if len(_json_token_cache) >= JSON_CACHE_SIZE:
            _json_token_cache.clear()
        cached = _json_token_cache[encoded] = count_tokens(encoded.decode())
    return cached


def output_tokens_for(text: str) -> int:
    """Output tokens billed for an answer whose produced text is `text`."""
    return count_tokens(text) + OUTPUT_OVERHEAD_TOKENS


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of `text` holding at most `max_tokens` tokens."""
    if max_tokens <= 0:
        return ""
    for index, match in enumerate(TOKEN_PATTERN.finditer(text), start=1):
        if index == max_tokens:
            return text[: match.end()]
    return text


def fit_output(text: str, max_tokens: int | None) -> tuple[str, int, bool]:
    """Cut `text` to a `max_tokens` budget: (text, output tokens billed, whether it was cut)."""
    full_tokens = output_tokens_for(text)
    if max_tokens is None or full_tokens <= max_tokens:
        return text, full_tokens, False
    return truncate_to_tokens(text, max_tokens - OUTPUT_OVERHEAD_TOKENS), max_tokens, True

"""The input-token estimate that sizes rate-limit reservations: tiktoken's exact count for
OpenAI models, and for the others a byte ratio that must stay above a real tokenizer's count
on real text."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import tiktoken
import yaml

from tests.conftest import SHARED_DATA
from worker.domain.config import ProviderKind, default_config_text, parse_config
from worker.domain.tasks_spec import build_request
from worker.tokens import (
    BYTES_PER_TOKEN,
    OFFLINE_ENCODING,
    REQUEST_OVERHEAD_TOKENS,
    estimate_request_tokens,
    estimate_text_tokens,
    expected_request_tokens,
)

SAMPLE = Path(__file__).resolve().parents[2] / "api" / "samples" / "support_tickets.jsonl"
BANKING77 = SHARED_DATA / "banking77" / "test.csv"
LABELS = ["billing", "technical", "account", "other"]
#: Claude's tokenizer is not public, and it yields more tokens than cl100k on English text. A
#: whole request (system, prompt, schema) must be estimated at least this far above cl100k.
REQUEST_MARGIN_OVER_CL100K = 1.5


def _cl100k(text: str) -> int:
    return len(tiktoken.get_encoding(OFFLINE_ENCODING).encode(text, disallowed_special=()))


def _assert_conservative(texts: list[str]) -> None:
    """Every text alone is estimated at or above cl100k's count, and every classify request
    built from it with the margin above (what a reservation actually holds)."""
    assert texts
    task = parse_config(yaml.safe_load(default_config_text())).tasks["classify"]
    for text in texts:
        assert estimate_text_tokens(text, kind=ProviderKind.anthropic) >= _cl100k(text), text
        request = build_request(task, text=text, params={"labels": LABELS})
        reserved = estimate_request_tokens(request, kind=ProviderKind.anthropic)
        assert reserved >= REQUEST_MARGIN_OVER_CL100K * expected_request_tokens(request), text


def test_the_byte_ratio_stays_above_a_real_tokenizer_on_the_demo_tickets() -> None:
    texts = [json.loads(line)["text"] for line in SAMPLE.read_text().splitlines() if line]
    _assert_conservative(texts)


@pytest.mark.skipif(not BANKING77.exists(), reason="../shared/data is absent on this machine")
def test_the_byte_ratio_stays_above_a_real_tokenizer_on_banking77() -> None:
    with BANKING77.open(encoding="utf-8", newline="") as source:
        texts = [row["text"] for row in csv.DictReader(source)]
    assert len(texts) == 3080
    _assert_conservative(texts)


def test_multibyte_text_is_counted_by_bytes_not_characters() -> None:
    text = "£20 fee, €15 refund"  # £ and € are two and three bytes in UTF-8
    assert estimate_text_tokens(text, kind=ProviderKind.anthropic) == -(
        -len(text.encode("utf-8")) // BYTES_PER_TOKEN
    )
    assert len(text.encode("utf-8")) > len(text)


@pytest.mark.parametrize("kind", [ProviderKind.openai, ProviderKind.openai_compatible])
def test_openai_style_models_get_tiktokens_exact_count(kind: ProviderKind) -> None:
    text = "My card payment is still pending after a week."
    assert estimate_text_tokens(text, kind=kind) == _cl100k(text)


def test_a_request_counts_system_prompt_and_schema_plus_framing() -> None:
    task = parse_config(yaml.safe_load(default_config_text())).tasks["classify"]
    request = build_request(task, text="Refund please", params={"labels": ["billing", "other"]})
    bare = estimate_text_tokens("Refund please", kind=ProviderKind.openai)

    tokens = estimate_request_tokens(request, kind=ProviderKind.openai)

    schema = json.dumps(request.output_schema, separators=(",", ":"))
    assert tokens > bare + _cl100k(schema) + REQUEST_OVERHEAD_TOKENS - 1

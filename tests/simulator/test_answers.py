"""Deterministic answers: the label marker, the hash choice, values for JSON schemas."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.answers import choose_label, label_marker, text_answer, value_for_schema

from .helpers import CLASSIFY_TOOL, LABELS


def test_label_marker_fixes_the_label_even_outside_the_enum() -> None:
    assert label_marker("please [[label:bug]] thanks") == "bug"
    assert choose_label("x [[label:bug]]", LABELS) == "bug"
    assert choose_label("x [[label:not-a-label]]", LABELS) == "not-a-label"
    schema = CLASSIFY_TOOL["input_schema"]
    assert value_for_schema(schema, "[[label:nonsense]]")["label"] == "nonsense"


def test_hash_choice_is_deterministic_and_within_the_enum() -> None:
    texts = [f"ticket number {i}" for i in range(200)]
    chosen = [choose_label(text, LABELS) for text in texts]
    assert chosen == [choose_label(text, LABELS) for text in texts]
    assert set(chosen) == set(LABELS)  # 200 texts reach every label
    # Pinned values: a change here changes every client's expected answers.
    assert chosen[:4] == ["bug", "other", "bug", "bug"]
    assert text_answer("hello") == text_answer("hello") != text_answer("hello!")


def test_value_for_schema_fills_every_type_within_bounds() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": LABELS},
            "score": {"type": "integer", "minimum": 3, "maximum": 5},
            "ratio": {"type": "number", "minimum": 0, "maximum": 1},
            "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "note": {"type": ["string", "null"], "maxLength": 6},
            "when": {"type": "string", "format": "date"},
            "nested": {"$ref": "#/$defs/Nested"},
        },
        "$defs": {"Nested": {"type": "object", "properties": {"n": {"const": 7}}}},
    }
    value = value_for_schema(schema, "some ticket")
    assert value["label"] in LABELS
    assert 3 <= value["score"] <= 5
    assert 0 < value["ratio"] < 1
    assert isinstance(value["ok"], bool)
    assert len(value["tags"]) == 2 and all(isinstance(tag, str) for tag in value["tags"])
    assert isinstance(value["note"], str) and len(value["note"]) <= 6
    assert value["when"] == "2024-01-01"
    assert value["nested"] == {"n": 7}
    assert value == value_for_schema(schema, "some ticket")


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        (
            {
                "type": "object",
                "properties": {"why": {"type": "string"}, "label": {"type": "string"}},
            },
            "label",
        ),
        (
            {
                "type": "object",
                "properties": {
                    "why": {"type": "string"},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                },
            },
            "kind",
        ),
        (
            {
                "type": "object",
                "properties": {"n": {"type": "integer"}, "text": {"type": "string"}},
            },
            "text",
        ),
    ],
)
def test_marker_goes_to_the_label_field(schema: dict[str, Any], field: str) -> None:
    assert value_for_schema(schema, "[[label:X]]")[field] == "X"


def test_hash_choice_for_label_field_matches_choose_label() -> None:
    schema = CLASSIFY_TOOL["input_schema"]
    for i in range(20):
        text = f"ticket {i}"
        assert value_for_schema(schema, text)["label"] == choose_label(text, LABELS)

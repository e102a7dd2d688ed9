"""Parsing JSONL and CSV: every problem names its line and field; real-world CSV survives."""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import SHARED_DATA
from worker.domain.errors import InvalidInput
from worker.domain.ingest import parse_csv, parse_jsonl, parse_stream

BANKING77 = SHARED_DATA / "banking77" / "test.csv"


def test_jsonl_keeps_ids_text_metadata_and_extra_fields_as_payload() -> None:
    lines = [
        json.dumps(
            {
                "id": 7,
                "text": "Où est ma carte ? £5 €",
                "metadata": {"src": "app"},
                "language": "fr",
            }
        ).encode(),
        b"",
        b'{"id": "b", "text": "second"}',
    ]

    result = parse_jsonl(lines, max_chars=1000)

    assert result.problem_count == 0
    first, second = result.items
    assert (first.item_id, first.text, first.line) == ("7", "Où est ma carte ? £5 €", 1)
    assert first.metadata == {"src": "app"}
    assert first.payload == {"language": "fr"}
    assert (second.item_id, second.line, second.payload) == ("b", 3, None)


def test_every_problem_is_counted_and_the_first_is_reported() -> None:
    lines = [b'{"id": "a"}', b'{"text": "no id"}', b'{"id": "c", "text": "", "x": 1}', b"{"]

    result = parse_jsonl(lines, max_chars=1000)

    assert result.problem_count == 4
    assert [str(p) for p in result.problems] == [
        "line 1, field 'text': is missing",
        "line 2, field 'id': is missing",
        "line 3, field 'text': is empty",
        "line 4: is not valid JSON (Expecting property name enclosed in double quotes)",
    ]
    with pytest.raises(InvalidInput, match=r"^line 1, field 'text': is missing \(3 more"):
        result.raise_if_problems()


def test_deeply_nested_metadata_is_refused() -> None:
    nested: dict[str, object] = {}
    cursor = nested
    for _ in range(20):
        cursor["x"] = {}
        cursor = cursor["x"]  # type: ignore[assignment]
    line = json.dumps({"id": "a", "text": "t", "metadata": nested}).encode()

    result = parse_jsonl([line], max_chars=1000)

    assert str(result.problems[0]) == "line 1, field 'metadata': is nested deeper than 8 levels"


def test_csv_with_quotes_commas_and_no_id_column_uses_line_numbers() -> None:
    data = b'text,channel\n"Hello, ""world""",email\n"multi\nline",chat\nplain,web\n'

    result = parse_csv(data, max_chars=1000)

    assert result.problem_count == 0
    assert [(i.item_id, i.text, i.metadata) for i in result.items] == [
        ("2", 'Hello, "world"', {"channel": "email"}),
        ("4", "multi\nline", {"channel": "chat"}),
        ("5", "plain", {"channel": "web"}),
    ]


def test_csv_without_text_column_and_with_ragged_rows_is_refused() -> None:
    assert str(parse_csv(b"id,body\n1,x\n", max_chars=10).problems[0]) == (
        "line 1, field 'text': column is missing from the CSV header"
    )
    ragged = parse_csv(b"id,text\n1,a,extra\n", max_chars=10)
    assert str(ragged.problems[0]) == "line 2: has more columns than the header"


def test_format_is_detected_from_name_or_first_byte() -> None:
    jsonl = parse_stream(io.BytesIO(b'{"id":"a","text":"t"}\n'), name="-", max_chars=10)
    csv_ = parse_stream(io.BytesIO(b"id,text\na,t\n"), name="-", max_chars=10)
    assert [i.item_id for i in jsonl.items] == ["a"] == [i.item_id for i in csv_.items]


@pytest.mark.skipif(not BANKING77.exists(), reason="../shared/data is absent on this machine")
def test_banking77_csv_parses_whole_with_currency_symbols_intact() -> None:
    result = parse_stream(BANKING77.open("rb"), name=BANKING77.name, max_chars=100_000)

    assert result.problem_count == 0
    assert len(result.items) == 3080
    texts = [item.text for item in result.items]
    assert any("£" in t for t in texts) and any("€" in t for t in texts)
    assert len({item.item_id for item in result.items}) == 3080
    categories = json.loads((BANKING77.parent / "categories.json").read_text())
    assert {item.metadata["category"] for item in result.items if item.metadata} == set(categories)


def test_an_integer_id_of_thousands_of_digits_is_a_line_problem() -> None:
    line = b'{"id": ' + b"9" * 5000 + b', "text": "t"}'

    result = parse_jsonl([line], max_chars=100)

    assert str(result.problems[0]) == "line 1: is not valid JSON (a number is too long)"


def test_a_csv_field_longer_than_the_csv_modules_default_is_judged_by_our_limit() -> None:
    data = ("id,text\n1," + "x" * 150_000 + "\n").encode()

    result = parse_csv(data, max_chars=100_000)

    assert str(result.problems[0]) == (
        "line 2, field 'text': has 150,000 characters, over the limit of 100,000"
    )

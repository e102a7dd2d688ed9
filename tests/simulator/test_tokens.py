"""The token-counting rule: word runs and single punctuation characters."""

from __future__ import annotations

from simulator import count_tokens
from simulator.tokens import OUTPUT_OVERHEAD_TOKENS, fit_output, truncate_to_tokens


def test_count_tokens_counts_word_runs_and_each_punctuation_character() -> None:
    assert count_tokens("") == 0
    assert count_tokens("   \n\t") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens('{"label": "billing"}') == 9
    assert count_tokens("snake_case and 42.5%") == 6
    assert count_tokens("naïve café") == 2


def test_count_tokens_is_stable_for_the_same_text() -> None:
    text = "My invoice from March was charged twice!"
    assert count_tokens(text) == count_tokens(text) == 8


def test_truncate_to_tokens_keeps_the_longest_prefix_within_the_budget() -> None:
    assert truncate_to_tokens('{"label": "billing"}', 4) == '{"label"'
    assert truncate_to_tokens("a b", 5) == "a b"
    assert truncate_to_tokens("a b", 0) == ""


def test_fit_output_bills_overhead_and_cuts_at_max_tokens() -> None:
    assert fit_output("one two", None) == ("one two", 2 + OUTPUT_OVERHEAD_TOKENS, False)
    assert fit_output("one two", 100) == ("one two", 2 + OUTPUT_OVERHEAD_TOKENS, False)
    text, billed, cut = fit_output("one two three four five", OUTPUT_OVERHEAD_TOKENS + 2)
    assert (text, billed, cut) == ("one two", OUTPUT_OVERHEAD_TOKENS + 2, True)

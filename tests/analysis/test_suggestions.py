"""Cheap divergence signals: each one on and off."""

from analysis.suggestions import (
    format_signal,
    length_ratio,
    markdown_structure,
    refusal_phrase,
    refusal_signal,
    suggest,
    verbosity_signal,
)

SHORT = "Paris is the capital of France."
LONG = SHORT + " " + "It has been the seat of government for centuries, with a long history. " * 6
STRUCTURED = "# Capital\n\n- Paris\n- on the Seine\n- 2.1 million people\n\n```\ncode\n```\n"


def test_length_ratio_suggests_verbosity_with_its_evidence():
    suggestion = verbosity_signal(SHORT, LONG)
    assert suggestion.category == "Verbosity"
    assert "B is" in suggestion.evidence and f"{len(LONG.strip()):,}" in suggestion.evidence
    assert length_ratio(SHORT, LONG) == len(LONG.strip()) / len(SHORT)


def test_similar_lengths_or_small_differences_suggest_nothing():
    assert verbosity_signal(LONG, LONG + " Yes.") is None
    assert verbosity_signal("Yes.", "Yes, it is.") is None  # a big ratio, but a few characters
    assert verbosity_signal("", LONG) is None


def test_markdown_structure_difference_suggests_format():
    assert markdown_structure(STRUCTURED) == {
        "headings": 1,
        "bullet items": 3,
        "numbered items": 0,
        "code blocks": 1,
        "table rows": 0,
    }
    suggestion = format_signal(SHORT, STRUCTURED)
    assert suggestion.category == "Format"
    assert "B: 1 headings, 3 bullet items, 1 code blocks" in suggestion.evidence
    assert "A: no markdown structure" in suggestion.evidence


def test_the_same_structure_suggests_no_format():
    assert format_signal(STRUCTURED, STRUCTURED.replace("Paris", "Lyon")) is None
    assert format_signal(SHORT, SHORT + "\n\n- one item") is None


def test_one_refusal_suggests_comply_vs_refuse():
    refusal = "I'm sorry, but I can't help with that request."
    assert refusal_phrase(refusal) == "I'm sorry, but"
    suggestion = refusal_signal(SHORT, refusal)
    assert suggestion.category == "Comply vs. refuse"
    assert suggestion.evidence.startswith("B refuses")


def test_two_refusals_suggest_refuse_vs_refuse():
    suggestion = refusal_signal("I cannot assist with this.", "As an AI, I cannot do that.")
    assert suggestion.category == "Refuse vs. refuse"


def test_no_refusal_and_late_phrases_suggest_nothing():
    assert refusal_signal(SHORT, LONG) is None
    late = "x" * 500 + " I cannot help with that."
    assert refusal_phrase(late) is None


def test_suggest_lists_every_signal_that_fires_in_order():
    refusal = "I'm sorry, but I won't write that."
    assert [s.category for s in suggest(refusal, STRUCTURED + LONG)] == [
        "Verbosity",
        "Format",
        "Comply vs. refuse",
    ]
    assert suggest(SHORT, SHORT) == []

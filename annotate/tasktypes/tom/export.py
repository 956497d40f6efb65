"""``tom`` export: one row per (annotation, question) (``tom_answers``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..base import ExportShape, ItemSummary
from .analysis import is_inconsistent
from .schemas import questions_in_order


def tom_answer_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]],
) -> Iterator[dict[str, Any]]:
    """One row per (annotation, question): the answer, its text, gold, correctness, confidence,
    and the annotator's consistency flag (see ``is_inconsistent``)."""
    for item, labels, _summary in records:
        questions = questions_in_order(item.payload)
        for label in labels:
            value = label["value"]
            inconsistent = is_inconsistent(item.payload, value)
            for question in questions:
                answer = value["answers"].get(question["id"])
                texts = {c["label"]: c["text"] for c in question["choices"]}
                gold = question.get("answer")
                yield {
                    "external_id": item.external_id,
                    "annotator": label["annotator"],
                    "question_id": question["id"],
                    "kind": question["kind"],
                    "answer": answer,
                    "answer_text": texts.get(answer),
                    "gold": gold,
                    "correct": None if gold is None else answer == gold,
                    "confidence": value.get("confidence", {}).get(question["id"]),
                    "inconsistent": inconsistent,
                }


def summary_key(value: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """What the type's ``summarize`` reads of a value: its answers (the label and the answer
    distribution are made of them)."""
    return tuple(sorted(value["answers"].items()))


EXPORT_SHAPES = (
    ExportShape(
        "tom_answers",
        tom_answer_rows,
        help="one row per annotation and question: answer, gold, confidence, consistency",
    ),
)

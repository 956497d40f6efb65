"""``tom`` analysis: one nominal field per question kind, scored against gold, and SimpleToM's
consistency check as a field of its own (SPEC 5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import AgreementField
from .schemas import KIND_LABELS, KINDS


def is_inconsistent(payload: Mapping[str, Any], value: Mapping[str, Any]) -> bool | None:
    """SimpleToM's consistency check for one annotator: answering that X is *not* aware and then
    judging X's (unaware) behavior "not reasonable" contradicts itself. ``None`` when the item has
    no mental-state/judgment pair with yes-no and reasonable-not-reasonable choices."""
    answers = value.get("answers", {})
    unaware = judged_unreasonable = None
    for question in payload.get("questions", []):
        chosen = next(
            (c for c in question["choices"] if c["label"] == answers.get(question["id"])), None
        )
        if chosen is None:
            continue
        text = chosen["text"].strip().lower().rstrip(".")
        if question["kind"] == "mental_state" and text in {"yes", "no"}:
            unaware = text == "no"
        elif question["kind"] == "judgment" and text in {"reasonable", "not reasonable"}:
            judged_unreasonable = text == "not reasonable"
    if unaware is None or judged_unreasonable is None:
        return None
    return unaware and judged_unreasonable


def agreement_fields() -> list[AgreementField]:
    """One nominal field per question kind (the first question of that kind in an item),
    scored against the question's gold answer where it has one; the consistency flag of
    SimpleToM as a field of its own (its agreement, and how often it is raised)."""
    fields = [
        AgreementField(
            kind,
            f"{KIND_LABELS[kind]} answer",
            "nominal",
            extract=_answer_of_kind(kind),
            reference=_gold_of_kind(kind),
            primary=kind == KINDS[0],
        )
        for kind in KINDS
    ]
    fields.append(
        AgreementField(
            "inconsistent",
            "Inconsistent (unaware, yet unreasonable)",
            "nominal",
            extract=is_inconsistent_value,
        )
    )
    return fields


def _question_of_kind(payload: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    return next((q for q in payload.get("questions", []) if q.get("kind") == kind), None)


def _answer_of_kind(kind: str) -> Any:
    def answer(value: Mapping[str, Any], payload: Mapping[str, Any]) -> str | None:
        question = _question_of_kind(payload, kind)
        return None if question is None else value.get("answers", {}).get(question["id"])

    return answer


def _gold_of_kind(kind: str) -> Any:
    def gold(payload: Mapping[str, Any]) -> str | None:
        question = _question_of_kind(payload, kind)
        return None if question is None else question.get("answer")

    return gold


def is_inconsistent_value(value: Mapping[str, Any], payload: Mapping[str, Any]) -> bool | None:
    return is_inconsistent(payload, value)

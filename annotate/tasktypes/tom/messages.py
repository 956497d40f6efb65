"""``tom`` errors in the annotator's words (see ``annotate.messages``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annotate.messages import plain_message


def _question(payload: Mapping[str, Any], question_id: str) -> str:
    for index, question in enumerate(payload.get("questions", [])):
        if str(question.get("id")) == question_id:
            return f"Question {index + 1}"
    return "A question not in this story"


def describe(path: tuple[str, ...], message: str, payload: Mapping[str, Any]) -> str | None:
    """Words for one question's answer and its confidence."""
    if len(path) == 2 and path[0] == "answers":
        if message.startswith("required") or message == "Field required":
            return f"{_question(payload, path[1])}: choose an answer"
        return f"{_question(payload, path[1])}: {plain_message(message)}"
    if len(path) == 2 and path[0] == "confidence":
        return f"{_question(payload, path[1])}: confidence is a number from 1 to 5"
    if path == ("answers",):
        return "Answer every question"
    return None


def answer_summary(
    value: Mapping[str, Any], *, payload: Mapping[str, Any], shown_order: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Each question's answer (its choice text) and confidence, numbered as on screen."""
    lines = []
    answers = value.get("answers") or {}
    confidence = value.get("confidence") or {}
    for index, question in enumerate(payload.get("questions", [])):
        label = answers.get(question.get("id"))
        if label is None:
            continue
        texts = {choice.get("label"): choice.get("text") for choice in question.get("choices", [])}
        shown = f"{label}: {texts.get(label, '')}".rstrip(": ")
        if question.get("id") in confidence:
            shown += f" (confidence {confidence[question['id']]} of 5)"
        lines.append((f"Question {index + 1}", shown))
    return lines


def answer_as_form(
    value: Mapping[str, Any], *, shown_order: Mapping[str, Any]
) -> dict[str, list[str]]:
    """The answer as the form's fields (the inverse of ``form_to_value``)."""
    fields = {f"answer:{qid}": [str(label)] for qid, label in (value.get("answers") or {}).items()}
    for qid, level in (value.get("confidence") or {}).items():
        fields[f"confidence:{qid}"] = [str(level)]
    return fields

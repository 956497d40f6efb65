"""``derailment`` errors in the annotator's words (see ``annotate.messages``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from annotate.messages import plain_message

_AFTER = re.compile(r"comment (\d+) vs (\d+)")


def _comment_number(payload: Mapping[str, Any], comment_id: str) -> str:
    for index, comment in enumerate(payload.get("comments", [])):
        if str(comment.get("id")) == comment_id:
            return f"comment #{index + 1}"
    return "a comment that is not in this thread"


def describe(path: tuple[str, ...], message: str, payload: Mapping[str, Any]) -> str | None:
    """Words for the toxic comment, the derailment point and the tones of one comment."""
    head = path[0] if path else ""
    if head in {"toxic", "toxic_comment"}:
        if message == "Field required" or message.startswith("required"):
            return 'Toxic comment: choose the toxic comment, or "no toxic comment"'
        return f"Toxic comment: {plain_message(message)}"
    if head == "derailment_comment":
        if message == "Field required":
            return 'Derailment point: choose where the conversation derails, or "never derails"'
        after = _AFTER.search(message)
        if after:
            return (
                f"Derailment point: comment #{after.group(1)} comes after the toxic comment "
                f"(#{after.group(2)}); choose the toxic comment or one before it"
            )
        if message.startswith("required when toxic is true"):
            return (
                'Derailment point: a thread with a toxic comment cannot "never derail"; choose '
                "the toxic comment or the comment where it started to derail"
            )
        if message.startswith("must be null when toxic is false"):
            return (
                'Derailment point: a thread with "no toxic comment" never derails; choose '
                '"never derails" or mark the toxic comment'
            )
        return f"Derailment point: {plain_message(message)}"
    if head == "tones" and len(path) > 1:
        return f"Tones of {_comment_number(payload, path[1])}: {plain_message(message)}"
    return None


def answer_summary(
    value: Mapping[str, Any], *, payload: Mapping[str, Any], shown_order: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """The toxic comment, the derailment point and the tones, by comment number."""
    toxic = value.get("toxic_comment")
    derailment = value.get("derailment_comment")
    lines = [
        ("Toxic comment", _comment_number(payload, toxic) if toxic else "no toxic comment"),
        (
            "Derailment point",
            _comment_number(payload, derailment) if derailment else "never derails",
        ),
    ]
    for comment_id, tones in (value.get("tones") or {}).items():
        lines.append((f"Tones of {_comment_number(payload, comment_id)}", ", ".join(tones)))
    return lines


def answer_as_form(
    value: Mapping[str, Any], *, shown_order: Mapping[str, Any]
) -> dict[str, list[str]]:
    """The answer as the form's fields (the inverse of ``form_to_value``)."""
    toxic = value.get("toxic_comment")
    derailment = value.get("derailment_comment")
    fields = {
        "toxic_comment": [f"c:{toxic}" if toxic else "none"],
        "derailment_comment": [f"c:{derailment}" if derailment else "never"],
    }
    for comment_id, tones in (value.get("tones") or {}).items():
        fields[f"tones:{comment_id}"] = [str(tone) for tone in tones]
    return fields

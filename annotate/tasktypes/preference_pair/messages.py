"""``preference_pair`` errors in the annotator's words (see ``annotate.messages``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annotate.messages import plain_message


def describe(path: tuple[str, ...], message: str, payload: Mapping[str, Any]) -> str | None:
    """Words for the overall preference, an aspect, the rationale and the flags."""
    head = path[0] if path else ""
    if head == "preference":
        return "Which response is better: choose one point on the scale"
    if head == "aspects" and len(path) > 1:
        return f"{path[1].replace('_', ' ').capitalize()}: choose one point on the scale"
    if head == "rationale":
        return f"Rationale: {plain_message(message)}"
    if head == "flags":
        return f"Flags: {plain_message(message)}"
    return None


_SHOWN = {
    -2: "Left much better",
    -1: "Left better",
    0: "About the same",
    1: "Right better",
    2: "Right much better",
}


def answer_summary(
    value: Mapping[str, Any], *, payload: Mapping[str, Any], shown_order: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """The answer as it was shown: left and right in the order this annotator saw them."""
    flip = shown_order.get("left") == "b"

    def shown(vote: Any) -> str:
        if not isinstance(vote, int):
            return str(vote)
        return _SHOWN.get(-vote if flip else vote, str(vote))

    lines = [("Which response is better", shown(value.get("preference")))]
    for aspect, vote in (value.get("aspects") or {}).items():
        lines.append((aspect.replace("_", " ").capitalize(), shown(vote)))
    if value.get("rationale"):
        lines.append(("Why", str(value["rationale"])))
    if value.get("flags"):
        lines.append(("Flags", ", ".join(map(str, value["flags"]))))
    return lines


def answer_as_form(
    value: Mapping[str, Any], *, shown_order: Mapping[str, Any]
) -> dict[str, list[str]]:
    """The answer as the form's fields, so a reopened item shows it in its controls (the
    inverse of ``form_to_value``)."""
    flip = shown_order.get("left") == "b"

    def shown(vote: Any) -> str:
        return str(-vote if flip and isinstance(vote, int) else vote)

    fields = {"preference": [shown(value.get("preference"))]}
    for aspect, vote in (value.get("aspects") or {}).items():
        fields[f"aspect_{aspect}"] = [shown(vote)]
    fields["rationale"] = [str(value.get("rationale") or "")]
    fields["flags"] = [str(flag) for flag in value.get("flags") or []]
    return fields

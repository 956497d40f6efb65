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

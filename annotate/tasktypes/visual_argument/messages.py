"""``visual_argument`` errors in the annotator's words (see ``annotate.messages``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annotate.messages import plain_message

_KINDS = {
    "visual_premises": "Visual premise",
    "commonsense_premises": "Common-sense premise",
    "reasoning_steps": "Reasoning step",
}
_LIST_MISSING = {
    "visual_premises": "Draw at least one box and describe what it shows",
    "reasoning_steps": "Add at least one reasoning step",
    "commonsense_premises": "Common-sense premises: please check them",
}
_PART = {
    ("visual_premises", "text"): "describe what the box shows",
    ("visual_premises", "box"): "draw its box on the image",
    ("commonsense_premises", "text"): "write the premise",
    ("reasoning_steps", "from"): "choose where it starts",
    ("reasoning_steps", "to"): "choose what it leads to",
}


def describe(path: tuple[str, ...], message: str, payload: Mapping[str, Any]) -> str | None:
    """Words for premises, boxes, reasoning steps, the conclusion and the identification
    choice, numbered from 1 as on screen."""
    head = path[0] if path else ""
    if head == "conclusion":
        return "Conclusion: write the conclusion"
    if head == "choice":
        return "Choose one of the options"
    if head not in _KINDS:
        return None
    if len(path) == 1:
        if message == "Field required" or message.startswith("List should have at least"):
            return _LIST_MISSING[head]
        return f"{_KINDS[head]}s: {plain_message(message)}"
    if not path[1].isdigit():
        return None
    label = f"{_KINDS[head]} {int(path[1]) + 1}"
    part = path[2] if len(path) > 2 else ""
    structural = message in {"Field required"} or message.startswith(
        ("List should have at least", "String should have at least")
    )
    if (head, part) in _PART and structural:
        return f"{label}: {_PART[head, part]}"
    return f"{label}: {plain_message(message)}"


def answer_summary(
    value: Mapping[str, Any], *, payload: Mapping[str, Any], shown_order: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Premises, steps and conclusion in words, numbered from 1 (boxes are on the image)."""
    if "choice" in value:
        return [("Your choice", str(value["choice"]))]
    lines = []
    for index, premise in enumerate(value.get("visual_premises") or []):
        lines.append((f"Visual premise {index + 1} ({premise.get('id')})", premise.get("text", "")))
    for index, premise in enumerate(value.get("commonsense_premises") or []):
        lines.append(
            (f"Common-sense premise {index + 1} ({premise.get('id')})", premise.get("text", ""))
        )
    for index, step in enumerate(value.get("reasoning_steps") or []):
        sources = " + ".join(step.get("from") or [])
        lines.append((f"Reasoning step {index + 1}", f"{sources} → {step.get('to', '')}"))
    if value.get("conclusion"):
        lines.append(("Conclusion", str(value["conclusion"])))
    return lines

"""``visual_argument`` import adapter: VisArgs annotation rows, one per image (``visargs``;
Chung et al., 2024), with their structure as the item's reference."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from core.errors import FieldError, SchemaError

_STEP = re.compile(
    r"^\s*\(\s*(?P<inputs>[^()]*?)\s*->\s*(?P<to>[A-Za-z0-9]+)\s*\)\s*:?\s*(?P<text>.*)$", re.DOTALL
)


def parse_reasoning_step(raw: str) -> dict[str, Any]:
    """``"(VP1, CP1 -> IC1): text"`` → ``{"from": ["VP1", "CP1"], "to": "IC1", "text": "text"}``."""
    match = _STEP.match(raw)
    if not match:
        raise ValueError(f"not a step like '(VP1, CP1 -> IC1): text': {raw[:80]!r}")
    inputs = [part.strip() for part in match.group("inputs").split(",") if part.strip()]
    if not inputs:
        raise ValueError(f"the step has no inputs: {raw[:80]!r}")
    return {"from": inputs, "to": match.group("to").strip(), "text": match.group("text").strip()}


def _texts(row: Mapping[str, Any], field: str, errors: list[FieldError]) -> list[str]:
    value = row.get(field, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(FieldError(field, "must be a list of strings"))
        return []
    return value


def visargs_records(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """VisArgs annotation rows (one per image) → items with the row's structure as reference.

    ``b_box[i]`` (``startX``, ``startY``, ``w``, ``h`` in image pixels) is the box of
    ``visual_premises[i]``, whose id becomes ``VP<i+1>``; commonsense premises become ``CP<i+1>``;
    reasoning steps are parsed from their ``(inputs -> output): text`` strings. The external id is
    the row's ``id`` when present, else the image file name of ``url``.
    """
    for line, row in rows:
        if not isinstance(row, dict):
            yield line, row
            continue
        errors: list[FieldError] = []
        url = str(row.get("url") or row.get("image") or "").strip()
        if not url:
            errors.append(FieldError("url", "required: the image URL"))
        premises = _texts(row, "visual_premises", errors)
        commonsense = _texts(row, "commonsense_premises", errors)
        step_texts = _texts(row, "reasoning_steps", errors)
        boxes = row.get("b_box", [])
        if not isinstance(boxes, list):
            errors.append(FieldError("b_box", "must be a list of {startX, startY, w, h}"))
            boxes = []
        elif len(boxes) != len(premises):
            errors.append(
                FieldError(
                    "b_box",
                    f"{len(boxes)} boxes for {len(premises)} visual "
                    "premises; they pair up one to one",
                )
            )
        visual = []
        for index, (text, box) in enumerate(zip(premises, boxes, strict=False)):
            try:
                shaped = {"x": box["startX"], "y": box["startY"], "w": box["w"], "h": box["h"]}
            except (KeyError, TypeError):
                errors.append(FieldError(f"b_box.{index}", "must have startX, startY, w and h"))
                continue
            visual.append({"id": f"VP{index + 1}", "text": text, "box": shaped})
        steps = []
        for index, raw in enumerate(step_texts):
            try:
                steps.append(parse_reasoning_step(raw))
            except ValueError as exc:
                errors.append(FieldError(f"reasoning_steps.{index}", str(exc)))
        if errors:
            yield line, SchemaError(errors)
            continue
        external_id = str(row.get("id") or "").strip() or PurePosixPath(url.split("?")[0]).name
        record: dict[str, Any] = {
            "external_id": external_id,
            "image": url,
            "reference": {
                "visual_premises": visual,
                "commonsense_premises": [
                    {"id": f"CP{index + 1}", "text": text} for index, text in enumerate(commonsense)
                ],
                "reasoning_steps": steps,
                "conclusion": str(row.get("conclusion", "")),
            },
        }
        if row.get("conclusion"):
            record["conclusion"] = str(row["conclusion"])
        if row.get("description"):
            record["description"] = str(row["description"])
        yield line, record

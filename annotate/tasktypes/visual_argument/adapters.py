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


# --- VisArgs negative sets: premise identification items

OPTIONS_SUFFIX = "_vp_options"
ANSWER_SUFFIX = "_answer"
OPTION_IDS = "ABCDEFGHIJ"  # the item schema takes at most 10 premise options
NEGATIVESET_CSV_COLUMNS = frozenset(
    {
        "negativeset",
        "easy_vp_options",
        "hard_clip_vp_options",
        "hard_colbert_vp_options",
        "hard_colbert_clip_vp_options",
        "hard_semantic_vp_options",
    }
)
"""Columns of a CSV manifest holding JSON: the published negative sets' option lists."""


def _answer_index(
    answer: Any, options: list[str], field: str
) -> tuple[int | None, FieldError | None]:
    """The 0-based index of the right option: an integer index (or its digits, as a CSV gives
    them), or the text of exactly one option."""
    if isinstance(answer, str) and answer.strip().isdigit():
        answer = int(answer.strip())
    if isinstance(answer, int) and not isinstance(answer, bool):
        if 0 <= answer < len(options):
            return answer, None
        return None, FieldError(
            field,
            f"{answer} is not among the options: the answer is the 0-based index of the right "
            f"option, 0 to {len(options) - 1}",
        )
    if isinstance(answer, str) and options.count(answer) == 1:
        return options.index(answer), None
    return None, FieldError(
        field,
        "must be the 0-based index of the right option (or the text of exactly one option); "
        f"got {answer!r}",
    )


def _negative_sets(
    entry: Mapping[str, Any], prefix: str, errors: list[FieldError]
) -> list[tuple[str, list[str], int]]:
    """``(name, options, answer index)`` of each ``<name>_vp_options`` / ``<name>_answer`` pair
    of ``entry``, in the entry's order."""
    found = []
    names = [key[: -len(OPTIONS_SUFFIX)] for key in entry if key.endswith(OPTIONS_SUFFIX)]
    for key in entry:
        if key.endswith(ANSWER_SUFFIX) and key[: -len(ANSWER_SUFFIX)] not in names:
            errors.append(
                FieldError(
                    f"{prefix}{key}",
                    f"an answer without its options: no {key[: -len(ANSWER_SUFFIX)]}"
                    f"{OPTIONS_SUFFIX} beside it",
                )
            )
    for name in names:
        options_field = f"{prefix}{name}{OPTIONS_SUFFIX}"
        answer_field = f"{prefix}{name}{ANSWER_SUFFIX}"
        options = entry[f"{name}{OPTIONS_SUFFIX}"]
        if (
            not isinstance(options, list)
            or not all(isinstance(o, str) and o.strip() for o in options)
            or not 2 <= len(options) <= len(OPTION_IDS)
        ):
            errors.append(
                FieldError(
                    options_field,
                    f"must be a list of 2 to {len(OPTION_IDS)} non-empty premise texts",
                )
            )
            continue
        if f"{name}{ANSWER_SUFFIX}" not in entry:
            errors.append(FieldError(answer_field, f"required beside {name}{OPTIONS_SUFFIX}"))
            continue
        index, problem = _answer_index(entry[f"{name}{ANSWER_SUFFIX}"], options, answer_field)
        if problem is not None or index is None:
            errors.append(problem or FieldError(answer_field, "not an option"))
            continue
        found.append((name, options, index))
    if not names:
        errors.append(
            FieldError(
                prefix.rstrip(".") or "(row)",
                "no negative set: expected option lists such as easy_vp_options with their "
                "answers (easy_answer)",
            )
        )
    return found


def visargs_negativeset_records(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """VisArgs ``negativeset`` rows → premise identification items, one per negative set.

    A row is one image (``url``, ``conclusion``, ``id``) with its negative sets, either in a
    ``negativeset`` list of entries (the dataset's combined layout) or as the row's own fields
    (one entry per row). An entry has a ``description`` and, for each negative set ``<name>``
    (``easy``, ``hard_clip``, ``hard_colbert``, ``hard_colbert_clip``, ``hard_semantic``), the
    option list ``<name>_vp_options`` and ``<name>_answer``, the 0-based index of the right
    option. Each set becomes an item whose premise options are ``A``, ``B``, ... in the published
    order, whose ``answer`` is the right one's id (the reference the accuracy is scored against),
    and whose ``metadata.negative_set`` is the set's name, so accuracy splits by set as in the
    paper. The external id is ``<id>:<name>`` (``<id>:<entry number>:<name>`` when a row has
    several entries), ``id`` defaulting to the image file name of ``url``.
    """
    for line, row in rows:
        if not isinstance(row, dict):
            yield line, row
            continue
        errors: list[FieldError] = []
        url = str(row.get("url") or row.get("image") or "").strip()
        if not url:
            errors.append(FieldError("url", "required: the image URL"))
        nested = row.get("negativeset")
        if nested is None:
            entries: list[tuple[str, Mapping[str, Any]]] = [("", row)]
        elif isinstance(nested, dict):
            entries = [("negativeset.", nested)]
        elif isinstance(nested, list) and nested and all(isinstance(e, dict) for e in nested):
            entries = [(f"negativeset.{n}.", entry) for n, entry in enumerate(nested)]
        else:
            errors.append(
                FieldError("negativeset", "must be a non-empty list of negative set entries")
            )
            entries = []
        base = str(row.get("id") or "").strip() or PurePosixPath(url.split("?")[0]).name
        records = []
        for number, (prefix, entry) in enumerate(entries, start=1):
            conclusion = entry.get("conclusion", row.get("conclusion"))
            if not isinstance(conclusion, str) or not conclusion.strip():
                errors.append(
                    FieldError(
                        f"{prefix}conclusion" if "conclusion" in entry else "conclusion",
                        "required: the conclusion the premise must support",
                    )
                )
            description = entry.get("description", row.get("description"))
            if description is not None and not isinstance(description, str):
                errors.append(FieldError(f"{prefix}description", "must be text"))
            for name, options, answer in _negative_sets(entry, prefix, errors):
                key = f"{base}:{number}:{name}" if len(entries) > 1 else f"{base}:{name}"
                record: dict[str, Any] = {
                    "external_id": key,
                    "image": url,
                    "conclusion": conclusion,
                    "premise_options": [
                        {"id": OPTION_IDS[n], "text": text} for n, text in enumerate(options)
                    ],
                    "answer": OPTION_IDS[answer],
                    "metadata": {"negative_set": name, "visargs_id": base},
                }
                if description:
                    record["description"] = description
                records.append(record)
        if errors:
            yield line, SchemaError(errors)
            continue
        for record in records:
            yield line, record

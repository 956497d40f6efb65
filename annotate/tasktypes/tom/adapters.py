"""``tom`` import adapter: SimpleToM question rows grouped into one item per story
(``simpletom``; Gu et al., 2024)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from core.errors import FieldError, SchemaError

from .schemas import KIND_ORDER, KINDS, SUFFIX_KINDS

_PROMPT_STORY = re.compile(r"Story:\s*\n(?P<story>.*?)\n\s*\nQuestion:\s*(?P<rest>.*)", re.DOTALL)
_PROMPT_CHOICE = re.compile(r"^\((?P<label>[A-Za-z0-9])\)\s*(?P<text>.*?)\s*$")


def _split_id(raw: Any) -> tuple[str, str] | None:
    text = str(raw or "").strip()
    for suffix, kind in SUFFIX_KINDS.items():
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)], kind
    return None


def _question_from_row(row: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(story, question) from one SimpleToM row in any of its published layouts:
    the benchmark's rows (``story``, ``question``, ``choices: {text, label}``, ``answerKey``);
    evaluation outputs (``prompt`` holding story, question and choices, gold in ``correct``);
    story-generation rows (``story``, ``question``, ``answer_correct``, ``answer_incorrect``)."""
    if "choices" in row:
        choices = row["choices"]
        if (
            not isinstance(choices, Mapping)
            or not isinstance(choices.get("text"), list)
            or (
                not isinstance(choices.get("label"), list)
                or len(choices["text"]) != len(choices["label"])
            )
        ):
            raise SchemaError(
                [
                    FieldError(
                        "choices",
                        "must be {text: [...], label: [...]}, two lists of the same length",
                    )
                ]
            )
        options = [
            {"label": str(lab), "text": str(text)}
            for lab, text in zip(choices["label"], choices["text"], strict=True)
        ]
        return str(row.get("story", "")), {
            "text": str(row.get("question", "")),
            "choices": options,
            "answer": row.get("answerKey"),
        }
    if "prompt" in row:
        match = _PROMPT_STORY.search(str(row["prompt"]))
        if not match:
            raise SchemaError([FieldError("prompt", "holds no 'Story:' and 'Question:' parts")])
        block = match.group("rest").split("\n\n", 1)[0]
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        options = []
        for line in lines[1:]:
            choice = _PROMPT_CHOICE.match(line)
            if choice:
                options.append({"label": choice.group("label"), "text": choice.group("text")})
        return match.group("story").strip(), {
            "text": lines[0] if lines else "",
            "choices": options,
            "answer": row.get("correct"),
        }
    if "answer_correct" in row and "answer_incorrect" in row:
        texts = sorted([str(row["answer_correct"]), str(row["answer_incorrect"])])
        options = [{"label": label, "text": text} for label, text in zip("AB", texts, strict=True)]
        answer = "A" if texts[0] == str(row["answer_correct"]) else "B"
        return str(row.get("story", "")), {
            "text": str(row.get("question", "")),
            "choices": options,
            "answer": answer,
        }
    raise SchemaError(
        [
            FieldError(
                "(row)",
                "not a SimpleToM row: needs choices and answerKey, or prompt and "
                "correct, or answer_correct and answer_incorrect",
            )
        ]
    )


def simpletom_records(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """Group SimpleToM question rows into one item per story.

    Rows whose ids end in ``_aware``, ``_action`` and ``_judge`` belong to the story named by the
    rest of the id (``potato_chip_food_sev1_aware`` → ``potato_chip_food_sev1``). The rows of one
    story need not be contiguous (the benchmark ships each question kind in its own file, and its
    evaluation outputs list all ``_aware`` rows first): a story is emitted as soon as its three
    questions are in, and stories still missing questions at the end are emitted then, in the
    order of their first rows. Memory holds the stories not yet complete. A story is reported
    under the line of its first row; a bad row under its own line.
    """
    open_groups: dict[str, dict[str, Any]] = {}
    broken: set[str] = set()
    completed: dict[str, int] = {}

    def record(story_id: str, group: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        questions = sorted(group["questions"], key=lambda q: KIND_ORDER[q["kind"]])
        item: dict[str, Any] = {
            "external_id": story_id,
            "story": group["story"],
            "questions": questions,
            "metadata": {"source": "simpletom"} | group["metadata"],
        }
        if group["scenario"]:
            item["scenario"] = group["scenario"]
        return group["line"], item

    for line, row in rows:
        if not isinstance(row, dict):
            yield line, row
            continue
        parts = _split_id(row.get("id"))
        if parts is None:
            yield (
                line,
                SchemaError(
                    [
                        FieldError(
                            "id", "must end in _aware, _action or _judge (SimpleToM question ids)"
                        )
                    ]
                ),
            )
            continue
        story_id, kind = parts
        try:
            story, question = _question_from_row(row)
        except SchemaError as exc:
            broken.add(story_id)
            open_groups.pop(story_id, None)
            yield line, exc
            continue
        if story_id in broken:
            continue
        if story_id in completed:
            yield (
                line,
                SchemaError(
                    [
                        FieldError(
                            "id",
                            f"story {story_id!r} already has all three questions "
                            f"(its first row is on line {completed[story_id]})",
                        )
                    ]
                ),
            )
            continue
        group = open_groups.setdefault(
            story_id,
            {"line": line, "story": story, "questions": [], "scenario": None, "metadata": {}},
        )
        problem = None
        if any(q["kind"] == kind for q in group["questions"]):
            problem = FieldError(
                "id",
                f"a second {kind} question for story {story_id!r} "
                f"(first row of the story on line {group['line']})",
            )
        elif story.strip() != group["story"].strip():
            problem = FieldError(
                "story", f"differs from the story of {story_id!r} on line {group['line']}"
            )
        if problem:
            broken.add(story_id)
            open_groups.pop(story_id, None)
            yield line, SchemaError([problem])
            continue
        question_record = {"id": str(row["id"]).strip(), "kind": kind, **question}
        if question_record.get("answer") is None:
            question_record.pop("answer", None)
        group["questions"].append(question_record)
        group["scenario"] = group["scenario"] or row.get("scenario_name")
        if "severity" in row:
            group["metadata"]["severity"] = row["severity"]
        if len(group["questions"]) == len(KINDS):
            completed[story_id] = group["line"]
            yield record(story_id, open_groups.pop(story_id))
    for story_id, group in sorted(open_groups.items(), key=lambda pair: pair[1]["line"]):
        yield record(story_id, group)

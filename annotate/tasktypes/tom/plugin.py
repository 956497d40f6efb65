"""``tom``: theory-of-mind judgments (SPEC 2.3; SimpleToM, Gu et al., 2024).

An item is a short story with up to three questions about a person in it: mental state ("is X
likely to be aware that ...?"), behavior ("what will X likely do next?") and judgment ("the
behavior of X can be best described as ..."). An annotation holds one choice label per question and
an optional confidence 1-5 per question.

The annotator sees the questions in the order mental state, behavior, judgment, and the choices of
each question in an order drawn per (item, annotator), stored as ``shown_order``; the stored answer
is always the choice's own label, never its position on screen. Gold answers (``answer`` on a
question) are removed from everything an annotator receives.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core.errors import FieldError, SchemaError

from ..base import AgreementField, ItemSummary, TaskType, not_blank, unanimous_or_split
from .predictions import PREDICTIONS

KINDS = ("mental_state", "behavior", "judgment")
KIND_ORDER = {kind: index for index, kind in enumerate(KINDS)}
KIND_LABELS = {
    "mental_state": "Mental state",
    "behavior": "Behavior",
    "judgment": "Judgment",
}
# SimpleToM question ids end in one of these; the rest of the id names the story.
SUFFIX_KINDS = {"_aware": "mental_state", "_action": "behavior", "_judge": "judgment"}
CHOICE_KEYS = "abcdefghij"


Text = Annotated[str, Field(min_length=1, max_length=20_000), AfterValidator(not_blank)]
Label = Annotated[str, Field(min_length=1, max_length=50)]
QuestionId = Annotated[str, Field(min_length=1, max_length=200)]
Confidence = Annotated[int, Field(strict=True, ge=1, le=5)]


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label
    text: Text


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: QuestionId
    kind: Literal["mental_state", "behavior", "judgment"]
    text: Text
    choices: list[Choice] = Field(min_length=2, max_length=len(CHOICE_KEYS))
    answer: Label | None = None


class TomItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    story: Text
    scenario: str | None = Field(default=None, max_length=500)
    questions: list[Question] = Field(min_length=1, max_length=20)
    metadata: dict[str, Any] = Field(default_factory=dict)


class TomAnnotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[QuestionId, Label]
    confidence: dict[QuestionId, Confidence] = Field(default_factory=dict)


def _questions_in_order(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Mental state, behavior, judgment; the item's own order within a kind."""
    return sorted(payload.get("questions", []), key=lambda q: KIND_ORDER[q["kind"]])


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


class Tom(TaskType):
    name = "tom"
    predictions = PREDICTIONS
    label = "Theory of mind"
    item_schema = TomItem
    annotation_schema = TomAnnotation
    annotator_template = "annotate/tasktypes/tom.html"
    annotator_scripts = ("js/tom.js",)
    annotator_styles = ("css/tom.css",)
    default_config = {"ask_confidence": True}
    csv_json_columns = frozenset({"questions", "metadata"})

    def validate_config(self, project_config: Mapping[str, Any]) -> dict[str, Any]:
        config = dict(project_config)
        if not isinstance(config.get("ask_confidence", True), bool):
            raise ValueError("config.ask_confidence must be true or false")
        return config

    def validate_item(self, data: Mapping[str, Any]) -> dict[str, Any]:
        payload = super().validate_item(data)
        errors = []
        seen: dict[str, int] = {}
        for index, question in enumerate(payload["questions"]):
            where = f"questions.{index}"
            if seen.setdefault(question["id"], index) != index:
                errors.append(
                    FieldError(
                        f"{where}.id", f"{question['id']!r} is also question {seen[question['id']]}"
                    )
                )
            labels = [choice["label"] for choice in question["choices"]]
            if len(set(labels)) != len(labels):
                errors.append(FieldError(f"{where}.choices", "two choices have the same label"))
            answer = question.get("answer")
            if answer is not None and answer not in labels:
                errors.append(
                    FieldError(f"{where}.answer", f"{answer!r} is not one of the labels {labels}")
                )
        if errors:
            raise SchemaError(errors)
        return payload

    def check_annotation(
        self, value: dict[str, Any], *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[FieldError]:
        questions = {q["id"]: q for q in payload.get("questions", [])}
        errors = []
        for question_id, question in questions.items():
            labels = [choice["label"] for choice in question["choices"]]
            answer = value["answers"].get(question_id)
            if answer is None:
                errors.append(
                    FieldError(f"value.answers.{question_id}", "required: answer every question")
                )
            elif answer not in labels:
                errors.append(
                    FieldError(
                        f"value.answers.{question_id}",
                        f"{answer!r} is not a choice of this question ({', '.join(labels)})",
                    )
                )
        for field in ("answers", "confidence"):
            for question_id in value[field]:
                if question_id not in questions:
                    errors.append(
                        FieldError(f"value.{field}.{question_id}", "not a question of this item")
                    )
        return errors

    # --- import
    def adapters(self) -> dict[str, Any]:
        return {"simpletom": simpletom_records}

    # --- annotator UI
    def annotator_payload(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        shown = dict(payload)
        shown["questions"] = [
            {key: value for key, value in question.items() if key != "answer"}
            for question in payload.get("questions", [])
        ]
        return shown

    def shown_order(self, payload: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        choices = {}
        for question in _questions_in_order(payload):
            labels = [choice["label"] for choice in question["choices"]]
            rng.shuffle(labels)
            choices[question["id"]] = labels
        return {"questions": [q["id"] for q in _questions_in_order(payload)], "choices": choices}

    def form_to_value(
        self, form: Mapping[str, Any], *, shown_order: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Fields ``answer:<question id>`` carry the chosen label; ``confidence:<question id>``
        a number 1-5. Unanswered questions are left out for the validator to name."""
        answers: dict[str, Any] = {}
        confidence: dict[str, Any] = {}
        for key in form:
            raw = form.get(key)
            if raw in (None, ""):
                continue
            if key.startswith("answer:"):
                answers[key.removeprefix("answer:")] = raw
            elif key.startswith("confidence:"):
                confidence[key.removeprefix("confidence:")] = (
                    int(raw) if str(raw).isdigit() else raw
                )
        return {"answers": answers, "confidence": confidence}

    def display_context(
        self,
        payload: Mapping[str, Any],
        *,
        shown_order: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> dict[str, Any]:
        safe = self.annotator_payload(payload)
        by_id = {q["id"]: q for q in safe["questions"]}
        order = [qid for qid in shown_order.get("questions", []) if qid in by_id]
        order += [q["id"] for q in _questions_in_order(safe) if q["id"] not in order]
        questions = []
        for number, question_id in enumerate(order, start=1):
            question = by_id[question_id]
            choice_by_label = {c["label"]: c for c in question["choices"]}
            labels = [
                label
                for label in shown_order.get("choices", {}).get(question_id, [])
                if label in choice_by_label
            ]
            labels += [c["label"] for c in question["choices"] if c["label"] not in labels]
            questions.append(
                {
                    "number": number,
                    "id": question_id,
                    "kind": question["kind"],
                    "kind_label": KIND_LABELS[question["kind"]],
                    "text": question["text"],
                    "choices": [
                        {
                            "key": CHOICE_KEYS[index],
                            "number": index + 1,
                            "label": label,
                            "text": choice_by_label[label]["text"],
                        }
                        for index, label in enumerate(labels)
                    ],
                }
            )
        return {
            "story": safe["story"],
            "scenario": safe.get("scenario"),
            "questions": questions,
            "ask_confidence": self.config(config)["ask_confidence"],
            "confidence_scale": [1, 2, 3, 4, 5],
        }

    # --- summaries and export
    def label_of(self, value: Mapping[str, Any]) -> str:
        """All answers of one annotator as one label, ``question=choice`` joined by ``|``."""
        return "|".join(f"{qid}={label}" for qid, label in sorted(value["answers"].items()))

    def agreement_status(self, labels: list[Any]) -> str | None:
        return unanimous_or_split(labels)

    def summarize(self, values: list[Mapping[str, Any]]) -> ItemSummary:
        summary = super().summarize(values)
        per_question: dict[str, Counter[str]] = {}
        for value in values:
            for question_id, label in value["answers"].items():
                per_question.setdefault(question_id, Counter())[label] += 1
        summary.extra["answer_distribution"] = {
            qid: dict(sorted(counts.items())) for qid, counts in sorted(per_question.items())
        }
        return summary

    def export_shapes(self) -> dict[str, Any]:
        return {"tom_answers": tom_answer_rows}

    # --- analysis
    def agreement_fields(self, config: Mapping[str, Any]) -> list[AgreementField]:
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


def tom_answer_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]],
) -> Iterator[dict[str, Any]]:
    """One row per (annotation, question): the answer, its text, gold, correctness, confidence,
    and the annotator's consistency flag (see ``is_inconsistent``)."""
    for item, labels, _summary in records:
        questions = _questions_in_order(item.payload)
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


# --- SimpleToM rows, grouped by story

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

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
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core.errors import FieldError, SchemaError, validate_model

from ..base import (
    AgreementField,
    Demo,
    ExportShape,
    ItemSummary,
    MetricsData,
    PaperTable,
    RunPrediction,
    TaskType,
    unanimous_or_split,
)
from . import paper
from .adapters import simpletom_records
from .analysis import agreement_fields
from .demo import DEMO
from .export import EXPORT_SHAPES, summary_key
from .prediction_adapters import PREDICTION_ADAPTERS
from .predictions import PREDICTIONS
from .report import paper_tables
from .schemas import CHOICE_KEYS, KIND_LABELS, TomAnnotation, TomConfig, TomItem, questions_in_order


class Tom(TaskType):
    name = "tom"
    label = "Theory of mind"
    predictions = PREDICTIONS
    item_schema = TomItem
    annotation_schema = TomAnnotation
    annotator_template = "annotate/tasktypes/tom.html"
    annotator_scripts = ("js/tom.js",)
    annotator_styles = ("css/tom.css",)
    default_config = {"ask_confidence": True}
    config_schema = TomConfig
    csv_json_columns = frozenset({"questions", "metadata"})

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
        return _answer_errors(value, payload, every_question=True)

    def validate_prediction(
        self, value: Any, *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A model may leave a question unanswered (its reply did not parse: the prediction's
        ``details.unparsed``); what it answers must be a choice of a question of the item."""
        cleaned = validate_model(self.annotation_schema, value, prefix="value.").model_dump(
            mode="json"
        )
        errors = _answer_errors(cleaned, payload, every_question=False)
        if errors:
            raise SchemaError(errors)
        return cleaned

    # --- import
    def adapters(self) -> dict[str, Any]:
        return {"simpletom": simpletom_records}

    def prediction_adapters(self) -> dict[str, Any]:
        return dict(PREDICTION_ADAPTERS)

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
        for question in questions_in_order(payload):
            labels = [choice["label"] for choice in question["choices"]]
            rng.shuffle(labels)
            choices[question["id"]] = labels
        return {"questions": [q["id"] for q in questions_in_order(payload)], "choices": choices}

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
        order += [q["id"] for q in questions_in_order(safe) if q["id"] not in order]
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

    def agreement_status(self, labels: list[Any], *, config: Any = None) -> str | None:
        return unanimous_or_split(labels)

    def summarize(self, values: list[Mapping[str, Any]], *, config: Any = None) -> ItemSummary:
        summary = super().summarize(values, config=config)
        per_question: dict[str, Counter[str]] = {}
        for value in values:
            for question_id, label in value["answers"].items():
                per_question.setdefault(question_id, Counter())[label] += 1
        summary.extra["answer_distribution"] = {
            qid: dict(sorted(counts.items())) for qid, counts in sorted(per_question.items())
        }
        return summary

    def summary_key(self) -> Callable[[Mapping[str, Any]], Any]:
        return summary_key  # the answers: all ``summarize`` reads

    def export_shapes(self) -> tuple[ExportShape, ...]:
        return EXPORT_SHAPES

    # --- analysis
    def agreement_fields(self, config: Mapping[str, Any]) -> list[AgreementField]:
        return agreement_fields()

    def paper_figures(self, data: MetricsData) -> dict[str, Any]:
        return paper.paper_figures(data)

    def model_metrics(
        self, data: MetricsData, predictions: Sequence[RunPrediction]
    ) -> dict[str, Any]:
        return paper.model_metrics(data, predictions)

    def demo(self) -> Demo:
        return DEMO

    def paper_tables(self, figures: Mapping[str, Any]) -> list[PaperTable]:
        return paper_tables(figures)


def _answer_errors(
    value: Mapping[str, Any], payload: Mapping[str, Any], *, every_question: bool
) -> list[FieldError]:
    """Each answer a choice of its question, no answer or confidence for a question the item
    does not have; with ``every_question``, every question answered."""
    questions = {q["id"]: q for q in payload.get("questions", [])}
    errors = []
    for question_id, question in questions.items():
        labels = [choice["label"] for choice in question["choices"]]
        answer = value["answers"].get(question_id)
        if answer is None:
            if every_question:
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

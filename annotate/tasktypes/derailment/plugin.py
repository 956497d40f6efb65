"""``derailment``: where does a conversation derail (SPEC 2.2; Imran et al., 2025).

An item is an issue thread; an annotation says whether it turns toxic, which comment is the toxic
one, where it first turns toward toxicity (the derailment point, or ``None`` for "never derails")
and, optionally, tone labels per comment.

Rules (one function, ``derailment_rules``, used for annotations and imported reference labels):
- ``toxic_comment`` and ``derailment_comment`` name comments of the thread;
- ``toxic`` true needs a ``toxic_comment``; ``toxic`` false needs both to be ``None`` (a thread
  that never turns toxic has no derailment point in the paper's sense);
- the derailment comment is the toxic comment or comes before it.

Reference labels (the paper's ``toxic``/``tbdf`` columns) are kept in the item's ``reference``
field, never as an annotation: they do not count toward overlap, distributions or agreement, are
never shown to annotators, and are exported in their own column.
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
    SetField,
    TaskType,
    unanimous_or_split,
)
from . import analysis, paper
from .adapters import github_derailment_records
from .demo import DEMO
from .export import EXPORT_SHAPES, summary_key
from .prediction_adapters import PREDICTION_ADAPTERS
from .predictions import PREDICTIONS
from .report import paper_tables
from .schemas import (
    DEFAULT_THRESHOLD,
    DEFAULT_TONES,
    NEVER,
    DerailmentAnnotation,
    DerailmentConfig,
    DerailmentItem,
    derailment_rules,
)


class Derailment(TaskType):
    name = "derailment"
    label = "Derailment point"
    predictions = PREDICTIONS
    item_schema = DerailmentItem
    annotation_schema = DerailmentAnnotation
    annotator_template = "annotate/tasktypes/derailment.html"
    annotator_scripts = ("js/derailment.js",)
    annotator_styles = ("css/derailment.css",)
    default_config = {"tones": DEFAULT_TONES, "tolerance": 1, "threshold": DEFAULT_THRESHOLD}
    config_schema = DerailmentConfig
    csv_json_columns = frozenset({"comments", "metadata", "reference"})
    # An imported prediction may be P(derails) alone (value {}); the metrics apply the threshold.
    score_only_predictions = True

    def validate_item(self, data: Mapping[str, Any]) -> dict[str, Any]:
        model = validate_model(self.item_schema, data)
        payload = model.model_dump(mode="json", exclude_none=True)
        if isinstance(model, DerailmentItem) and model.reference is not None:
            # A reference label's nulls ("never derails") are answers, not absent fields.
            payload["reference"] = model.reference.model_dump(mode="json")
        ids = [comment["id"] for comment in payload["comments"]]
        errors = []
        first: dict[str, int] = {}
        for index, comment_id in enumerate(ids):
            if first.setdefault(comment_id, index) != index:
                errors.append(
                    FieldError(
                        f"comments.{index}.id",
                        f"{comment_id!r} is also the id of comment {first[comment_id]}",
                    )
                )
        reference = payload.get("reference")
        if reference and not errors:
            errors += derailment_rules(
                reference["value"], ids, tones=None, prefix="reference.value.", toxic_derails=False
            )
        if errors:
            raise SchemaError(errors)
        return payload

    def check_annotation(
        self, value: dict[str, Any], *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[FieldError]:
        ids = [comment["id"] for comment in payload.get("comments", [])]
        return derailment_rules(value, ids, tones=list(config["tones"]))

    # --- import
    def adapters(self) -> dict[str, Any]:
        return {"github_derailment": github_derailment_records}

    def prediction_adapters(self) -> dict[str, Any]:
        return dict(PREDICTION_ADAPTERS)

    # --- annotator UI
    def annotator_payload(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in payload.items() if key != "reference"}

    def shown_order(self, payload: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        return {}  # a thread is read in its own order

    def form_to_value(
        self, form: Mapping[str, Any], *, shown_order: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Radio values are ``c:<comment id>``, ``none`` (no toxic comment) or ``never``; tone
        checkboxes are named ``tones:<comment id>``. A question left unanswered is left out, so
        that the schema names it."""
        value: dict[str, Any] = {}
        toxic = form.get("toxic_comment")
        if toxic:
            comment = toxic[2:] if toxic.startswith("c:") else None
            value["toxic"] = comment is not None
            value["toxic_comment"] = comment
        derailment = form.get("derailment_comment")
        if derailment:
            value["derailment_comment"] = derailment[2:] if derailment.startswith("c:") else None
        tones: dict[str, list[str]] = {}
        for key in form:
            if key.startswith("tones:"):
                labels = form.getlist(key) if hasattr(form, "getlist") else [form[key]]
                if labels:
                    tones[key.removeprefix("tones:")] = list(labels)
        value["tones"] = tones
        return value

    def display_context(
        self,
        payload: Mapping[str, Any],
        *,
        shown_order: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> dict[str, Any]:
        tones = self.config(config)["tones"]
        return {
            "title": payload["title"],
            "metadata": payload.get("metadata", {}),
            "comments": [
                {**comment, "position": index + 1}
                for index, comment in enumerate(payload["comments"])
            ],
            "tones": [(index + 1 if index < 9 else None, tone) for index, tone in enumerate(tones)],
        }

    # --- summaries and export
    def label_of(self, value: Mapping[str, Any]) -> str:
        return value.get("derailment_comment") or NEVER

    def agreement_status(self, labels: list[Any], *, config: Any = None) -> str | None:
        """``unanimous`` when every annotator picked the same derailment point (or "never"),
        ``split`` otherwise; ``None`` below two labels. Tolerance-window agreement is analysis."""
        return unanimous_or_split(labels)

    def summarize(self, values: list[Mapping[str, Any]], *, config: Any = None) -> ItemSummary:
        summary = super().summarize(values, config=config)
        toxic = Counter("true" if value["toxic"] else "false" for value in values)
        summary.extra["toxic_distribution"] = dict(sorted(toxic.items()))
        return summary

    def summary_key(self) -> Callable[[Mapping[str, Any]], Any]:
        return summary_key  # the derailment point and the toxic flag: all ``summarize`` reads

    def export_shapes(self) -> tuple[ExportShape, ...]:
        return EXPORT_SHAPES

    # --- analysis
    def agreement_fields(self, config: Mapping[str, Any]) -> list[AgreementField]:
        return analysis.agreement_fields(float(self.config(config)["tolerance"]))

    def set_fields(self, config: Mapping[str, Any]) -> list[SetField]:
        return analysis.set_fields(tuple(self.config(config)["tones"]))

    def demo(self) -> Demo:
        return DEMO

    def paper_tables(self, figures: Mapping[str, Any]) -> list[PaperTable]:
        return paper_tables(figures)

    def model_metrics(
        self, data: MetricsData, predictions: Sequence[RunPrediction]
    ) -> dict[str, Any]:
        return paper.model_metrics(data, predictions)

"""``preference_pair``: which of two responses is better (SPEC 2.1).

Votes are stored in the canonical A/B orientation on the project's signed scale (5 points, or 7
with ``{"scale": 7}``; ``stats.preference.vote_meaning`` reads them); the annotator sees the
responses in a random left/right order, stored per assignment as ``shown_order``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from statistics import fmean
from typing import Any

from core.errors import FieldError
from stats.preference import preference_agreement_status, scale_votes, vote_meaning
from stats.spread import spread_exceeds

from ..base import (
    AgreementField,
    Demo,
    DivergenceSpec,
    ExportShape,
    ItemSummary,
    MetricsData,
    PaperTable,
    RunPrediction,
    TaskType,
)
from . import paper
from .adapters import ADAPTER_CONFIG, ADAPTERS
from .analysis import PREFERENCE_DIVERGENCE, agreement_fields
from .demo import DEMO
from .export import EXPORT_SHAPES
from .predictions import PREDICTIONS
from .report import paper_tables
from .schemas import PreferenceAnnotation, PreferenceConfig, PreferencePairItem, scale_of


def shown_scale(scale: int = 5) -> list[tuple[int, str]]:
    """The annotator's scale, left to right on screen (keys 1..5 or 1..7 pick these)."""
    shown = []
    for vote in scale_votes(scale):
        meaning = vote_meaning(vote, scale)
        side = {-1: "Left ", 0: "", 1: "Right "}[meaning.side]
        words = meaning.words if side else meaning.words.capitalize()
        shown.append((vote, side + words))
    return shown


SHOWN_SCALE = shown_scale(5)


class PreferencePair(TaskType):
    name = "preference_pair"
    label = "Preference pair"
    predictions = PREDICTIONS
    item_schema = PreferencePairItem
    annotation_schema = PreferenceAnnotation
    annotator_template = "annotate/tasktypes/preference_pair.html"
    default_config = {"aspects": [], "flags": ["cannot judge", "harmful content"]}
    config_schema = PreferenceConfig
    csv_json_columns = frozenset({"context", "metadata"})

    def check_annotation(
        self, value: dict[str, Any], *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[FieldError]:
        errors = []
        scale = scale_of(config)
        votes = scale_votes(scale)
        message = f"must be a vote on the project's {scale}-point scale ({votes[0]} to {votes[-1]})"
        if value["preference"] not in votes:
            errors.append(FieldError("value.preference", message))
        for aspect, vote in value["aspects"].items():
            if vote not in votes:
                errors.append(FieldError(f"value.aspects.{aspect}", message))
        for aspect in value["aspects"]:
            if aspect not in config["aspects"]:
                errors.append(
                    FieldError(f"value.aspects.{aspect}", "not an aspect of this project")
                )
        for flag in value["flags"]:
            if flag not in config["flags"]:
                errors.append(FieldError("value.flags", f"{flag!r} is not a flag of this project"))
        return errors

    # --- import
    def adapters(self) -> dict[str, Any]:
        return dict(ADAPTERS)

    def adapter_config(self, adapter: str) -> dict[str, Any]:
        return dict(ADAPTER_CONFIG.get(adapter, {}))

    # --- annotator UI
    def shown_order(self, payload: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        return {"left": "a", "right": "b"} if rng.random() < 0.5 else {"left": "b", "right": "a"}

    def form_to_value(
        self, form: Mapping[str, Any], *, shown_order: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Turn the on-screen answer (negative = left better) into the canonical A/B value.

        Values that are not numbers are passed through for the schema to reject with its message.
        """
        flip = shown_order.get("left") == "b"

        def canonical(raw: Any) -> Any:
            try:
                shown = int(raw)
            except (TypeError, ValueError):
                return raw
            return -shown if flip else shown

        aspects = {}
        for aspect in self.config(config)["aspects"]:
            raw = form.get(f"aspect_{aspect}")
            if raw not in (None, ""):
                aspects[aspect] = canonical(raw)
        return {
            "preference": canonical(form.get("preference")),
            "aspects": aspects,
            "rationale": (form.get("rationale") or "").strip(),
            "flags": list(form.getlist("flags")) if hasattr(form, "getlist") else [],
        }

    def display_context(
        self,
        payload: Mapping[str, Any],
        *,
        shown_order: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> dict[str, Any]:
        left = shown_order.get("left", "a")
        right = "b" if left == "a" else "a"
        return {
            "prompt": payload["prompt"],
            "context": payload.get("context", []),
            "left": payload[f"response_{left}"],
            "right": payload[f"response_{right}"],
            "scale": [
                (index + 1, value, text)
                for index, (value, text) in enumerate(shown_scale(scale_of(config)))
            ],
            "aspects": self.config(config)["aspects"],
            "flags": self.config(config)["flags"],
        }

    # --- summaries and export
    def label_of(self, value: Mapping[str, Any]) -> int:
        return int(value["preference"])

    def gold_agrees(self, value: Mapping[str, Any], gold_value: Mapping[str, Any]) -> bool:
        """Right when on the gold answer's side (or a tie for a tie gold): "A much better" for
        a gold "A better" is not an error; the strength of a preference is a matter of taste."""

        # The side does not depend on the scale: read both votes on the widest one.
        def side(vote: int) -> int:
            return vote_meaning(vote, 7).side

        return side(self.label_of(value)) == side(self.label_of(gold_value))

    def agreement_status(
        self, labels: list[Any], *, config: Mapping[str, Any] | None = None
    ) -> str | None:
        status = preference_agreement_status(labels, scale=scale_of(config or {}))
        return status.value if status else None

    def labels_disagree(
        self,
        values: Sequence[Mapping[str, Any]],
        *,
        payload: Mapping[str, Any],
        threshold: float,
        config: Mapping[str, Any],
    ) -> bool:
        """HelpSteer2's rule: the votes' spread (max - min, in points of the project's 5- or
        7-point scale) is more than ``threshold``. A vote off the scale is a ``ValueError``."""
        scale = scale_of(config)
        votes = [self.label_of(value) for value in values]
        for vote in votes:
            vote_meaning(vote, scale)
        return spread_exceeds(votes, threshold)

    def summarize(
        self, values: list[Mapping[str, Any]], *, config: Mapping[str, Any] | None = None
    ) -> ItemSummary:
        summary = super().summarize(values, config=config)
        votes = [self.label_of(value) for value in values]
        scale = scale_of(config or {})
        summary.label_distribution = {str(v): votes.count(v) for v in scale_votes(scale)}
        summary.extra["mean_preference"] = fmean(votes) if votes else None
        return summary

    def summary_key(self) -> Callable[[Mapping[str, Any]], Any]:
        return self.label_of  # the vote: all ``summarize`` reads

    def export_shapes(self) -> tuple[ExportShape, ...]:
        return EXPORT_SHAPES

    # --- analysis
    def agreement_fields(self, config: Mapping[str, Any]) -> list[AgreementField]:
        return agreement_fields(self.config(config)["aspects"])

    def divergence(self) -> DivergenceSpec:
        return PREFERENCE_DIVERGENCE

    position_keys = ("preference",)

    def position_pick(self, value: Mapping[str, Any], shown_order: Mapping[str, Any]) -> str | None:
        """Imported labels were given without an on-screen order (``shown_order`` is empty):
        they pick no side and position-bias figures leave them out."""
        vote = int(value["preference"])
        if vote == 0 or shown_order.get("left") not in ("a", "b"):
            return None
        chosen = "a" if vote < 0 else "b"
        return "left" if shown_order["left"] == chosen else "right"

    def model_metrics(
        self, data: MetricsData, predictions: Sequence[RunPrediction]
    ) -> dict[str, Any]:
        return paper.model_metrics(data, predictions)

    def demo(self) -> Demo:
        return DEMO

    def paper_tables(self, figures: Mapping[str, Any]) -> list[PaperTable]:
        return paper_tables(figures)

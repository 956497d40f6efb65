"""``preference_pair``: which of two responses is better (SPEC 2.1).

Votes are stored in the canonical A/B orientation on the signed 5-point scale; the annotator sees
the responses in a random left/right order, stored per assignment as ``shown_order``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from statistics import fmean
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from core.errors import FieldError
from stats.preference import (
    DIVERGING_STATUSES,
    SCALE,
    AgreementStatus,
    preference_agreement_status,
)

from ..base import AgreementField, DivergenceSpec, ItemSummary, TaskType, not_blank
from .predictions import PREDICTIONS

NonEmptyText = Annotated[
    str, StringConstraints(min_length=1, max_length=200_000), AfterValidator(not_blank)
]
Vote = Annotated[int, Field(strict=True, ge=-2, le=2)]


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=200_000)


class PreferencePairItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: NonEmptyText
    context: list[Turn] = Field(default_factory=list)
    response_a: NonEmptyText
    response_b: NonEmptyText
    model_a: str | None = Field(default=None, max_length=200)
    model_b: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)


class PreferenceAnnotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preference: Vote
    aspects: dict[str, Vote] = Field(default_factory=dict)
    rationale: str = Field(default="", max_length=10_000)
    flags: list[str] = Field(default_factory=list, max_length=20)


# The annotator's scale, left to right on screen; keys 1..5 pick these.
SHOWN_SCALE = [
    (-2, "Left much better"),
    (-1, "Left better"),
    (0, "About the same"),
    (1, "Right better"),
    (2, "Right much better"),
]


class PreferencePair(TaskType):
    name = "preference_pair"
    predictions = PREDICTIONS
    label = "Preference pair"
    item_schema = PreferencePairItem
    annotation_schema = PreferenceAnnotation
    annotator_template = "annotate/tasktypes/preference_pair.html"
    default_config = {"aspects": [], "flags": ["cannot judge", "harmful content"]}
    csv_json_columns = frozenset({"context", "metadata"})

    def validate_config(self, project_config: Mapping[str, Any]) -> dict[str, Any]:
        config = dict(project_config)
        for key in ("aspects", "flags"):
            value = config.get(key, self.default_config[key])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"config.{key} must be a list of non-empty strings")
        return config

    def check_annotation(
        self, value: dict[str, Any], *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[FieldError]:
        errors = []
        for aspect in value["aspects"]:
            if aspect not in config["aspects"]:
                errors.append(
                    FieldError(f"value.aspects.{aspect}", "not an aspect of this project")
                )
        for flag in value["flags"]:
            if flag not in config["flags"]:
                errors.append(FieldError("value.flags", f"{flag!r} is not a flag of this project"))
        return errors

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
            "scale": [(index + 1, value, text) for index, (value, text) in enumerate(SHOWN_SCALE)],
            "aspects": self.config(config)["aspects"],
            "flags": self.config(config)["flags"],
        }

    # --- summaries and export
    def label_of(self, value: Mapping[str, Any]) -> int:
        return int(value["preference"])

    def gold_agrees(self, value: Mapping[str, Any], gold_value: Mapping[str, Any]) -> bool:
        """Right when on the gold answer's side (or a tie for a tie gold): "A much better" for
        a gold "A better" is not an error; the strength of a preference is a matter of taste."""

        def side(vote: int) -> int:
            return (vote > 0) - (vote < 0)

        return side(self.label_of(value)) == side(self.label_of(gold_value))

    def agreement_status(self, labels: list[Any]) -> str | None:
        status = preference_agreement_status(labels)
        return status.value if status else None

    def summarize(self, values: list[Mapping[str, Any]]) -> ItemSummary:
        summary = super().summarize(values)
        votes = [self.label_of(value) for value in values]
        summary.label_distribution = {str(v): votes.count(v) for v in SCALE}
        summary.extra["mean_preference"] = fmean(votes) if votes else None
        return summary

    def export_shapes(self) -> dict[str, Any]:
        return {"preference_pairs": preference_pair_rows}

    # --- analysis
    def agreement_fields(self, config: Mapping[str, Any]) -> list[AgreementField]:
        """The signed scale as ordinal and interval data, the side alone (A / tie / B) as nominal
        data (the primary field: annotator agreement and model accuracy), each aspect ordinal."""
        fields = [
            AgreementField(
                "side",
                "Side (A / tie / B)",
                "nominal",
                path=("preference",),
                transform=_side,
                primary=True,
                value_labels={"-1": "A", "0": "tie", "1": "B"},
            ),
            AgreementField("preference", "Preference (ordinal)", "ordinal", path=("preference",)),
            AgreementField(
                "preference_interval", "Preference (interval)", "interval", path=("preference",)
            ),
        ]
        for aspect in self.config(config)["aspects"]:
            fields.append(
                AgreementField(
                    f"aspect:{aspect}",
                    f"Aspect: {aspect} (ordinal)",
                    "ordinal",
                    path=("aspects", aspect),
                )
            )
        return fields

    def divergence(self) -> DivergenceSpec:
        return PREFERENCE_DIVERGENCE

    def position_pick(self, value: Mapping[str, Any], shown_order: Mapping[str, Any]) -> str | None:
        vote = int(value["preference"])
        if vote == 0 or shown_order.get("left") not in ("a", "b"):
            return None
        chosen = "a" if vote < 0 else "b"
        return "left" if shown_order["left"] == chosen else "right"


def _side(votes: Any) -> Any:
    """-1 for A, 0 for a tie, +1 for B (NaN stays NaN); works on floats and NumPy arrays."""
    return (votes > 0) * 1.0 - (votes < 0) * 1.0 + votes * 0.0


def _texts(payload: Mapping[str, Any]) -> tuple[str, str]:
    return str(payload.get("response_a", "")), str(payload.get("response_b", ""))


def _uncertainty(score: float | None, distribution: Mapping[str, Any] | None) -> float | None:
    """``-|P(B better) - 0.5|`` from the score; else the entropy of the label distribution."""
    if score is not None:
        return -abs(float(score) - 0.5)
    if distribution:
        probabilities = [float(p) for p in distribution.values() if float(p) > 0]
        return -sum(p * math.log(p) for p in probabilities)
    return None


def _picks_winner(value: Mapping[str, Any]) -> bool | None:
    preference = value.get("preference")
    return None if preference is None else int(preference) != 0


PREFERENCE_DIVERGENCE = DivergenceSpec(
    statuses=tuple(status.value for status in AgreementStatus),
    diverging=frozenset(status.value for status in DIVERGING_STATUSES),
    agreeing=frozenset({AgreementStatus.HIGH_AGREEMENT_PREFERENCE.value}),
    status_field="preference",
    # Zhang et al. (2024), "Diverging Preferences", Table 1: four classes and their categories.
    default_taxonomy=(
        ("Task underspecification", ("Task underspecification",)),
        ("Response style", ("Verbosity", "Format", "Complexity", "Aesthetic taste")),
        ("Refusals", ("Comply vs. refuse", "Refuse vs. refuse")),
        ("Annotation errors", ("Hallucination or factual error", "Degenerate output")),
    ),
    texts=_texts,
    uncertainty=_uncertainty,
    picks_winner=_picks_winner,
    review_template="analysis/review/preference_pair.html",
)


def preference_pair_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]], *, diverging: str = "keep"
) -> Iterator[dict[str, Any]]:
    """Training pairs: the side the humans preferred on average is ``chosen``.

    ``diverging`` is ``keep`` (default), ``drop`` (leave out diverging items) or ``only``.
    Items without votes, or whose mean vote is exactly a tie, give no pair.
    """
    # Checked here, not in the generator below, so that a bad option fails before streaming starts.
    if diverging not in {"keep", "drop", "only"}:
        raise ValueError("diverging must be keep, drop or only")
    return _preference_pair_rows(records, diverging=diverging)


def _preference_pair_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]], *, diverging: str
) -> Iterator[dict[str, Any]]:
    for item, _values, summary in records:
        mean = summary.extra.get("mean_preference")
        if not summary.n_annotations or mean is None or mean == 0:
            continue
        is_diverging = summary.agreement_status in {s.value for s in DIVERGING_STATUSES}
        if (diverging == "drop" and is_diverging) or (diverging == "only" and not is_diverging):
            continue
        payload = item.payload
        a_wins = mean < 0
        yield {
            "external_id": item.external_id,
            "prompt": payload["prompt"],
            "context": payload.get("context", []),
            "chosen": payload["response_a"] if a_wins else payload["response_b"],
            "rejected": payload["response_b"] if a_wins else payload["response_a"],
            "chosen_model": payload.get("model_a" if a_wins else "model_b"),
            "rejected_model": payload.get("model_b" if a_wins else "model_a"),
            "margin": abs(mean),
            "vote_distribution": summary.label_distribution,
            "agreement_status": summary.agreement_status,
            "n_annotators": summary.n_annotations,
        }

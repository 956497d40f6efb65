"""``preference_pair`` analysis: agreement fields and divergence review (SPEC 5)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from stats.preference import DIVERGING_STATUSES, AgreementStatus

from ..base import AgreementField, DivergenceSpec, ReviewFilter


def agreement_fields(aspects: list[str]) -> list[AgreementField]:
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
    for aspect in aspects:
        fields.append(
            AgreementField(
                f"aspect:{aspect}",
                f"Aspect: {aspect} (ordinal)",
                "ordinal",
                path=("aspects", aspect),
            )
        )
    return fields


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
    review_filters=(
        ReviewFilter(
            "diverging_significant",
            "Significant only",
            (AgreementStatus.DIVERGING_SIGNIFICANT.value,),
        ),
    ),
)

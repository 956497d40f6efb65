"""``derailment`` analysis: the derailment point as a distance over comment positions, toxic
yes/no, and tones per comment as set-valued agreement (SPEC 5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stats.label_sets import label_set_agreement

from ..base import AgreementField, SetField


def agreement_fields(tolerance: float) -> list[AgreementField]:
    """``toxic`` as nominal data (the primary field; scored against an imported reference
    label when the item has one), and the derailment point as a distance over comment
    positions with "never" as a value of its own, plus agreement within +-tolerance."""
    return [
        AgreementField(
            "toxic",
            "Toxic (yes / no)",
            "nominal",
            path=("toxic",),
            primary=True,
            reference=_reference_toxic,
            value_labels={"true": "toxic", "false": "not toxic"},
        ),
        AgreementField(
            "derailment_point",
            "Derailment point (comment position)",
            "custom",
            extract=_derailment_position,
            distance=derailment_distance,
            tolerance=tolerance,
        ),
    ]


def set_fields(tones: tuple[str, ...]) -> list[SetField]:
    """Tones per comment (SPEC 2.2): each comment of a thread is a unit, each annotator of
    the thread gives it a set of tones (empty when they ticked none); measured per tone
    (presence / absence, nominal alpha), as "any tone", and as whole sets (MASI distance)."""
    figures = (
        ("masi_alpha", "Tones per comment: alpha with the MASI set distance"),
        ("exact_agreement", "Tones per comment: pairs giving the same set"),
        ("any_alpha", "Any tone on a comment (yes / no): alpha"),
        *((f"alpha:{tone}", f"{tone}: alpha (present / absent)") for tone in tones),
        ("n_units", "Comments with two or more annotators"),
    )
    return [
        SetField(
            "tones",
            "Tones per comment",
            extract=_tones_per_comment,
            measure=_tone_measure(tones),
            figures=figures,
        )
    ]


NEVER_POSITION = -1000.0
"""The code of "never derails": far from every position, so no tolerance window reaches it."""

NEVER_DISTANCE = 25.0
"""Distance between "never" and any position, and the cap of positional distances: squared
differences (Krippendorff's interval footing) up to 5 comments apart, so that disagreeing on
whether a conversation derails at all weighs as much as the widest disagreement on where."""


def derailment_distance(c: float, k: float) -> float:
    if c == k:
        return 0.0
    if NEVER_POSITION in (c, k):
        return NEVER_DISTANCE
    return min((c - k) ** 2, NEVER_DISTANCE)


def _derailment_position(value: Mapping[str, Any], payload: Mapping[str, Any]) -> float | None:
    if "derailment_comment" not in value:
        return None  # no point given (a score-only prediction), not "never derails"
    point = value["derailment_comment"]
    if point is None:
        return NEVER_POSITION
    for position, comment in enumerate(payload.get("comments", [])):
        if str(comment.get("id")) == str(point):
            return float(position)
    return None


def _tones_per_comment(
    value: Mapping[str, Any], payload: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Every comment of the thread with the tones this annotation gave it (none: empty)."""
    tones = value.get("tones")
    if not isinstance(tones, Mapping):
        return None
    return {
        str(c.get("id")): list(tones.get(str(c.get("id")), [])) for c in payload.get("comments", [])
    }


def _tone_measure(tones: tuple[str, ...]) -> Any:
    def measure(units: Any) -> dict[str, Any]:
        result = label_set_agreement(units, labels=tones)
        figures: dict[str, Any] = {
            "masi_alpha": result.masi.alpha,
            "exact_agreement": result.exact_agreement,
            "any_alpha": result.any_label.alpha,
            "n_units": result.n_units,
        }
        reasons = {"masi_alpha": result.masi.reason, "any_alpha": result.any_label.reason}
        for tone in tones:
            figures[f"alpha:{tone}"] = result.per_label[tone].alpha
            reasons[f"alpha:{tone}"] = result.per_label[tone].reason
            figures[f"prevalence:{tone}"] = result.prevalence[tone]
        if result.exact_agreement is None:
            reasons["exact_agreement"] = "no comment with two or more annotators"
        figures["reasons"] = {name: why for name, why in reasons.items() if why}
        return figures

    return measure


def _reference_toxic(payload: Mapping[str, Any]) -> bool | None:
    reference = payload.get("reference") or {}
    return (reference.get("value") or {}).get("toxic")

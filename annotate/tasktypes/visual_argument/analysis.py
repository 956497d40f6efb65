"""``visual_argument`` analysis: the premise choice (identification mode), or the count of
visual premises and their boxes as a set field (structure mode) (SPEC 5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stats.box_agreement import box_agreement

from ..base import AgreementField, SetField


def agreement_fields(mode: str) -> list[AgreementField]:
    """Identification: the chosen option as nominal data, scored against the item's
    ``answer`` (accuracy against gold). Structure: the number of visual premises as interval
    data (the boxes themselves are a set field)."""
    if mode == "identification":
        return [
            AgreementField(
                "choice",
                "Premise choice",
                "nominal",
                path=("choice",),
                primary=True,
                reference=_gold_answer,
            )
        ]
    return [
        AgreementField(
            "n_visual_premises",
            "Visual premises per annotation (count)",
            "interval",
            extract=_premise_count,
            primary=True,
        )
    ]


def set_fields(mode: str) -> list[SetField]:
    """Structure mode: the visual premises' boxes, in fractions of the image (see
    ``stats.box_agreement``)."""
    if mode == "identification":
        return []
    return [
        SetField(
            "boxes",
            "Visual premise boxes",
            extract=_boxes_of,
            measure=box_measure,
            figures=BOX_FIGURES,
        )
    ]


BOX_FIGURES = (
    ("hit_rate", "Box hit rate (IoU >= 0.5, pairs of annotators)"),
    ("mean_iou", "Mean IoU of matched boxes (hits)"),
    ("mean_iou_assigned", "Mean IoU of all overlapping assigned pairs"),
    ("alpha", "Alpha with 1 - IoU as the distance"),
    ("n_items", "Items with two or more annotators"),
    ("n_pairs", "Annotator pairs compared"),
    ("n_boxes", "Boxes in those pairs"),
    ("n_hits", "Hits"),
    ("n_units", "Box groups (alpha units)"),
)


def box_measure(units: Any) -> dict[str, Any]:
    """``stats.box_agreement`` as the figures of ``BOX_FIGURES``."""
    result = box_agreement(units)
    figures: dict[str, Any] = {name: getattr(result, name) for name, _label in BOX_FIGURES}
    figures["reasons"] = dict(result.reasons)
    figures["expected_method"] = result.expected_method
    return figures


def _gold_answer(payload: Mapping[str, Any]) -> Any:
    return payload.get("answer")


def _premise_count(value: Mapping[str, Any], payload: Mapping[str, Any]) -> int | None:
    premises = value.get("visual_premises")
    return len(premises) if isinstance(premises, list) else None


def _boxes_of(value: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """One set per item: the annotation's boxes as (x, y, w, h) fractions of the image."""
    premises = value.get("visual_premises")
    image = payload.get("image") or {}
    width, height = image.get("width"), image.get("height")
    if not isinstance(premises, list) or not width or not height:
        return None
    return {
        "": [
            [
                p["box"]["x"] / width,
                p["box"]["y"] / height,
                p["box"]["w"] / width,
                p["box"]["h"] / height,
            ]
            for p in premises
        ]
    }

"""``derailment`` export: one row per annotation with comment positions (``derailment_points``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..base import ExportShape, ItemSummary


def derailment_point_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]],
) -> Iterator[dict[str, Any]]:
    """One row per annotation with comment positions (1-based) next to ids, and the reference."""
    for item, labels, _summary in records:
        ids = [comment["id"] for comment in item.payload["comments"]]
        position = {comment_id: index + 1 for index, comment_id in enumerate(ids)}
        reference = (item.payload.get("reference") or {}).get("value") or {}
        for label in labels:
            value = label["value"]
            yield {
                "external_id": item.external_id,
                "annotator": label["annotator"],
                "n_comments": len(ids),
                "toxic": value["toxic"],
                "toxic_comment": value["toxic_comment"],
                "toxic_position": position.get(value["toxic_comment"]),
                "derailment_comment": value["derailment_comment"],
                "derailment_position": position.get(value["derailment_comment"]),
                "never_derails": value["derailment_comment"] is None,
                "tones": value.get("tones", {}),
                "reference_toxic": reference.get("toxic"),
                "reference_derailment_comment": reference.get("derailment_comment"),
                "reference_derailment_position": position.get(reference.get("derailment_comment")),
            }


def summary_key(value: Mapping[str, Any]) -> tuple[Any, bool]:
    """What the type's ``summarize`` reads of a value: its label (the derailment point, or
    "never") and whether it is toxic."""
    return (value.get("derailment_comment") or None, bool(value["toxic"]))


EXPORT_SHAPES = (
    ExportShape(
        "derailment_points",
        derailment_point_rows,
        help="one row per annotation, comment positions next to ids, and the reference label",
    ),
)

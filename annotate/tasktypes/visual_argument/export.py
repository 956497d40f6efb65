"""``visual_argument`` export: one row per visual premise box (``boxes``), with its option."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..base import ExportShape, ItemSummary, ShapeOption

INCLUDE_REFERENCE_OPTION = ShapeOption(
    name="include_reference",
    label="Reference boxes",
    choices=(("yes", "include"), ("no", "leave out")),
    default="yes",
    help="yes (default) or no: the item's reference boxes as annotator 'reference'",
)


def box_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]],
    *,
    include_reference: str = "yes",
) -> Iterator[dict[str, Any]]:
    """One row per visual premise box, in pixels and normalised to [0, 1] by the image size,
    with the image path; the item's reference boxes too (annotator ``reference``) unless
    ``include_reference=no``."""
    INCLUDE_REFERENCE_OPTION.check(include_reference)
    return _box_rows(records, include_reference=include_reference == "yes")


def _box_rows(records: Any, *, include_reference: bool) -> Iterator[dict[str, Any]]:
    for item, labels, _summary in records:
        image = item.payload["image"]
        width, height = image["width"], image["height"]
        sources = [(label["annotator"], label["value"]) for label in labels]
        if include_reference and item.payload.get("reference"):
            sources.append(("reference", item.payload["reference"]))
        for annotator, value in sources:
            for premise in value.get("visual_premises", []):
                box = premise["box"]
                yield {
                    "external_id": item.external_id,
                    "annotator": annotator,
                    "image_path": image["path"],
                    "image_width": width,
                    "image_height": height,
                    "premise_id": premise["id"],
                    "text": premise["text"],
                    "x": box["x"],
                    "y": box["y"],
                    "w": box["w"],
                    "h": box["h"],
                    "x_norm": box["x"] / width,
                    "y_norm": box["y"] / height,
                    "w_norm": box["w"] / width,
                    "h_norm": box["h"] / height,
                }


EXPORT_SHAPES = (
    ExportShape(
        "boxes",
        box_rows,
        options=(INCLUDE_REFERENCE_OPTION,),
        help="one row per visual premise box, in pixels and normalised",
    ),
)

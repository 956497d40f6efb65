"""Localization of reference boxes (a grounding task's hit rate and mean IoU).

Input: pairs ``(reference boxes, drawn boxes)``, each an (n, 4) array of (x, y, w, h) in one unit
per pair (pixels or fractions of the image). In each pair the drawn boxes are matched one to one
to the reference boxes maximising total IoU (``boxes.match_boxes``). A reference box is **hit**
when its matched box has IoU >= ``threshold`` (0.5, less a rounding tolerance). Over all pairs:

- ``hit_rate`` = hits / reference boxes (the share of reference boxes localized);
- ``precision`` = hits / drawn boxes;
- ``mean_iou`` = the mean, over reference boxes, of the IoU with the matched box (0 for a reference
  box left unmatched or matched to a box it does not overlap): the usual mIoU of grounding;
- ``mean_iou_hits`` = the mean IoU over the hits only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy.typing as npt

from .boxes import HIT_IOU, match_boxes

IOU_TOLERANCE = 1e-9
"""As in ``box_agreement``: an IoU a rounding error below the threshold still counts as a hit."""


@dataclass(frozen=True)
class Localization:
    threshold: float
    n_pairs: int
    n_reference_boxes: int
    n_boxes: int
    n_hits: int
    hit_rate: float | None
    precision: float | None
    mean_iou: float | None
    mean_iou_hits: float | None
    reasons: dict[str, str] = field(default_factory=dict)


def localization(
    pairs: Iterable[tuple[npt.ArrayLike, npt.ArrayLike]], *, threshold: float = HIT_IOU
) -> Localization:
    n_pairs = n_reference = n_drawn = 0
    hit_ious: list[float] = []
    iou_sum = 0.0
    for reference, drawn in pairs:
        matching = match_boxes(reference, drawn, threshold=threshold)
        n_pairs += 1
        n_reference += matching.n_a
        n_drawn += matching.n_b
        for match in matching.matches:
            iou_sum += match.iou
            if match.iou >= threshold - IOU_TOLERANCE:
                hit_ious.append(match.iou)
    reasons: dict[str, str] = {}
    if not n_pairs:
        reasons["hit_rate"] = reasons["mean_iou"] = "no annotation to compare with a reference"
    elif not n_reference:
        reasons["hit_rate"] = reasons["mean_iou"] = "the references have no box"
    if n_pairs and not n_drawn:
        reasons["precision"] = "no box was drawn"
    if not hit_ious:
        reasons["mean_iou_hits"] = "no hit"
    return Localization(
        threshold=threshold,
        n_pairs=n_pairs,
        n_reference_boxes=n_reference,
        n_boxes=n_drawn,
        n_hits=len(hit_ious),
        hit_rate=len(hit_ious) / n_reference if n_reference else None,
        precision=len(hit_ious) / n_drawn if n_drawn else None,
        mean_iou=iou_sum / n_reference if n_reference else None,
        mean_iou_hits=sum(hit_ious) / len(hit_ious) if hit_ious else None,
        reasons=reasons,
    )

"""Intersection over union of axis-aligned boxes, and optimal matching of two annotators' boxes.

Boxes are (x, y, w, h): the top-left corner and a non-negative width and height, in any one unit
(pixels or fractions of the image), as an (n, 4) array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from ._data import FloatArray

HIT_IOU = 0.5
"""A matched pair of boxes is a hit when its IoU is at least this (the PASCAL VOC criterion)."""


@dataclass(frozen=True)
class BoxMatch:
    """One pair of the optimal matching: box ``a`` of the first set, box ``b`` of the second."""

    a: int
    b: int
    iou: float


@dataclass(frozen=True)
class BoxMatching:
    """The one-to-one matching of two box sets that maximises the total IoU.

    ``matches`` are the assigned pairs with IoU > 0 (pairs that do not overlap are not matches);
    ``hits`` those with IoU >= ``threshold``. ``mean_iou`` is over the hits and ``None`` without a
    hit; ``recall`` = hits / boxes in A and ``precision`` = hits / boxes in B are ``None`` when that
    set is empty (``reason`` says so).
    """

    matches: tuple[BoxMatch, ...]
    n_a: int
    n_b: int
    threshold: float
    n_hits: int
    mean_iou: float | None
    recall: float | None
    precision: float | None
    reason: str | None


def _as_boxes(boxes: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError("boxes must be an (n, 4) array of (x, y, w, h)")
    if not np.isfinite(arr).all():
        raise ValueError("box coordinates must be finite")
    if (arr[:, 2:] < 0).any():
        raise ValueError("box width and height must be non-negative")
    return arr


def box_iou(boxes_a: npt.ArrayLike, boxes_b: npt.ArrayLike) -> FloatArray:
    """(n, m) IoU of every box in A with every box in B; 0 where the union has no area."""
    a = _as_boxes(boxes_a)
    b = _as_boxes(boxes_b)
    ax1, ay1 = a[:, 0:1], a[:, 1:2]
    ax2, ay2 = ax1 + a[:, 2:3], ay1 + a[:, 3:4]
    bx1, by1 = b[:, 0], b[:, 1]
    bx2, by2 = bx1 + b[:, 2], by1 + b[:, 3]
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0.0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0.0, None)
    inter = iw * ih
    union = (a[:, 2:3] * a[:, 3:4]) + (b[:, 2] * b[:, 3]) - inter
    iou: FloatArray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def match_boxes(
    boxes_a: npt.ArrayLike, boxes_b: npt.ArrayLike, *, threshold: float = HIT_IOU
) -> BoxMatching:
    """Match A's boxes to B's one-to-one maximising total IoU (Hungarian algorithm)."""
    iou = box_iou(boxes_a, boxes_b)
    n_a, n_b = iou.shape
    matches: list[BoxMatch] = []
    if n_a and n_b:
        rows, cols = linear_sum_assignment(iou, maximize=True)
        matches = [
            BoxMatch(int(r), int(c), float(iou[r, c]))
            for r, c in zip(rows, cols, strict=True)
            if iou[r, c] > 0
        ]
    hits = [m for m in matches if m.iou >= threshold]
    mean_iou = float(np.mean([m.iou for m in hits])) if hits else None
    reason = None
    if n_a == 0 and n_b == 0:
        reason = "neither annotator drew a box"
    elif n_a == 0:
        reason = "the first annotator drew no box"
    elif n_b == 0:
        reason = "the second annotator drew no box"
    return BoxMatching(
        tuple(matches),
        n_a,
        n_b,
        threshold,
        len(hits),
        mean_iou,
        len(hits) / n_a if n_a else None,
        len(hits) / n_b if n_b else None,
        reason,
    )

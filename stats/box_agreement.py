"""Agreement on sets of boxes: hit rate, mean IoU, and Krippendorff's alpha with 1 - IoU.

Input: ``units``, one per item, each a mapping annotator -> that annotator's boxes on the item,
an (n, 4) array of (x, y, w, h) (``n`` may be 0: the annotator labelled the item and drew no box).
An annotator missing from a unit did not label the item. Boxes should be in fractions of the
image (x / width, ...): IoU within an item does not change, and the chance term of alpha then
compares box positions on the image frame, whatever the image sizes.

**Hit rate and mean IoU** (pairs of annotators). For every item and every pair of its annotators,
their boxes are matched one to one maximising total IoU (``boxes.match_boxes``); a matched pair
with IoU >= ``threshold`` (0.5; less ``IOU_TOLERANCE`` for rounding) is a hit. Hit rate = 2 x hits
/ boxes of the pairs: the share of boxes that found a partner in the other annotator's set
(symmetric; with two annotators it is the F1 of one against the other). Mean IoU is over the hits;
``mean_iou_assigned`` over every assigned pair that overlaps at all (IoU > 0).

**Alpha with 1 - IoU as the distance.** Boxes become alpha's units and values by matching: on
each item, annotators are taken in a fixed order (their keys, sorted) and each one's boxes are
matched (optimal assignment, maximising the mean IoU with the boxes already in a group) to the
groups made so far; a box that overlaps no group starts a new one. Each group is a unit; every
annotator of the item gives it a value: their box in the group, or "no box" (they labelled the
item and drew nothing there). The distance is 1 - IoU between two boxes, 1 between a box and
"no box" (an empty box overlaps nothing), 0 between two "no box" values. Alpha = 1 - D_o / D_e
with Krippendorff's definitions for any difference function (Krippendorff 2011, section C):
D_o averages the distances within units (each unit's pairs weighted 1 / (m_u - 1)), D_e the
distances between all pairable values pooled across units. So alpha falls both when boxes of the
same premise are placed differently and when one annotator marks a premise the other does not.
With two annotators the groups are exactly the matching of ``match_boxes``; with more, the greedy
grouping depends on the annotators' order (a documented simplification of Krippendorff's
unitizing alpha, which needs continua rather than 2-D regions).

D_e needs the IoU of every pair of boxes across items: computed exactly in chunks up to
``MAX_EXACT_BOXES`` boxes, and beyond that estimated from ``SAMPLED_PAIRS`` random pairs (fixed
seed; ``expected_method`` says which).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from ._data import FloatArray
from .boxes import HIT_IOU, _as_boxes, box_iou, match_boxes

MAX_EXACT_BOXES = 5_000
"""Up to this many pairable boxes, D_e sums the IoU of every pair of boxes exactly."""

SAMPLED_PAIRS = 2_000_000
"""Above ``MAX_EXACT_BOXES``, the mean IoU between boxes is estimated from this many pairs."""

IOU_TOLERANCE = 1e-9
"""A pair at IoU >= threshold - this is a hit: boxes scaled to fractions of the image can land a
rounding error below an IoU of exactly 0.5."""

_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class BoxAgreement:
    """Agreement on box sets. Figures are ``None`` when undefined, with ``reasons[name]``."""

    n_items: int  # items with at least two annotators
    n_pairs: int  # (item, annotator pair) comparisons
    n_boxes: int  # boxes over those comparisons (a box counts once per pair it is in)
    n_hits: int
    hit_rate: float | None
    mean_iou: float | None
    mean_iou_assigned: float | None
    alpha: float | None
    n_units: int  # box groups with at least two values
    n_pairable_values: int
    observed_disagreement: float | None
    expected_disagreement: float | None
    expected_method: str  # "exact" or "sampled"
    reasons: Mapping[str, str]


def _group(sets: list[FloatArray]) -> list[list[tuple[int, int]]]:
    """Groups of (annotator index, box index), one box per annotator at most."""
    groups: list[list[tuple[int, int]]] = []
    for a, boxes in enumerate(sets):
        if not len(boxes):
            continue
        assigned: set[int] = set()
        if groups:
            score = np.zeros((len(boxes), len(groups)))
            for g, members in enumerate(groups):
                others = np.stack([sets[m][b] for m, b in members])
                score[:, g] = box_iou(boxes, others).mean(axis=1)
            rows, cols = linear_sum_assignment(score, maximize=True)
            for r, c in zip(rows, cols, strict=True):
                if score[r, c] > 0:
                    groups[c].append((a, int(r)))
                    assigned.add(int(r))
        groups.extend([[(a, b)] for b in range(len(boxes)) if b not in assigned])
    return groups


def _ordered(unit: Mapping[Hashable, object]) -> list[Hashable]:
    try:
        return sorted(unit)  # type: ignore[type-var]
    except TypeError:
        return sorted(unit, key=repr)


def _sum_pair_iou(boxes: FloatArray, *, seed: int, max_exact: int) -> tuple[float, str]:
    """Sum of IoU over unordered pairs of distinct boxes (estimated above ``max_exact``)."""
    n = len(boxes)
    if n < 2:
        return 0.0, "exact"
    if n <= max_exact:
        total = 0.0
        rows = max(1, _CHUNK_CELLS // n)
        for start in range(0, n, rows):
            block = box_iou(boxes[start : start + rows], boxes)
            total += float(block.sum())
        # The diagonal holds each box with itself (1, or 0 for a box without area).
        self_iou = float(np.count_nonzero((boxes[:, 2] * boxes[:, 3]) > 0))
        return (total - self_iou) / 2, "exact"
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=SAMPLED_PAIRS)
    j = rng.integers(0, n - 1, size=SAMPLED_PAIRS)
    j = j + (j >= i)  # a different box, uniformly
    a, b = boxes[i], boxes[j]
    iw = np.clip(
        np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None
    )
    ih = np.clip(
        np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None
    )
    inter = iw * ih
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return float(iou.mean()) * n * (n - 1) / 2, "sampled"


def box_agreement(
    units: Sequence[Mapping[Hashable, npt.ArrayLike]],
    *,
    threshold: float = HIT_IOU,
    seed: int = 0,
    max_exact_boxes: int = MAX_EXACT_BOXES,
) -> BoxAgreement:
    """Hit rate, mean IoU and alpha (1 - IoU) of annotators' box sets; see the module text.
    ``seed`` and ``max_exact_boxes``: the sampled estimate of D_e for many boxes."""
    reasons: dict[str, str] = {}
    n_items = n_pairs = n_boxes = n_hits = 0
    hit_ious: list[float] = []
    assigned_ious: list[float] = []
    observed = 0.0  # sum over units of (sum of within-unit distances over ordered pairs)/(m - 1)
    n_values = n_empty = n_units = 0
    pooled: list[FloatArray] = []
    for unit in units:
        keys = _ordered(unit)
        sets = [_as_boxes(unit[k]) for k in keys]
        m = len(sets)
        if m < 2:
            continue
        n_items += 1
        for i in range(m):
            for j in range(i + 1, m):
                matching = match_boxes(sets[i], sets[j], threshold=threshold)
                n_pairs += 1
                n_boxes += matching.n_a + matching.n_b
                hits = [x.iou for x in matching.matches if x.iou >= threshold - IOU_TOLERANCE]
                n_hits += len(hits)
                hit_ious += hits
                assigned_ious += [x.iou for x in matching.matches]
        for members in _group(sets):
            boxes = np.stack([sets[a][b] for a, b in members])
            k = len(members)  # boxes in the unit; the other m - k annotators gave "no box"
            iou = box_iou(boxes, boxes)
            box_pairs = float(k * (k - 1) - (iou.sum() - np.trace(iou)))  # ordered, 1 - IoU
            mixed = 2.0 * k * (m - k)  # ordered pairs of a box and "no box", distance 1
            observed += (box_pairs + mixed) / (m - 1)
            n_units += 1
            n_values += m
            n_empty += m - k
            pooled.append(boxes)
    if n_boxes:
        hit_rate: float | None = 2 * n_hits / n_boxes
    else:
        hit_rate = None
        reasons["hit_rate"] = (
            "no item with two annotators yet" if not n_pairs else "no annotator pair drew a box"
        )
    mean_iou = float(np.mean(hit_ious)) if hit_ious else None
    if mean_iou is None:
        reasons["mean_iou"] = f"no pair of boxes matched at IoU >= {threshold:g}"
    mean_assigned = float(np.mean(assigned_ious)) if assigned_ious else None
    if mean_assigned is None:
        reasons["mean_iou_assigned"] = "no two annotators' boxes overlap"

    alpha: float | None = None
    d_o: float | None = None
    d_e: float | None = None
    method = "exact"
    if n_values == 0:
        reasons["alpha"] = "no pairable values: no box on an item with two annotators"
    else:
        all_boxes = np.concatenate(pooled)
        n_b = len(all_boxes)
        iou_sum, method = _sum_pair_iou(all_boxes, seed=seed, max_exact=max_exact_boxes)
        # Ordered pairs of distinct values: box-box (1 - IoU), box-"no box" (1), none-none (0).
        expected_sum = 2.0 * (n_b * (n_b - 1) / 2 - iou_sum) + 2.0 * n_b * n_empty
        d_o = observed / n_values
        d_e = expected_sum / (n_values * (n_values - 1))
        if d_e <= 0:
            reasons["alpha"] = "no variation: every value is the same box"
        else:
            alpha = 1.0 - d_o / d_e
    return BoxAgreement(
        n_items=n_items,
        n_pairs=n_pairs,
        n_boxes=n_boxes,
        n_hits=n_hits,
        hit_rate=hit_rate,
        mean_iou=mean_iou,
        mean_iou_assigned=mean_assigned,
        alpha=alpha,
        n_units=n_units,
        n_pairable_values=n_values,
        observed_disagreement=d_o,
        expected_disagreement=d_e,
        expected_method=method,
        reasons=reasons,
    )

"""Agreement on box sets: a hand-computed case, and alpha against the `krippendorff` package fed
the same units with 1 - IoU (computed here independently) as its metric."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from stats.box_agreement import box_agreement


def iou(a, b) -> float:
    """IoU of two (x, y, w, h) boxes, written out independently of stats.boxes."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def package_alpha(groups: list[list[list[float] | None]]) -> float:
    """``groups``: one list per alpha unit, one value per coder (a box, "no box" = [] or None for
    no value). Alpha through the krippendorff package with 1 - IoU, 1 against "no box"."""
    values: list[list[float] | None] = [None]  # code 0: "no box"
    n_coders = max(len(g) for g in groups)
    data = np.full((n_coders, len(groups)), np.nan)
    for u, group in enumerate(groups):
        for c, value in enumerate(group):
            if value is None:
                continue
            if value == []:
                data[c, u] = 0
            else:
                values.append(value)
                data[c, u] = len(values) - 1
    size = len(values)
    distance = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            if i == j:
                continue
            a, b = values[i], values[j]
            if a is None and b is None:
                distance[i, j] = 0.0
            elif a is None or b is None:
                distance[i, j] = 1.0
            else:
                distance[i, j] = 1.0 - iou(a, b)

    def metric(v1, v2, i1, i2, n_v, dtype):
        return distance[v1.astype(int), v2.astype(int)].astype(dtype)

    return krippendorff.alpha(
        reliability_data=data, level_of_measurement=metric, value_domain=np.arange(size)
    )


def test_hand_computed_hit_rate_mean_iou_and_alpha():
    p, q = [0, 0, 2, 2], [1, 0, 2, 2]  # IoU 2 / 6 = 1/3: a match, not a hit
    r = [0, 0, 1, 1]  # drawn by annotator 1 only
    s = [5, 5, 1, 1]  # both annotators, identical: a hit with IoU 1
    units = [{1: [p], 2: [q]}, {1: [r], 2: []}, {1: [s], 2: [s]}]
    result = box_agreement(units)
    assert result.n_items == 3
    assert result.n_pairs == 3
    assert result.n_boxes == 5
    assert result.n_hits == 1
    assert result.hit_rate == pytest.approx(2 / 5)
    assert result.mean_iou == pytest.approx(1.0)
    assert result.mean_iou_assigned == pytest.approx((1 / 3 + 1) / 2)
    # Values P, Q | R, no box | S, S. D_o = (2(2/3) + 2(1) + 0) / 6 = 5/9.
    # D_e: 10 box pairs with IoU sum 1/3 (P,Q) + 1/4 (P,R) + 1 (S,S) -> 10 - 19/12 = 101/12,
    # 5 box / no-box pairs -> 5; ordered: 161/6 over 6 x 5 -> 161/180. Alpha = 1 - 100/161.
    assert result.observed_disagreement == pytest.approx(5 / 9)
    assert result.expected_disagreement == pytest.approx(161 / 180)
    assert result.alpha == pytest.approx(61 / 161, abs=1e-12)
    assert result.n_units == 3
    assert result.n_pairable_values == 6
    assert result.alpha == pytest.approx(package_alpha([[p, q], [r, []], [s, s]]), abs=1e-12)


def test_two_annotators_on_random_boxes_match_the_package_with_the_optimal_matching():
    rng = np.random.default_rng(7)
    units, groups = [], []
    for _ in range(40):
        sets = []
        for _annotator in range(2):
            n = int(rng.integers(0, 4))
            xy = rng.random((n, 2)) * 0.6
            wh = 0.05 + rng.random((n, 2)) * 0.35
            sets.append(np.hstack([xy, wh]).tolist())
        units.append({10: sets[0], 20: sets[1]})
        a, b = sets
        pairs = []
        if a and b:
            matrix = np.array([[iou(x, y) for y in b] for x in a])
            rows, cols = linear_sum_assignment(matrix, maximize=True)
            pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if matrix[r, c] > 0]
        used_a = {r for r, _c in pairs}
        used_b = {c for _r, c in pairs}
        groups += [[a[r], b[c]] for r, c in pairs]
        groups += [[a[r], []] for r in range(len(a)) if r not in used_a]
        groups += [[[], b[c]] for c in range(len(b)) if c not in used_b]
    result = box_agreement(units)
    assert result.n_units == len(groups)
    assert result.alpha == pytest.approx(package_alpha(groups), abs=1e-9)


def test_three_annotators_with_missing_items_match_the_package():
    """Premises sit in separate cells of the image, so the groups are known: each annotator's
    box for a premise is a jittered copy of it, sometimes left out; some items lack an
    annotator."""
    rng = np.random.default_rng(3)
    cells = [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)]
    units, groups = [], []
    for _ in range(30):
        premises = [
            cells[i] for i in sorted(rng.choice(4, size=int(rng.integers(1, 4)), replace=False))
        ]
        annotators = [a for a in (1, 2, 3) if rng.random() < 0.85]
        unit: dict[int, list] = {a: [] for a in annotators}
        item_groups = []
        for cx, cy in premises:
            values = []
            for a in (1, 2, 3):
                if a not in unit:
                    values.append(None)
                    continue
                if rng.random() < 0.25:
                    values.append([])
                    continue
                box = [
                    cx + 0.05 + rng.random() * 0.05,
                    cy + 0.05 + rng.random() * 0.05,
                    0.25 + rng.random() * 0.1,
                    0.25 + rng.random() * 0.1,
                ]
                unit[a].append(box)
                values.append(box)
            if any(v for v in values):
                item_groups.append(values)
        units.append(unit)
        if len(annotators) >= 2:
            groups += item_groups
    result = box_agreement(units)
    assert result.n_units == len(groups)
    assert result.alpha == pytest.approx(package_alpha(groups), abs=1e-9)


def test_sampled_expected_disagreement_is_close_to_the_exact_one():
    rng = np.random.default_rng(11)
    units = []
    for _ in range(60):
        base = rng.random((3, 2)) * 0.6
        units.append(
            {
                a: np.hstack([base + rng.normal(0, 0.03, (3, 2)), np.full((3, 2), 0.3)]).clip(0.001)
                for a in range(3)
            }
        )
    exact = box_agreement(units)
    sampled = box_agreement(units, max_exact_boxes=10)
    assert exact.expected_method == "exact"
    assert sampled.expected_method == "sampled"
    assert sampled.expected_disagreement == pytest.approx(exact.expected_disagreement, rel=0.01)
    assert sampled.alpha == pytest.approx(exact.alpha, abs=0.01)


def test_one_annotator_gives_defined_empty_results():
    result = box_agreement([{1: [[0, 0, 1, 1]]}, {1: []}])
    assert result.n_items == 0
    assert result.alpha is None and result.hit_rate is None and result.mean_iou is None
    assert "no pairable values" in result.reasons["alpha"]
    assert result.reasons["hit_rate"] == "no item with two annotators yet"


def test_no_boxes_at_all_is_not_an_error():
    result = box_agreement([{1: [], 2: []}])
    assert result.n_pairs == 1
    assert result.hit_rate is None
    assert result.reasons["hit_rate"] == "no annotator pair drew a box"
    assert result.alpha is None


def test_perfect_agreement_is_one_and_one_box_everywhere_has_no_variation():
    units = [
        {1: [[0, 0, 0.2, 0.2]], 2: [[0, 0, 0.2, 0.2]]},
        {1: [[0.5, 0.5, 0.3, 0.3]], 2: [[0.5, 0.5, 0.3, 0.3]]},
    ]
    result = box_agreement(units)
    assert result.alpha == pytest.approx(1.0)
    assert result.hit_rate == 1.0
    same = box_agreement([{1: [[0, 0, 1, 1]], 2: [[0, 0, 1, 1]]}])
    assert same.alpha is None
    assert same.reasons["alpha"].startswith("no variation")


def test_a_premise_only_one_annotator_marks_lowers_alpha():
    agreed = [
        {1: [[0, 0, 0.2, 0.2]], 2: [[0, 0, 0.2, 0.2]]},
        {1: [[0.5, 0.5, 0.3, 0.3]], 2: [[0.5, 0.5, 0.3, 0.3]]},
    ]
    extra = [dict(agreed[0]), agreed[1]]
    extra[0] = {1: [[0, 0, 0.2, 0.2], [0.6, 0.6, 0.3, 0.3]], 2: [[0, 0, 0.2, 0.2]]}
    assert box_agreement(extra).alpha < box_agreement(agreed).alpha
    assert box_agreement(extra).hit_rate == pytest.approx(2 * 2 / 5)

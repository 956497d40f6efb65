"""Box IoU and matching (hand-computed cases) and AUROC (hand examples and scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from stats.auroc import auroc
from stats.boxes import box_iou, match_boxes


def test_iou_of_hand_computed_boxes():
    a = [[0, 0, 2, 2]]
    b = [
        [0, 0, 2, 2],  # identical: 1
        [1, 1, 2, 2],  # overlap 1x1 = 1, union 4 + 4 - 1 = 7
        [1, 0, 2, 2],  # overlap 1x2 = 2, union 6
        [2, 0, 2, 2],  # touching edge: 0
        [5, 5, 1, 1],  # apart: 0
        [0.5, 0.5, 1, 1],  # inside: 1 / 4
    ]
    np.testing.assert_allclose(box_iou(a, b), [[1, 1 / 7, 1 / 3, 0, 0, 0.25]])


def test_iou_of_degenerate_boxes_is_zero_not_nan():
    assert box_iou([[1, 1, 0, 0]], [[1, 1, 0, 0]]).tolist() == [[0.0]]
    assert box_iou([[0, 0, 0, 3]], [[0, 0, 2, 2]]).tolist() == [[0.0]]


def test_matching_is_optimal_not_greedy():
    # Greedy by best IoU would pair a0-b0 (0.6) and leave a1 with b1 (0.0); the optimal matching
    # pairs a0-b1 and a1-b0 for a larger total.
    a = [[0, 0, 10, 10], [6, 0, 10, 10]]
    b = [[3, 0, 10, 10], [-4, 0, 10, 10]]
    iou = box_iou(a, b)
    result = match_boxes(a, b)
    pairs = {(m.a, m.b) for m in result.matches}
    assert pairs == {(0, 1), (1, 0)}
    assert iou[0, 0] > iou[0, 1]
    total = sum(m.iou for m in result.matches)
    assert total == pytest.approx(iou[0, 1] + iou[1, 0])
    assert total > iou[0, 0] + iou[1, 1]


def test_matching_counts_hits_at_iou_half_and_mean_iou_over_hits():
    a = [[0, 0, 2, 2], [10, 10, 2, 2], [20, 20, 2, 2]]
    b = [[0, 0, 2, 2], [11, 10, 2, 2], [20, 20.5, 2, 2], [50, 50, 1, 1]]
    # a0-b0 IoU 1; a1-b1 overlap 1x2 = 2, union 6 -> 1/3 (a match, not a hit);
    # a2-b2 overlap 2x1.5 = 3, union 5 -> 0.6 (a hit); b3 unmatched.
    result = match_boxes(a, b)
    assert [round(m.iou, 6) for m in result.matches] == [1.0, round(1 / 3, 6), 0.6]
    assert result.n_hits == 2
    assert result.mean_iou == pytest.approx(0.8)
    assert result.recall == pytest.approx(2 / 3)
    assert result.precision == pytest.approx(2 / 4)
    assert result.reason is None
    exactly_half = match_boxes([[0, 0, 2, 2]], [[0, 0, 2, 1]])
    assert exactly_half.n_hits == 1


def test_matching_with_empty_sets_is_defined():
    neither = match_boxes([], [])
    assert neither.n_hits == 0 and neither.mean_iou is None
    assert neither.recall is None and neither.precision is None
    assert neither.reason == "neither annotator drew a box"
    one_sided = match_boxes([[0, 0, 1, 1]], np.zeros((0, 4)))
    assert one_sided.recall == 0.0 and one_sided.precision is None
    assert "second annotator" in one_sided.reason


def test_boxes_must_be_well_formed():
    with pytest.raises(ValueError):
        box_iou([[0, 0, -1, 1]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError):
        box_iou([[0, 0, 1]], [[0, 0, 1, 1]])


def test_auroc_hand_examples():
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]).auroc == pytest.approx(0.75)
    assert auroc([1, 2, 3, 4], [0, 0, 1, 1]).auroc == 1.0
    assert auroc([4, 3, 2, 1], [0, 0, 1, 1]).auroc == 0.0
    # All tied: one half.
    assert auroc([5, 5, 5, 5], [0, 1, 0, 1]).auroc == 0.5
    # One tie across classes: positives (2, 3) vs negatives (1, 2): pairs 1, 0.5, 1, 1 -> 3.5 / 4.
    assert auroc([2, 3, 1, 2], [1, 1, 0, 0]).auroc == pytest.approx(0.875)


@pytest.mark.parametrize("seed", range(5))
def test_auroc_matches_scikit_learn_with_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 500)
    scores = (rng.normal(size=500) + labels).round(1)  # rounding makes ties
    result = auroc(scores, labels)
    assert result.auroc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert result.n_positive + result.n_negative == 500


def test_auroc_with_one_class_has_a_reason_and_nan_scores_are_dropped():
    only_positive = auroc([0.2, 0.9], [True, True])
    assert only_positive.auroc is None
    assert only_positive.reason == "no negative units: AUROC needs both classes"
    assert auroc([], []).auroc is None
    dropped = auroc([np.nan, 0.2, 0.9], [0, 0, 1])
    assert dropped.auroc == 1.0 and dropped.n_dropped == 1
    with pytest.raises(ValueError):
        auroc([1, 2], [1])

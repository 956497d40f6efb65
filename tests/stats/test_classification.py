"""stats.classification against scikit-learn and hand-computed values."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from stats.classification import at_threshold, binary_scores, position_distance


def _sklearn(y_true, y_pred):
    p, r, f, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", zero_division=np.nan
    )
    return p, r, f, accuracy_score(y_true, y_pred)


def _same(ours, theirs):
    return (ours is None and math.isnan(theirs)) or (
        ours is not None and ours == pytest.approx(theirs, abs=1e-12)
    )


@pytest.mark.parametrize("seed", range(20))
def test_rates_match_scikit_learn_on_random_labels(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    y_true = [rng.random() < 0.3 for _ in range(n)]
    y_pred = [rng.random() < 0.3 for _ in range(n)]
    ours = binary_scores(y_true, y_pred)
    for mine, theirs in zip(
        (ours.precision, ours.recall, ours.f1, ours.accuracy), _sklearn(y_true, y_pred), strict=True
    ):
        assert _same(mine, theirs)
    assert ours.n == n


@pytest.mark.parametrize(
    ("y_true", "y_pred", "undefined"),
    [
        ([True, True, False], [False, False, False], {"precision"}),
        ([False, False], [True, False], {"recall"}),
        ([False, False], [False, False], {"precision", "recall", "f1"}),
    ],
)
def test_zero_division_is_none_with_a_reason_as_scikit_learn_says_nan(y_true, y_pred, undefined):
    ours = binary_scores(y_true, y_pred)
    rates = {"precision": ours.precision, "recall": ours.recall, "f1": ours.f1}
    assert {name for name, rate in rates.items() if rate is None} == undefined
    assert set(ours.reasons) == undefined
    for mine, theirs in zip(
        (ours.precision, ours.recall, ours.f1), _sklearn(y_true, y_pred)[:3], strict=True
    ):
        assert _same(mine, theirs)


def test_the_derailment_papers_ltm_sample_counts_give_its_figures():
    # README of the shared sample: TP 21, FP 6, FN 10, TN 163 -> P 0.7778, R 0.6774, F1 0.7241.
    y_true = [True] * 21 + [False] * 6 + [True] * 10 + [False] * 163
    y_pred = [True] * 27 + [False] * 173
    scores = binary_scores(y_true, y_pred).as_dict()
    assert (scores["tp"], scores["fp"], scores["fn"], scores["tn"], scores["n"]) == (
        21,
        6,
        10,
        163,
        200,
    )
    assert scores["precision"] == pytest.approx(21 / 27)
    assert round(scores["precision"], 4) == 0.7778
    assert round(scores["recall"], 4) == 0.6774
    assert round(scores["f1"], 4) == 0.7241
    assert scores["accuracy"] == pytest.approx(184 / 200)


def test_nothing_to_compare_says_so_for_every_rate():
    scores = binary_scores([], [])
    assert (scores.precision, scores.recall, scores.f1, scores.accuracy, scores.n) == (
        None,
        None,
        None,
        None,
        0,
    )
    assert set(scores.reasons.values()) == {"nothing to compare"}


def test_lengths_must_match():
    with pytest.raises(ValueError):
        binary_scores([True], [True, False])


def test_the_threshold_is_inclusive():
    assert at_threshold([0.49, 0.5, 0.51], 0.5) == [False, True, True]


def test_position_distance_by_hand():
    result = position_distance([0.0, 3.0, 2.0, math.nan], [0.0, 1.0, 4.5, 1.0])
    assert result == {
        "mean_abs": pytest.approx(4.5 / 3),
        "median_abs": 2.0,
        "exact_share": pytest.approx(1 / 3),
        "n": 3,
    }
    empty = position_distance([math.nan], [1.0])
    assert empty["n"] == 0 and empty["mean_abs"] is None and empty["reason"]

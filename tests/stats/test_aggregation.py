"""Majority vote, soft labels and Dawid-Skene.

Dawid-Skene is checked against crowd-kit's ``DawidSkene`` (an independent implementation of the
same EM, started the same way from majority-vote soft labels) after the same number of
iterations, on a hand-checkable case, and on synthetic data with known annotator reliabilities.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from stats.aggregation import dawid_skene, majority_vote, soft_labels

N = np.nan


def test_majority_vote_picks_the_most_frequent_label_and_marks_ties():
    labels = np.array(
        [
            [1, 1, 2, N, 0],
            [1, 2, 3, N, N],
            [2, 1, N, N, N],
        ]
    )
    result = majority_vote(labels)
    assert result.categories == (0.0, 1.0, 2.0, 3.0)
    assert result.label[0] == 1.0 and result.label[1] == 1.0 and result.label[4] == 0.0
    assert np.isnan(result.label[2]) and result.tie[2]
    assert result.tied_labels(2) == (2.0, 3.0)
    assert np.isnan(result.label[3]) and not result.tie[3] and result.n_votes[3] == 0
    assert result.tied_labels(3) == ()
    assert result.share[0] == pytest.approx(2 / 3)
    assert np.isnan(result.share[3])
    assert result.n_votes.tolist() == [3, 3, 2, 0, 1]


def test_majority_vote_of_nothing_is_defined():
    result = majority_vote(np.full((2, 3), np.nan))
    assert result.categories == ()
    assert np.isnan(result.label).all() and not result.tie.any()
    assert result.n_votes.tolist() == [0, 0, 0]


def test_soft_labels_are_vote_shares():
    result = soft_labels([[1, 1, N], [0, 1, N], [1, 0, N]], categories=[0, 1, 2])
    np.testing.assert_allclose(
        result.distribution, [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0], [0, 0, 0]]
    )
    assert result.n_votes.tolist() == [3, 3, 0]


def _synthetic(seed, n_units=600, accuracies=(0.9, 0.85, 0.4, 0.35, 0.35), k=3, coverage=0.9):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_units)
    labels = np.full((len(accuracies), n_units), np.nan)
    for j, acc in enumerate(accuracies):
        wrong = (truth + rng.integers(1, k, n_units)) % k
        given = np.where(rng.random(n_units) < acc, truth, wrong)
        shown = rng.random(n_units) < coverage
        labels[j, shown] = given[shown]
    return labels, truth


@pytest.mark.parametrize("seed", range(3))
def test_dawid_skene_beats_majority_vote_when_reliabilities_differ(seed):
    labels, truth = _synthetic(seed)
    ds = dawid_skene(labels)
    mv = majority_vote(labels)
    ds_accuracy = (ds.label == truth).mean()
    mv_accuracy = (mv.label == truth).mean()  # ties count as wrong
    assert ds.converged
    assert ds_accuracy > mv_accuracy + 0.05
    # The diagonal of each confusion matrix recovers the annotator's accuracy.
    recovered = np.array([np.diag(c).mean() for c in ds.confusion])
    np.testing.assert_allclose(recovered, [0.9, 0.85, 0.4, 0.35, 0.35], atol=0.08)
    np.testing.assert_allclose(ds.posteriors.sum(axis=1), 1.0)
    np.testing.assert_allclose(ds.confusion.sum(axis=2), 1.0)
    assert ds.priors.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("iterations", [1, 3, 30])
def test_dawid_skene_matches_crowd_kit_iteration_for_iteration(iterations):
    from crowdkit.aggregation import DawidSkene

    labels, _ = _synthetic(7, n_units=300, coverage=0.7)
    ours = dawid_skene(labels, tol=0.0, max_iter=iterations)
    coder, unit = np.nonzero(~np.isnan(labels))
    frame = pd.DataFrame({"task": unit, "worker": coder, "label": labels[coder, unit].astype(int)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = DawidSkene(n_iter=iterations, tol=-1.0).fit(frame)
    probas = reference.probas_.sort_index()
    probas = probas[sorted(probas.columns)]
    np.testing.assert_allclose(
        ours.posteriors[probas.index.to_numpy()], probas.to_numpy(), atol=1e-8
    )
    np.testing.assert_allclose(ours.priors, reference.priors_.sort_index().to_numpy(), atol=1e-8)
    for worker in range(labels.shape[0]):
        errors = reference.errors_.loc[worker].sort_index()[sorted(reference.errors_.columns)]
        # crowd-kit: rows = observed label, columns = true class; ours: [true, observed].
        np.testing.assert_allclose(ours.confusion[worker], errors.to_numpy().T, atol=1e-8)


def test_dawid_skene_on_a_hand_checkable_case():
    # Two units, unanimous labels from three coders: the posteriors stay certain and every coder's
    # confusion matrix is the identity (up to the 1e-10 clipping).
    labels = np.array([[0, 1], [0, 1], [0, 1]], dtype=float)
    result = dawid_skene(labels)
    np.testing.assert_allclose(result.posteriors, np.eye(2), atol=1e-9)
    np.testing.assert_allclose(result.confusion, np.stack([np.eye(2)] * 3), atol=1e-9)
    np.testing.assert_allclose(result.priors, [0.5, 0.5])
    assert result.label.tolist() == [0.0, 1.0]
    assert result.converged


def test_dawid_skene_gives_unlabelled_units_the_prior_and_handles_no_labels():
    labels = np.array([[0, 1, 0, N], [0, 1, 1, N], [0, 1, 0, N]])
    result = dawid_skene(labels)
    np.testing.assert_allclose(result.posteriors[3], result.priors, atol=1e-9)
    empty = dawid_skene(np.full((2, 3), np.nan))
    assert empty.categories == () and empty.posteriors.shape == (3, 0)
    assert np.isnan(empty.label).all()


def test_dawid_skene_reports_non_convergence_within_max_iter():
    labels, _ = _synthetic(3)
    result = dawid_skene(labels, tol=0.0, max_iter=2)
    assert result.n_iterations == 2
    assert not result.converged
    assert dawid_skene(labels, tol=1e-6, max_iter=1000).converged


@pytest.mark.parametrize("k", [1, 2, 5, 7, 8, 12])
def test_row_max_and_sum_are_numpys_bits(k):
    """The EM's column-by-column row max and sum give exactly NumPy's ``max``/``sum`` along the
    last axis (so Dawid-Skene's figures did not move when they replaced them)."""
    from stats.aggregation import _row_max, _row_sum

    rng = np.random.default_rng(k)
    values = rng.random((5000, k)) * np.exp(rng.normal(0, 6, (5000, k)))
    np.testing.assert_array_equal(_row_max(values), values.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(_row_sum(values), values.sum(axis=1, keepdims=True))

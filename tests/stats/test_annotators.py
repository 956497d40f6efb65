"""Pairwise agreement matrix and leave-one-out consensus agreement, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from stats.annotators import leave_one_out_agreement, pairwise_agreement_matrix
from stats.kappa import observed_agreement

N = np.nan

LABELS = np.array(
    [
        [1, 1, 2, 2, N],  # annotator 0
        [1, 1, 2, 3, 1],  # annotator 1
        [1, 2, 2, N, 2],  # annotator 2
        [N, N, N, N, 3],  # annotator 3: one unit, shared with 1 and 2 only
    ]
)


def test_pairwise_agreement_matrix_by_hand():
    result = pairwise_agreement_matrix(LABELS)
    # 0-1: units 0-3 in common, agree on 0, 1, 2 -> 3/4. 0-2: units 0-2, agree on 0, 2 -> 2/3.
    # 1-2: units 0, 1, 2, 4, agree on 0, 2 -> 2/4. 0-3: nothing in common. 1-3, 2-3: unit 4, no.
    expected = np.array(
        [
            [1, 3 / 4, 2 / 3, N],
            [3 / 4, 1, 2 / 4, 0],
            [2 / 3, 2 / 4, 1, 0],
            [N, 0, 0, 1],
        ]
    )
    np.testing.assert_allclose(result.agreement, expected)
    assert result.n_common.tolist() == [[4, 4, 3, 0], [4, 5, 4, 1], [3, 4, 4, 1], [0, 1, 1, 1]]


def test_pairwise_matrix_agrees_with_observed_agreement_for_each_pair():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=(4, 200)).astype(float)
    labels[rng.random(labels.shape) < 0.3] = np.nan
    matrix = pairwise_agreement_matrix(labels).agreement
    for i in range(4):
        for j in range(i + 1, 4):
            assert matrix[i, j] == pytest.approx(observed_agreement(labels[[i, j]]).agreement)


def test_pairwise_agreement_with_tolerance():
    result = pairwise_agreement_matrix([[1, 4, 7], [2, 4, 9]], tolerance=1)
    assert result.agreement[0, 1] == pytest.approx(2 / 3)


def test_leave_one_out_agreement_by_hand():
    result = leave_one_out_agreement(LABELS)
    # Annotator 0: unit 0 others {1,1} -> 1 agree; unit 1 others {1,2} tie; unit 2 others {2,2}
    # agree; unit 3 others {3} -> disagree. 2 of 3 compared, 1 tied.
    # Annotator 1: u0 {1,1} agree; u1 {1,2} tie; u2 {2,2} agree; u3 {2} no; u4 {2,3} tie -> 2/3.
    # Annotator 2: u0 {1,1} agree; u1 {1,1} no; u2 {2,2} agree; u4 {1,3} tie -> 2/3.
    # Annotator 3: u4 others {1,2} tie -> nothing compared.
    assert result.n_agree.tolist() == [2, 2, 2, 0]
    assert result.n_compared.tolist() == [3, 3, 3, 0]
    assert result.n_tied.tolist() == [1, 2, 1, 1]
    np.testing.assert_allclose(result.agreement[:3], [2 / 3, 2 / 3, 2 / 3])
    assert np.isnan(result.agreement[3])


def test_leave_one_out_with_a_single_annotator_compares_nothing():
    result = leave_one_out_agreement([[1, 2, 3]])
    assert result.n_compared.tolist() == [0]
    assert np.isnan(result.agreement[0])
    empty = leave_one_out_agreement(np.full((2, 2), np.nan))
    assert empty.n_compared.tolist() == [0, 0]

"""Per-annotator agreement: with the leave-one-out consensus, and pairwise between annotators.

Input: annotators x units labels (the coders x units convention of alpha), NaN = not labelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._data import FloatArray, IntArray, as_label_matrix


@dataclass(frozen=True)
class PairwiseAgreement:
    """``agreement[i, j]``: share of the units both i and j labelled on which they agree.

    NaN exactly where ``n_common[i, j] == 0`` (no unit in common). The diagonal is 1 for an
    annotator with at least one label and ``n_common[i, i]`` is that annotator's number of labels.
    """

    agreement: FloatArray
    n_common: IntArray


@dataclass(frozen=True)
class LeaveOneOutAgreement:
    """Per annotator: how often their label equals the majority label of the *other* annotators.

    A unit counts for annotator j when j labelled it and at least one other annotator did. When
    the others' top count is tied the unit is left out of ``agreement`` and counted in ``n_tied``.
    ``agreement[j]`` is NaN exactly when ``n_compared[j] == 0``.
    """

    agreement: FloatArray
    n_agree: IntArray
    n_compared: IntArray
    n_tied: IntArray


def pairwise_agreement_matrix(
    labels: npt.ArrayLike, *, tolerance: float = 0.0
) -> PairwiseAgreement:
    """Annotator x annotator agreement; labels agree when they differ by at most ``tolerance``."""
    data = as_label_matrix(labels)
    n_annotators = data.shape[0]
    present = ~np.isnan(data)
    common = present.astype(np.int64) @ present.T.astype(np.int64)
    agree = np.zeros((n_annotators, n_annotators), dtype=np.int64)
    filled = np.where(present, data, 0.0)
    for i in range(n_annotators):
        close = np.abs(filled[i][None, :] - filled) <= tolerance
        agree[i] = (close & present[i][None, :] & present).sum(axis=1)
    ratio = np.divide(
        agree.astype(np.float64),
        common.astype(np.float64),
        out=np.full((n_annotators, n_annotators), np.nan),
        where=common > 0,
    )
    return PairwiseAgreement(ratio, common)


def leave_one_out_agreement(labels: npt.ArrayLike) -> LeaveOneOutAgreement:
    """Agreement of each annotator with the majority of the others (nominal labels)."""
    data = as_label_matrix(labels)
    n_annotators, n_units = data.shape
    present = ~np.isnan(data)
    cats = np.unique(data[present])
    k = cats.size
    idx = np.zeros(data.shape, dtype=np.int64)
    idx[present] = np.searchsorted(cats, data[present])
    onehot = np.zeros((n_annotators, n_units, max(k, 1)), dtype=np.int64)
    a_idx, u_idx = np.nonzero(present)
    onehot[a_idx, u_idx, idx[a_idx, u_idx]] = 1
    totals = onehot.sum(axis=0)
    n_agree = np.zeros(n_annotators, dtype=np.int64)
    n_compared = np.zeros(n_annotators, dtype=np.int64)
    n_tied = np.zeros(n_annotators, dtype=np.int64)
    for j in range(n_annotators):
        others = totals - onehot[j]
        n_others = others.sum(axis=1)
        usable = present[j] & (n_others > 0)
        top = others.max(axis=1)
        tied = (others == top[:, None]).sum(axis=1) > 1
        decided = usable & ~tied
        consensus = others.argmax(axis=1)
        n_agree[j] = int((decided & (consensus == idx[j])).sum())
        n_compared[j] = int(decided.sum())
        n_tied[j] = int((usable & tied).sum())
    agreement = np.divide(
        n_agree.astype(np.float64),
        n_compared.astype(np.float64),
        out=np.full(n_annotators, np.nan),
        where=n_compared > 0,
    )
    return LeaveOneOutAgreement(agreement, n_agree, n_compared, n_tied)

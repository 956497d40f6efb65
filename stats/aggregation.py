"""Aggregating several annotators' nominal labels per unit: majority vote, soft labels, Dawid-Skene.

Input: coders x units labels, a 2-D float array with NaN for missing (as for alpha). Labels are
numeric codes; results are indexed by ``categories`` (the sorted distinct labels unless given).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from ._data import BoolArray, FloatArray, IntArray, as_label_matrix

_CLIP = 1e-10
"""Confusion-matrix and prior cells are clipped to this before logs (as crowd-kit does)."""


@dataclass(frozen=True)
class MajorityVote:
    """Per unit: the most frequent label, or NaN when there is no single one.

    ``label[u]`` is NaN exactly when ``n_votes[u] == 0`` (no label) or ``tie[u]`` (two or more
    labels share the top count); ``tied_labels(u)`` lists those labels. ``share[u]`` is the top
    count over the number of votes (NaN without votes).
    """

    categories: tuple[float, ...]
    label: FloatArray
    tie: BoolArray
    n_votes: IntArray
    share: FloatArray
    counts: IntArray
    """(U, K) votes per unit and category."""

    def tied_labels(self, unit: int) -> tuple[float, ...]:
        row = self.counts[unit]
        if row.max(initial=0) == 0:
            return ()
        return tuple(c for c, n in zip(self.categories, row, strict=True) if n == row.max())


@dataclass(frozen=True)
class SoftLabels:
    """Per unit, the share of votes for each category (rows sum to 1; all 0 without votes)."""

    categories: tuple[float, ...]
    distribution: FloatArray
    """(U, K)."""
    n_votes: IntArray


@dataclass(frozen=True)
class DawidSkeneResult:
    """Dawid & Skene (1979) estimates for nominal labels.

    ``posteriors[u, k]``: probability that unit u's true class is ``categories[k]`` (a unit
    without labels gets the prior). ``confusion[j, k, l]``: probability that coder j says
    ``categories[l]`` when the true class is ``categories[k]`` (rows sum to 1).
    ``label`` is the most probable class (ties go to the lower category).
    """

    categories: tuple[float, ...]
    posteriors: FloatArray
    confusion: FloatArray
    priors: FloatArray
    label: FloatArray
    log_likelihood: float
    n_iterations: int
    converged: bool


def _categories(data: FloatArray, categories: npt.ArrayLike | None) -> FloatArray:
    present = np.unique(data[~np.isnan(data)])
    if categories is None:
        return present.astype(np.float64)
    cats = np.asarray(categories, dtype=np.float64)
    if cats.ndim != 1 or cats.size != np.unique(cats).size:
        raise ValueError("categories must be a 1-D sequence of distinct numbers")
    if not np.isin(present, cats).all():
        raise ValueError("labels contain values outside categories")
    return np.sort(cats)


def _observations(data: FloatArray, cats: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
    """(coder, unit, category index) of every label present."""
    coder, unit = np.nonzero(~np.isnan(data))
    return (
        coder.astype(np.int64),
        unit.astype(np.int64),
        np.searchsorted(cats, data[coder, unit]).astype(np.int64),
    )


def _vote_counts(data: FloatArray, cats: FloatArray) -> IntArray:
    _, unit, cat = _observations(data, cats)
    n_units, k = data.shape[1], cats.size
    flat = np.bincount(unit * k + cat, minlength=n_units * k)
    return flat.reshape(n_units, k).astype(np.int64)


def majority_vote(
    labels: npt.ArrayLike, *, categories: npt.ArrayLike | None = None
) -> MajorityVote:
    """The majority label per unit; ties and units without votes give NaN (see ``MajorityVote``)."""
    data = as_label_matrix(labels)
    cats = _categories(data, categories)
    counts = _vote_counts(data, cats)
    n_votes = counts.sum(axis=1)
    if cats.size == 0:
        top = np.zeros(data.shape[1], dtype=np.int64)
        n_top = np.zeros(data.shape[1], dtype=np.int64)
    else:
        top = counts.max(axis=1)
        n_top = (counts == top[:, None]).sum(axis=1)
    tie = (n_votes > 0) & (n_top > 1)
    winner = counts.argmax(axis=1) if cats.size else np.zeros(data.shape[1], dtype=np.int64)
    decided = (n_votes > 0) & ~tie
    label = np.full(data.shape[1], np.nan)
    label[decided] = cats[winner[decided]]
    share = np.full(data.shape[1], np.nan)
    share[n_votes > 0] = top[n_votes > 0] / n_votes[n_votes > 0]
    return MajorityVote(
        tuple(float(c) for c in cats), label, tie, n_votes.astype(np.int64), share, counts
    )


def soft_labels(labels: npt.ArrayLike, *, categories: npt.ArrayLike | None = None) -> SoftLabels:
    """The label distribution per unit (share of its votes in each category)."""
    data = as_label_matrix(labels)
    cats = _categories(data, categories)
    counts = _vote_counts(data, cats).astype(np.float64)
    n_votes = counts.sum(axis=1)
    dist = np.divide(
        counts, n_votes[:, None], out=np.zeros_like(counts), where=n_votes[:, None] > 0
    )
    return SoftLabels(tuple(float(c) for c in cats), dist, n_votes.astype(np.int64))


def _row_max(values: FloatArray) -> FloatArray:
    """``values.max(axis=1, keepdims=True)`` of a units x K array, column by column: NumPy's
    reduction along a short last axis costs several times more."""
    out = values[:, :1].copy()
    for c in range(1, values.shape[1]):
        np.maximum(out, values[:, c : c + 1], out=out)
    return out


def _row_sum(values: FloatArray) -> FloatArray:
    """``values.sum(axis=1, keepdims=True)`` of a units x K array, column by column: the cells
    of a row added left to right, as NumPy adds along a last axis shorter than 8 (the same bits;
    from 8 on NumPy adds in blocks, and its own sum is used)."""
    if values.shape[1] >= 8:
        return np.asarray(values.sum(axis=1, keepdims=True), dtype=np.float64)
    out = values[:, :1].copy()
    for c in range(1, values.shape[1]):
        out += values[:, c : c + 1]
    return out


def dawid_skene(
    labels: npt.ArrayLike,
    *,
    categories: npt.ArrayLike | None = None,
    tol: float = 1e-6,
    max_iter: int = 500,
) -> DawidSkeneResult:
    """Dawid-Skene EM for nominal labels of coders x units (NaN = missing).

    Starts from the majority-vote soft labels (as Dawid & Skene do), then alternates the M-step
    (class priors and per-coder confusion matrices from the current posteriors, cells clipped at
    1e-10) and the E-step (posteriors from priors and confusion matrices), until the marginal
    log-likelihood of the labels improves by less than ``tol`` per label, or ``max_iter`` E-steps
    have run (``converged`` says which). The likelihood, not the posteriors, is the criterion:
    EM can creep along a flat likelihood for thousands of steps with a few posteriors still moving.
    """
    if max_iter < 1:
        raise ValueError("max_iter must be at least 1")
    data = as_label_matrix(labels)
    cats = _categories(data, categories)
    n_coders, n_units = data.shape
    k = cats.size
    cat_tuple = tuple(float(c) for c in cats)
    if k == 0:
        return DawidSkeneResult(
            cat_tuple,
            np.zeros((n_units, 0)),
            np.zeros((n_coders, 0, 0)),
            np.zeros(0),
            np.full(n_units, np.nan),
            0.0,
            0,
            True,
        )
    coder, unit, cat = _observations(data, cats)
    # indicator[(coder * K + label), unit] = 1 for every observation.
    indicator = sparse.csr_array(
        (np.ones(coder.size), (coder * k + cat, unit)), shape=(n_coders * k, n_units)
    )
    indicator_t = indicator.T.tocsr()
    posteriors = soft_labels(data, categories=cats).distribution
    no_votes = posteriors.sum(axis=1) == 0
    posteriors[no_votes] = 1.0 / k
    voted = ~no_votes
    some_missing = bool(no_votes.any()) and bool(voted.any())

    def m_step(post: FloatArray) -> tuple[FloatArray, FloatArray]:
        priors = np.clip(
            post[voted].mean(axis=0) if some_missing else post.mean(axis=0), _CLIP, None
        )
        priors = priors / priors.sum()
        # counts[j, l, k] = sum over units u that coder j labelled l of post[u, k]
        counts = np.asarray(indicator @ post).reshape(n_coders, k, k)
        confusion = np.clip(np.transpose(counts, (0, 2, 1)), _CLIP, None)
        confusion = confusion / confusion.sum(axis=2, keepdims=True)
        return priors, confusion

    def e_step(priors: FloatArray, confusion: FloatArray) -> tuple[FloatArray, float]:
        # log_lik[u, k] = log prior_k + sum over u's labels (j, l) of log confusion[j, k, l]
        log_conf = np.log(np.transpose(confusion, (0, 2, 1))).reshape(n_coders * k, k)
        log_lik = np.log(priors)[None, :] + np.asarray(indicator_t @ log_conf)
        top = _row_max(log_lik)
        scaled = np.exp(log_lik - top)
        total = _row_sum(scaled)
        ll = float(
            (np.log(total) + top)[voted].sum() if some_missing else (np.log(total) + top).sum()
        )
        return scaled / total, ll

    priors, confusion = m_step(posteriors)
    converged = False
    iterations = 0
    log_likelihood = 0.0
    previous = -np.inf
    n_labels = max(int(coder.size), 1)
    for iterations in range(1, max_iter + 1):  # noqa: B007
        posteriors, log_likelihood = e_step(priors, confusion)
        priors, confusion = m_step(posteriors)
        if abs(log_likelihood - previous) / n_labels < tol:
            converged = True
            break
        previous = log_likelihood
    label = cats[posteriors.argmax(axis=1)]
    return DawidSkeneResult(
        cat_tuple, posteriors, confusion, priors, label, log_likelihood, iterations, converged
    )

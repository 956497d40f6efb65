"""Fleiss' kappa, Cohen's kappa and observed (pairwise percent) agreement.

Label data use the same convention as alpha: a 2-D float array, coders x units, NaN = missing;
labels are numbers (codes). Fleiss' kappa takes the units x categories count table it is defined
on; ``category_counts`` builds that table from coders x units data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ._data import IntArray, as_label_matrix


@dataclass(frozen=True)
class KappaResult:
    """A kappa coefficient; ``kappa`` is ``None`` exactly when undefined, with ``reason``."""

    kappa: float | None
    reason: str | None
    observed_agreement: float | None
    """P-bar (Fleiss) or p_o (Cohen): the agreement the coefficient corrects for chance."""
    expected_agreement: float | None
    """P-bar_e (Fleiss) or p_e (Cohen): the agreement expected by chance."""
    n_units: int


@dataclass(frozen=True)
class AgreementResult:
    """Observed agreement: the share of agreeing pairs of values among all pairs within units."""

    agreement: float | None
    reason: str | None
    n_units: int
    """Units with at least two values (the others have no pairs)."""
    n_pairs: int
    """Unordered pairs of values within units, summed over units."""


def category_counts(
    labels: npt.ArrayLike, *, categories: npt.ArrayLike | None = None
) -> tuple[IntArray, tuple[float, ...]]:
    """The units x categories table of how many coders gave each category to each unit.

    ``labels`` is coders x units with NaN for missing; ``categories`` (default: the sorted distinct
    labels) fixes the columns. Returns the table and the categories its columns follow.
    """
    data = as_label_matrix(labels)
    present = np.unique(data[~np.isnan(data)])
    cats = present if categories is None else np.asarray(categories, dtype=np.float64)
    if cats.ndim != 1 or np.unique(cats).size != cats.size:
        raise ValueError("categories must be a 1-D sequence of distinct numbers")
    if not np.isin(present, cats).all():
        raise ValueError("labels contain values outside categories")
    order = np.argsort(cats)
    sorted_cats = cats[order]
    n_units = data.shape[1]
    mask = ~np.isnan(data)
    unit_index = np.broadcast_to(np.arange(n_units), data.shape)[mask]
    column = order[np.searchsorted(sorted_cats, data[mask])]
    table = np.zeros((n_units, cats.size), dtype=np.int64)
    np.add.at(table, (unit_index, column), 1)
    return table, tuple(float(c) for c in cats)


def fleiss_kappa(counts: npt.ArrayLike) -> KappaResult:
    """Fleiss' (1971) kappa from a units x categories table of rating counts.

    Every unit must have the same number n >= 2 of ratings (Fleiss' definition); units with no
    rating at all are left out. With unequal numbers, use Krippendorff's alpha (nominal) instead.
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError("counts must be a 2-D units x categories table")
    if (table < 0).any() or not np.isfinite(table).all() or (table != np.round(table)).any():
        raise ValueError("counts must be non-negative whole numbers")
    per_unit = table.sum(axis=1)
    table = table[per_unit > 0]
    per_unit = per_unit[per_unit > 0]
    n_units = int(table.shape[0])
    if n_units == 0:
        return KappaResult(None, "no ratings", None, None, 0)
    if not np.all(per_unit == per_unit[0]):
        return KappaResult(
            None,
            "units have different numbers of ratings; Fleiss' kappa needs the same number for "
            "every unit (Krippendorff's alpha handles missing ratings)",
            None,
            None,
            n_units,
        )
    n = float(per_unit[0])
    if n < 2:
        return KappaResult(
            None, "each unit has only one rating: no pairs to compare", None, None, n_units
        )
    p_j = table.sum(axis=0) / (n_units * n)
    p_i = ((table * table).sum(axis=1) - n) / (n * (n - 1.0))
    p_bar = float(p_i.mean())
    p_e = float((p_j * p_j).sum())
    if p_e >= 1.0:
        return KappaResult(
            None,
            "no variation: every rating is in the same category, so chance agreement is 1 and "
            "kappa is undefined",
            p_bar,
            p_e,
            n_units,
        )
    return KappaResult((p_bar - p_e) / (1.0 - p_e), None, p_bar, p_e, n_units)


def cohen_kappa(
    labels_a: npt.ArrayLike,
    labels_b: npt.ArrayLike,
    *,
    weights: Literal["linear", "quadratic"] | None = None,
) -> KappaResult:
    """Cohen's (1960) kappa of two coders' labels on the same units (NaN = missing).

    Units missing either label are left out. ``weights`` gives the weighted kappa (Cohen 1968) with
    linear or quadratic disagreement weights over the sorted distinct labels' ranks, as in
    scikit-learn's ``cohen_kappa_score``.
    """
    a = np.asarray(labels_a, dtype=np.float64).reshape(-1)
    b = np.asarray(labels_b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError("the two coders' label arrays must have the same length")
    if weights not in (None, "linear", "quadratic"):
        raise ValueError("weights must be None, 'linear' or 'quadratic'")
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    n_units = int(a.size)
    if n_units == 0:
        return KappaResult(None, "no unit has labels from both coders", None, None, 0)
    cats = np.unique(np.concatenate([a, b]))
    k = cats.size
    ia = np.searchsorted(cats, a)
    ib = np.searchsorted(cats, b)
    confusion = np.zeros((k, k))
    np.add.at(confusion, (ia, ib), 1.0)
    confusion /= n_units
    expected = np.outer(confusion.sum(axis=1), confusion.sum(axis=0))
    ranks = np.arange(k, dtype=np.float64)
    if weights is None:
        w = 1.0 - np.eye(k)
    elif weights == "linear":
        w = np.abs(ranks[:, None] - ranks[None, :])
    else:
        w = (ranks[:, None] - ranks[None, :]) ** 2
    observed_dis = float((w * confusion).sum())
    expected_dis = float((w * expected).sum())
    p_o = float(np.trace(confusion))
    p_e = float(np.trace(expected))
    if expected_dis <= 0.0:
        return KappaResult(
            None,
            "no variation: both coders used one and the same label throughout, so chance "
            "agreement is 1 and kappa is undefined",
            p_o,
            p_e,
            n_units,
        )
    return KappaResult(1.0 - observed_dis / expected_dis, None, p_o, p_e, n_units)


def observed_agreement(labels: npt.ArrayLike, *, tolerance: float = 0.0) -> AgreementResult:
    """Pairwise percent agreement of coders x units labels (NaN = missing).

    Over all units with two or more labels, the share of unordered pairs of labels (from different
    coders) that agree, pooled over units: sum of agreeing pairs / sum of pairs. With two coders
    this is plain percent agreement; with the same number of coders per unit it equals Fleiss'
    P-bar. Two labels agree when they differ by at most ``tolerance`` (0: exact equality).
    """
    data = as_label_matrix(labels)
    n_coders, n_units_all = data.shape
    agreeing = np.zeros(n_units_all)
    pairs = np.zeros(n_units_all)
    present = ~np.isnan(data)
    for i in range(n_coders):
        for j in range(i + 1, n_coders):
            both = present[i] & present[j]
            pairs += both
            close = np.abs(np.where(both, data[i] - data[j], np.inf)) <= tolerance
            agreeing += close
    has_pairs = pairs > 0
    n_units = int(has_pairs.sum())
    n_pairs = int(pairs.sum())
    if n_pairs == 0:
        return AgreementResult(
            None, "no pairable values: no unit has labels from two or more coders", 0, 0
        )
    return AgreementResult(float(agreeing.sum() / n_pairs), None, n_units, n_pairs)

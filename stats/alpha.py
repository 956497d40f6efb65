"""Krippendorff's alpha with missing values, and a unit-bootstrap confidence interval for it.

One concept in one module (it runs past 400 lines): the pattern-weighted computation, its distance
functions and its bootstrap share their data structures.

Reliability data are a 2-D float array, coders x units (rows are coders, columns are units), with
``NaN`` for a missing value: the convention of the ``krippendorff`` package. Labels that are not
numbers must be coded as numbers first (for nominal data the codes are arbitrary).

The computation follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability":
alpha = 1 - D_o / D_e over the coincidence matrix of pairable values, where units with fewer than
two values are left out. It is organised for speed: units are grouped by their *pattern* (the
multiset of values they received), each pattern's contribution to the observed disagreement and to
the value totals is computed once, and alpha is a weighted sum over patterns. The point estimate
uses each pattern's number of units as its weight; a bootstrap resample uses the number of times
its units were drawn, so 1,000 resamples cost 1,000 small weighted sums, not 1,000 recomputations.

Levels of measurement (Krippendorff's difference functions):

- nominal: 0 if equal else 1; ordinal: the squared number of pairable values between the two ranks
  (Krippendorff's rank metric, which depends on the value totals, so it is recomputed for every
  resample); interval: (c - k)^2; ratio: ((c - k) / (c + k))^2, 0 where c + k = 0;
- custom: a function of two values, or a precomputed matrix over ``value_domain``.

Nominal, ordinal and interval are computed in closed form (no V x V matrix), so they work for any
number of distinct values; ratio and custom distances build a V x V matrix over the value domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse

from ._data import FloatArray, IntArray, as_label_matrix

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
DistanceFunction = Callable[[float, float], float]
"""A difference function on two values: ``distance(c, k) -> float``, with ``distance(c, c) == 0``
and ``distance(c, k) == distance(k, c) >= 0``. Krippendorff's functions are squared differences
(interval is ``(c - k) ** 2``), so a custom one should be on the same footing."""

MAX_DENSE_DOMAIN = 4_000
"""Ratio and custom distances build a V x V matrix; more distinct values than this are refused."""

_WEIGHT_CELLS_PER_CHUNK = 4_000_000
"""Bootstrap weights are processed in chunks of at most this many (resample x pattern) cells."""

_MULTINOMIAL_MAX_PATTERNS = 2_000
"""Up to this many distinct patterns, a resample's pattern counts are drawn as one multinomial."""


@dataclass(frozen=True)
class AlphaResult:
    """Krippendorff's alpha for one variable.

    ``alpha`` is ``None`` exactly when it is undefined, and ``reason`` then says why (no pairable
    values, or no variation so that the expected disagreement is 0). ``alpha`` is in (-inf, 1];
    1 means perfect agreement, 0 agreement at chance level.
    """

    alpha: float | None
    reason: str | None
    level: str
    n_coders: int
    n_units: int
    """Units with at least two values (pairable units); the others are left out."""
    n_pairable_values: int
    """n.., the number of values in pairable units."""
    observed_disagreement: float | None
    expected_disagreement: float | None
    value_domain: tuple[float, ...]


@dataclass(frozen=True)
class AlphaInterval:
    """A bootstrap confidence interval for Krippendorff's alpha.

    ``low``/``high`` are ``None`` (with ``reason``) when alpha is undefined or no resample gave a
    defined alpha. ``n_samples`` counts the resamples with a defined alpha (the interval's basis);
    resamples without variation are dropped, and ``n_requested - n_samples`` says how many.
    """

    alpha: float | None
    low: float | None
    high: float | None
    confidence: float
    n_samples: int
    n_requested: int
    method: str
    reason: str | None
    level: str


@dataclass(frozen=True)
class _Patterns:
    """Pairable units grouped by the multiset of value indices they received."""

    domain: FloatArray
    n_coders: int
    members: IntArray
    """(K, M) value indices of each pattern, sorted, padded with V (no value)."""
    weight: FloatArray
    """(K,) number of pairable units with the pattern."""
    m: FloatArray
    """(K,) number of values in the pattern (>= 2)."""
    counts: sparse.csr_array
    """(K, V) how many times each value occurs in the pattern."""
    unit_pattern: IntArray
    """(U,) pattern of each pairable unit, in unit order."""


def _value_domain(data: FloatArray, value_domain: npt.ArrayLike | None) -> FloatArray:
    present = np.unique(data[~np.isnan(data)])
    if value_domain is None:
        return present.astype(np.float64)
    domain = np.asarray(value_domain, dtype=np.float64)
    if domain.ndim != 1 or not np.isfinite(domain).all():
        raise ValueError("value_domain must be a 1-D sequence of finite numbers")
    if domain.size > 1 and not (np.diff(domain) > 0).all():
        raise ValueError("value_domain must be strictly increasing")
    if not np.isin(present, domain).all():
        outside = present[~np.isin(present, domain)]
        raise ValueError(f"reliability data contain values outside value_domain: {outside[:5]}")
    return domain


def _group_patterns(data: FloatArray, domain: FloatArray) -> _Patterns:
    n_coders, n_units = data.shape
    v = domain.size
    by_unit = data.T
    present = ~np.isnan(by_unit)
    m_all = present.sum(axis=1)
    pairable = m_all >= 2
    values = by_unit[pairable]
    idx = np.full(values.shape, v, dtype=np.int64)
    mask = ~np.isnan(values)
    if v:
        idx[mask] = np.searchsorted(domain, values[mask])
    idx.sort(axis=1)
    n_rows = idx.shape[0]
    if n_rows and n_coders:
        base = v + 1
        if n_coders * np.log2(base) < 62:
            powers = base ** np.arange(n_coders, dtype=np.int64)
            keys = idx @ powers
            _, first, inverse, weight = np.unique(
                keys, return_index=True, return_inverse=True, return_counts=True
            )
            members = idx[first]
        else:
            members, inverse, weight = np.unique(
                idx, axis=0, return_inverse=True, return_counts=True
            )
    else:
        members = np.zeros((0, n_coders), dtype=np.int64)
        inverse = np.zeros(0, dtype=np.int64)
        weight = np.zeros(0, dtype=np.int64)
    members = members.astype(np.int64)
    k = members.shape[0]
    valid = members < v
    rows = np.repeat(np.arange(k), valid.sum(axis=1))
    counts = sparse.csr_array((np.ones(rows.size), (rows, members[valid])), shape=(k, max(v, 1)))
    counts.sum_duplicates()
    return _Patterns(
        domain=domain,
        n_coders=n_coders,
        members=members,
        weight=weight.astype(np.float64),
        m=valid.sum(axis=1).astype(np.float64),
        counts=counts,
        unit_pattern=np.asarray(inverse, dtype=np.int64).reshape(-1),
    )


def _distance_matrix(
    level: Level | None,
    distance: DistanceFunction | npt.ArrayLike | None,
    domain: FloatArray,
) -> FloatArray | None:
    """The V x V difference matrix for ratio and custom distances; None for closed-form levels."""
    v = domain.size
    if level == "ratio":
        if v > MAX_DENSE_DOMAIN:
            raise ValueError(f"ratio alpha is limited to {MAX_DENSE_DOMAIN} distinct values")
        total = domain[:, None] + domain[None, :]
        diff = domain[:, None] - domain[None, :]
        ratio = np.divide(diff, total, out=np.zeros((v, v)), where=total != 0)
        return np.asarray(ratio**2, dtype=np.float64)
    if level is not None:
        return None
    if callable(distance):
        if v > MAX_DENSE_DOMAIN:
            raise ValueError(f"custom distances are limited to {MAX_DENSE_DOMAIN} distinct values")
        matrix = np.array(
            [[float(distance(float(a), float(b))) for b in domain] for a in domain],
            dtype=np.float64,
        ).reshape(v, v)
    else:
        matrix = np.asarray(distance, dtype=np.float64)
        if matrix.shape != (v, v):
            raise ValueError(
                f"a distance matrix must be V x V over value_domain ({v} values); "
                f"got shape {matrix.shape}"
            )
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise ValueError("distances must be finite and non-negative")
    if not np.allclose(np.diag(matrix), 0.0):
        raise ValueError("the distance of a value to itself must be 0")
    if not np.allclose(matrix, matrix.T):
        raise ValueError("distances must be symmetric")
    return matrix


def _level_name(level: Level | None, distance: object) -> Level | Literal["custom"]:
    if (level is None) == (distance is None):
        raise ValueError(
            "give exactly one of level= (nominal, ordinal, interval, ratio) or distance="
        )
    if level is not None and level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}; got {level!r}")
    return "custom" if level is None else level


class _AlphaEngine:
    """Alpha as a function of pattern weights; shared by the point estimate and the bootstrap."""

    def __init__(
        self, patterns: _Patterns, level: Level | Literal["custom"], delta: FloatArray | None
    ) -> None:
        self.patterns = patterns
        self.level = level
        self.delta = delta
        members = patterns.members
        v = patterns.domain.size
        m = patterns.m
        safe_m1 = np.maximum(m - 1.0, 1.0)
        counts = patterns.counts
        if level == "nominal":
            sq = np.asarray(counts.multiply(counts).sum(axis=1)).reshape(-1)
            self.unit_disagreement = (m * m - sq) / safe_m1
        elif level == "interval":
            # Interval alpha is shift-invariant: centre the values for numerical stability.
            used = np.asarray(counts.sum(axis=0)).reshape(-1)
            centre = float(np.average(patterns.domain, weights=used)) if used.sum() > 0 else 0.0
            centred = np.append(patterns.domain - centre, 0.0)
            vals = centred[members]
            self.s1 = vals.sum(axis=1)
            self.s2 = (vals * vals).sum(axis=1)
            self.unit_disagreement = (2.0 * m * self.s2 - 2.0 * self.s1**2) / safe_m1
        elif level == "ordinal":
            self.unit_disagreement = np.zeros(m.size)
        else:
            assert delta is not None
            padded = np.zeros((v + 1, v + 1))
            padded[:v, :v] = delta
            total = np.zeros(m.size)
            n_cols = members.shape[1]
            for i in range(n_cols):
                for j in range(i + 1, n_cols):
                    total += padded[members[:, i], members[:, j]]
            self.unit_disagreement = 2.0 * total / safe_m1

    def totals(self, weights: FloatArray) -> FloatArray:
        """(B, V) value totals n_c for each row of pattern weights (B, K)."""
        return np.asarray((self.patterns.counts.T @ weights.T).T, dtype=np.float64)

    def numerators(self, weights: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """For weights (B, K): n.., the observed-disagreement sum and the expected one.

        alpha = 1 - (n.. - 1) * observed / expected, where observed = sum(o_ck * delta_ck) and
        expected = sum(n_c * n_k * delta_ck).
        """
        m = self.patterns.m
        n_vec = self.totals(weights)
        n = weights @ m
        if self.level == "nominal":
            observed = weights @ self.unit_disagreement
            expected = n * n - (n_vec * n_vec).sum(axis=1)
        elif self.level == "interval":
            observed = weights @ self.unit_disagreement
            s1 = weights @ self.s1
            s2 = weights @ self.s2
            expected = 2.0 * n * s2 - 2.0 * s1 * s1
        elif self.level == "ordinal":
            # Krippendorff's ordinal difference is the squared difference of "mid-ranks"
            # r_c = (n_1 + ... + n_c) - n_c / 2, which depend on the totals of each resample.
            ranks = np.cumsum(n_vec, axis=1) - n_vec / 2.0
            counts = self.patterns.counts
            r_dot = np.asarray((counts @ ranks.T).T)
            r2_dot = np.asarray((counts @ (ranks * ranks).T).T)
            safe_m1 = np.maximum(m - 1.0, 1.0)
            within = ((r_dot * r_dot - r2_dot) / safe_m1 * weights).sum(axis=1)
            sum_nr2 = (n_vec * ranks * ranks).sum(axis=1)
            observed = 2.0 * (sum_nr2 - within)
            sum_nr = (n_vec * ranks).sum(axis=1)
            expected = 2.0 * n * sum_nr2 - 2.0 * sum_nr * sum_nr
        else:
            assert self.delta is not None
            observed = weights @ self.unit_disagreement
            expected = ((n_vec @ self.delta) * n_vec).sum(axis=1)
        return n, observed, expected

    def alphas(self, weights: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """Alpha for each row of weights, and whether it is defined (variation in the values)."""
        n, observed, expected = self.numerators(weights)
        variation = (self.totals(weights) > 0).sum(axis=1) >= 2
        defined = variation & (expected > 0)
        safe = np.where(defined, expected, 1.0)
        return np.where(defined, 1.0 - (n - 1.0) * observed / safe, np.nan), defined


@dataclass(frozen=True)
class AlphaPatterns:
    """Reliability data read and grouped into value patterns (``alpha_patterns``), which alpha
    at every level (and every distance) computes from: data equal cell for cell, say one field
    read at two levels, are grouped once."""

    data: FloatArray
    patterns: _Patterns


def alpha_patterns(reliability_data: npt.ArrayLike) -> AlphaPatterns:
    """The patterns of data whose value domain is the values present (no ``value_domain``)."""
    data = as_label_matrix(reliability_data)
    return AlphaPatterns(data, _group_patterns(data, _value_domain(data, None)))


def _prepare(
    reliability_data: npt.ArrayLike,
    level: Level | None,
    distance: DistanceFunction | npt.ArrayLike | None,
    value_domain: npt.ArrayLike | None,
    grouped: AlphaPatterns | None = None,
) -> tuple[_AlphaEngine, FloatArray]:
    name = _level_name(level, distance)
    if grouped is not None and value_domain is not None:
        raise ValueError("patterns are grouped over the values present: no value_domain")
    data = grouped.data if grouped is not None else as_label_matrix(reliability_data)
    if name == "custom" and not callable(distance) and value_domain is None:
        raise ValueError("a distance matrix needs the value_domain its rows and columns follow")
    domain = grouped.patterns.domain if grouped is not None else _value_domain(data, value_domain)
    delta = _distance_matrix(level, distance, domain)
    patterns = grouped.patterns if grouped is not None else _group_patterns(data, domain)
    return _AlphaEngine(patterns, name, delta), data


def _undefined_reason(engine: _AlphaEngine, data: FloatArray) -> str | None:
    n_coders, n_units = data.shape
    if n_coders == 0 or n_units == 0:
        return "no pairable values: the data have no coders or no units"
    if n_coders == 1:
        return "no pairable values: there is only one coder"
    if engine.patterns.weight.size == 0:
        return "no pairable values: no unit has values from two or more coders"
    return None


def krippendorff_alpha(
    reliability_data: npt.ArrayLike,
    *,
    level: Level | None = None,
    distance: DistanceFunction | npt.ArrayLike | None = None,
    value_domain: npt.ArrayLike | None = None,
) -> AlphaResult:
    """Krippendorff's alpha of coders x units data (NaN = missing).

    Give ``level`` ("nominal", "ordinal", "interval", "ratio") or ``distance`` (a function of two
    values, or a V x V matrix over ``value_domain``). ``value_domain`` (strictly increasing) is
    needed only with a distance matrix or to check that every value is allowed; by default it is
    the sorted distinct values present. Raises ValueError for malformed input (not 2-D, infinite
    values, values outside the domain, an invalid distance); undefined alpha is not an error.
    """
    engine, data = _prepare(reliability_data, level, distance, value_domain)
    return _point_estimate(engine, data)


def _point_estimate(engine: _AlphaEngine, data: FloatArray) -> AlphaResult:
    name = engine.level
    patterns = engine.patterns
    domain = tuple(float(x) for x in patterns.domain)
    n_coders = data.shape[0]
    n_units = int(patterns.weight.sum())
    reason = _undefined_reason(engine, data)
    if reason is not None:
        return AlphaResult(None, reason, name, n_coders, n_units, 0, None, None, domain)
    weights = patterns.weight[None, :]
    n_arr, observed_arr, expected_arr = engine.numerators(weights)
    n = float(n_arr[0])
    observed = float(observed_arr[0])
    expected = float(expected_arr[0])
    d_o = observed / n
    n_distinct = int((engine.totals(weights)[0] > 0).sum())
    if n_distinct < 2 or expected <= 0:
        if n_distinct < 2:
            reason = (
                "no variation: every pairable value is the same, so the expected disagreement "
                "is 0 and alpha is undefined"
            )
        else:
            reason = "the expected disagreement is 0 under this distance, so alpha is undefined"
        return AlphaResult(None, reason, name, n_coders, n_units, int(n), d_o, 0.0, domain)
    d_e = expected / (n * (n - 1.0))
    alpha = 1.0 - (n - 1.0) * observed / expected
    return AlphaResult(alpha, None, name, n_coders, n_units, int(n), d_o, d_e, domain)


def _resample_weights(patterns: _Patterns, size: int, rng: np.random.Generator) -> FloatArray:
    """(size, K) pattern counts of ``size`` resamples of the pairable units with replacement."""
    n_units = int(patterns.weight.sum())
    k = patterns.weight.size
    if k <= _MULTINOMIAL_MAX_PATTERNS:
        # Drawing N units with replacement and counting their patterns is a multinomial draw
        # over patterns with probabilities (units with the pattern) / N.
        return rng.multinomial(n_units, patterns.weight / n_units, size=size).astype(np.float64)
    drawn = patterns.unit_pattern[rng.integers(0, n_units, size=(size, n_units))]
    offsets = (np.arange(size) * k)[:, None]
    flat = np.bincount((drawn + offsets).reshape(-1), minlength=size * k)
    return flat.reshape(size, k).astype(np.float64)


def _check_bootstrap(n_samples: int, confidence: float) -> None:
    if n_samples < 1:
        raise ValueError("n_samples must be at least 1")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")


def krippendorff_alpha_bootstrap(
    reliability_data: npt.ArrayLike,
    *,
    level: Level | None = None,
    distance: DistanceFunction | npt.ArrayLike | None = None,
    value_domain: npt.ArrayLike | None = None,
    n_samples: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
) -> AlphaInterval:
    """Percentile bootstrap interval for alpha, resampling pairable units with replacement.

    Units (columns) are the sampling unit: each resample draws as many pairable units as there are,
    with replacement, and recomputes alpha in full (including the ordinal metric, which depends on
    the value totals). This is the ordinary nonparametric (cluster) bootstrap, not Krippendorff's
    own algorithm, which resamples pairs of values from the coincidence matrix and has been
    criticised for understating the variance when values within a unit are correlated.
    ``seed`` makes the interval reproducible.
    """
    _check_bootstrap(n_samples, confidence)
    engine, data = _prepare(reliability_data, level, distance, value_domain)
    return _bootstrap(engine, _point_estimate(engine, data), n_samples, confidence, seed)


def krippendorff_alpha_and_bootstrap(
    reliability_data: npt.ArrayLike,
    *,
    level: Level | None = None,
    distance: DistanceFunction | npt.ArrayLike | None = None,
    value_domain: npt.ArrayLike | None = None,
    n_samples: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = None,
    patterns: AlphaPatterns | None = None,
) -> tuple[AlphaResult, AlphaInterval]:
    """``krippendorff_alpha`` and ``krippendorff_alpha_bootstrap`` of the same data with the same
    arguments, the same two results, with the data read and grouped into patterns once; with
    ``patterns`` (``alpha_patterns`` of ``reliability_data``), not even once."""
    _check_bootstrap(n_samples, confidence)
    engine, data = _prepare(reliability_data, level, distance, value_domain, patterns)
    point = _point_estimate(engine, data)
    return point, _bootstrap(engine, point, n_samples, confidence, seed)


def _bootstrap(
    engine: _AlphaEngine,
    point: AlphaResult,
    n_samples: int,
    confidence: float,
    seed: int | np.random.Generator | None,
) -> AlphaInterval:
    method = f"percentile bootstrap over units, {n_samples} resamples"
    if point.alpha is None:
        return AlphaInterval(
            None, None, None, confidence, 0, n_samples, method, point.reason, engine.level
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    k = engine.patterns.weight.size
    chunk = max(1, min(n_samples, _WEIGHT_CELLS_PER_CHUNK // max(k, 1)))
    collected: list[FloatArray] = []
    done = 0
    while done < n_samples:
        size = min(chunk, n_samples - done)
        weights = _resample_weights(engine.patterns, size, rng)
        values, defined = engine.alphas(weights)
        collected.append(values[defined])
        done += size
    samples = np.concatenate(collected)
    if samples.size == 0:
        reason = "no resample had variation in its values, so no interval can be formed"
        return AlphaInterval(
            point.alpha, None, None, confidence, 0, n_samples, method, reason, engine.level
        )
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return AlphaInterval(
        point.alpha,
        float(low),
        float(high),
        confidence,
        int(samples.size),
        n_samples,
        method,
        None,
        engine.level,
    )


def coincidence_matrix(
    reliability_data: npt.ArrayLike, *, value_domain: npt.ArrayLike | None = None
) -> tuple[FloatArray, tuple[float, ...]]:
    """Krippendorff's coincidence matrix o_ck (V x V) and the value domain it is indexed by."""
    data = as_label_matrix(reliability_data)
    domain = _value_domain(data, value_domain)
    patterns = _group_patterns(data, domain)
    counts = patterns.counts
    scale = sparse.diags_array(patterns.weight / np.maximum(patterns.m - 1.0, 1.0))
    matrix = np.asarray((counts.T @ scale @ counts).toarray(), dtype=np.float64)
    matrix -= np.diag(np.asarray(counts.T @ (patterns.weight / np.maximum(patterns.m - 1.0, 1.0))))
    v = domain.size
    return matrix[:v, :v], tuple(float(x) for x in domain)

"""Krippendorff's alpha: published examples, the `krippendorff` package, edge cases, bootstrap.

Published values are from Krippendorff, K. (2011), "Computing Krippendorff's Alpha-Reliability",
Annenberg School for Communication, https://repository.upenn.edu/asc_papers/43 :

- section A, binary data, two observers, ten units (Ben's and Jon's judgements): alpha = 0.095;
- section C, nominal data, four observers (A-D), twelve units with missing values: alpha = 0.743,
  with the coincidence matrix printed there (o_11 = 7, o_12 = 4/3, o_22 = 10, o_33 = 8, o_44 = 4,
  o_55 = 3, n.. = 40); the same data at other levels of measurement (section D): ordinal 0.815,
  interval 0.849, ratio 0.797.

The figures were checked against the paper as reproduced in the `krippendorff` package's docstring
(which cites the paper's page 8 for 0.815 ordinal, 0.797 ratio and 0.743 nominal on this very
matrix) and in the Stata `kalpha` help file's example (same data matrix).
"""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from stats.alpha import (
    coincidence_matrix,
    krippendorff_alpha,
    krippendorff_alpha_and_bootstrap,
    krippendorff_alpha_bootstrap,
)

N = np.nan

KRIPPENDORFF_2011_C = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
        [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
    ]
)

KRIPPENDORFF_2011_A = np.array(
    [
        [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
        [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
    ],
    dtype=float,
)

LEVELS = ("nominal", "ordinal", "interval", "ratio")


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_alpha_matches_krippendorff_2011_four_observers_with_missing_data(level, published):
    result = krippendorff_alpha(KRIPPENDORFF_2011_C, level=level)
    assert round(result.alpha, 3) == published
    assert result.reason is None
    # Unit 12 has a single value and is left out: 11 pairable units, 40 pairable values.
    assert result.n_units == 11
    assert result.n_pairable_values == 40


def test_nominal_alpha_of_krippendorff_2011_example_c_is_exactly_1_minus_312_over_1216():
    # From the published coincidence matrix: n = 40, off-diagonal sum 8, sum n_c^2 = 384:
    # alpha = 1 - (n - 1) * 8 / (n^2 - 384).
    result = krippendorff_alpha(KRIPPENDORFF_2011_C, level="nominal")
    assert result.alpha == pytest.approx(1 - 312 / 1216, abs=1e-15)
    assert result.observed_disagreement == pytest.approx(8 / 40, abs=1e-15)


def test_alpha_matches_krippendorff_2011_binary_two_observers():
    result = krippendorff_alpha(KRIPPENDORFF_2011_A, level="nominal")
    assert round(result.alpha, 3) == 0.095


def test_coincidence_matrix_matches_krippendorff_2011_example_c():
    matrix, domain = coincidence_matrix(KRIPPENDORFF_2011_C)
    published = np.array(
        [
            [7, 4 / 3, 1 / 3, 1 / 3, 0],
            [4 / 3, 10, 4 / 3, 1 / 3, 0],
            [1 / 3, 4 / 3, 8, 1 / 3, 0],
            [1 / 3, 1 / 3, 1 / 3, 4, 0],
            [0, 0, 0, 0, 3],
        ]
    )
    assert domain == (1.0, 2.0, 3.0, 4.0, 5.0)
    np.testing.assert_allclose(matrix, published, atol=1e-12)
    assert matrix.sum() == pytest.approx(40)


def _random_reliability_data(seed, n_coders, n_units, n_values, missing_rate):
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, n_values + 1, size=n_units)
    noise = rng.integers(-1, 2, size=(n_coders, n_units)) * (rng.random((n_coders, n_units)) < 0.4)
    data = np.clip(truth[None, :] + noise, 1, n_values).astype(float)
    data[rng.random(data.shape) < missing_rate] = np.nan
    return data


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    ("seed", "n_coders", "n_units", "n_values", "missing_rate"),
    [
        (0, 2, 50, 2, 0.0),
        (1, 3, 200, 5, 0.1),
        (2, 4, 1000, 5, 0.3),
        (3, 7, 300, 7, 0.5),
        (4, 12, 80, 10, 0.7),
        (5, 3, 5000, 3, 0.2),
        (6, 30, 400, 5, 0.85),  # many sparse coders: patterns grouped row-wise, not by key
    ],
)
def test_alpha_matches_krippendorff_package_on_random_data(
    level, seed, n_coders, n_units, n_values, missing_rate
):
    data = _random_reliability_data(seed, n_coders, n_units, n_values, missing_rate)
    ours = krippendorff_alpha(data, level=level).alpha
    reference = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert ours == pytest.approx(reference, abs=1e-9)


@pytest.mark.parametrize("level", ("interval", "ratio", "ordinal", "nominal"))
def test_alpha_matches_krippendorff_package_on_non_integer_values(level):
    rng = np.random.default_rng(11)
    domain = np.array([0.0, 0.5, 1.25, 3.0, 7.5, 10.0])
    data = domain[rng.integers(0, domain.size, size=(5, 300))]
    data[rng.random(data.shape) < 0.25] = np.nan
    ours = krippendorff_alpha(data, level=level).alpha
    reference = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert ours == pytest.approx(reference, abs=1e-9)


def test_alpha_matches_krippendorff_package_with_unused_values_in_the_domain():
    data = _random_reliability_data(21, 4, 400, 4, 0.2)
    domain = [1, 2, 3, 4, 5, 6]
    for level in LEVELS:
        ours = krippendorff_alpha(data, level=level, value_domain=domain).alpha
        reference = krippendorff.alpha(
            reliability_data=data, value_domain=domain, level_of_measurement=level
        )
        assert ours == pytest.approx(reference, abs=1e-9)


def _package_metric(fn):
    """Wrap a scalar distance into the `krippendorff` package's vectorised metric signature."""

    def metric(v1, v2, i1, i2, n_v, dtype=np.float64):
        return np.vectorize(fn, otypes=[np.float64])(v1, v2).astype(dtype)

    return metric


def test_custom_distance_function_matches_krippendorff_package():
    def within_one(a: float, b: float) -> float:
        return 0.0 if abs(a - b) <= 1 else 1.0

    data = _random_reliability_data(7, 4, 500, 6, 0.2)
    ours = krippendorff_alpha(data, distance=within_one)
    reference = krippendorff.alpha(
        reliability_data=data, level_of_measurement=_package_metric(within_one)
    )
    assert ours.level == "custom"
    assert ours.alpha == pytest.approx(reference, abs=1e-9)


def test_custom_distance_matrix_equals_the_same_distance_as_a_function():
    data = _random_reliability_data(8, 3, 300, 4, 0.1)
    domain = [1.0, 2.0, 3.0, 4.0]
    matrix = np.array([[abs(a - b) ** 0.5 for b in domain] for a in domain])
    by_matrix = krippendorff_alpha(data, distance=matrix, value_domain=domain).alpha
    by_function = krippendorff_alpha(data, distance=lambda a, b: abs(a - b) ** 0.5).alpha
    reference = krippendorff.alpha(
        reliability_data=data, level_of_measurement=_package_metric(lambda a, b: abs(a - b) ** 0.5)
    )
    assert by_matrix == pytest.approx(reference, abs=1e-9)
    assert by_function == pytest.approx(reference, abs=1e-9)


def test_nominal_distance_matrix_gives_nominal_alpha():
    domain = [1, 2, 3, 4, 5]
    result = krippendorff_alpha(KRIPPENDORFF_2011_C, distance=1 - np.eye(5), value_domain=domain)
    assert result.alpha == pytest.approx(1 - 312 / 1216, abs=1e-12)


def test_interval_alpha_is_stable_for_large_offsets():
    data = _random_reliability_data(9, 3, 400, 5, 0.1)
    shifted = krippendorff_alpha(data + 1e6, level="interval").alpha
    plain = krippendorff_alpha(data, level="interval").alpha
    assert shifted == pytest.approx(plain, abs=1e-9)


def test_perfect_agreement_with_variation_gives_alpha_1():
    data = np.array([[1, 2, 3, 1, N], [1, 2, 3, 1, 2], [N, 2, 3, 1, 2]])
    for level in LEVELS:
        result = krippendorff_alpha(data, level=level)
        assert result.alpha == pytest.approx(1.0)
        assert result.reason is None


def test_no_variation_gives_undefined_alpha_with_a_reason():
    data = np.array([[2, 2, 2, N], [2, 2, N, 2], [2, 2, 2, 2]])
    for level in LEVELS:
        result = krippendorff_alpha(data, level=level)
        assert result.alpha is None
        assert "no variation" in result.reason
        assert result.n_pairable_values == 10


def test_one_coder_gives_undefined_alpha_with_a_reason():
    result = krippendorff_alpha([[1, 2, 3, 4]], level="nominal")
    assert result.alpha is None
    assert result.reason == "no pairable values: there is only one coder"
    assert result.n_units == 0


def test_no_unit_with_two_values_gives_undefined_alpha_with_a_reason():
    data = np.array([[1, N, N], [N, 2, N], [N, N, 3]])
    result = krippendorff_alpha(data, level="interval")
    assert result.alpha is None
    assert "no unit has values from two or more coders" in result.reason


def test_empty_data_gives_undefined_alpha_with_a_reason():
    for data in (np.zeros((0, 0)), np.zeros((3, 0)), np.full((3, 4), np.nan)):
        result = krippendorff_alpha(data, level="ordinal")
        assert result.alpha is None
        assert result.reason.startswith("no pairable values")


def test_zero_custom_distance_between_all_present_values_gives_undefined_alpha():
    data = np.array([[1, 2, 1], [1, 2, 2]])
    result = krippendorff_alpha(data, distance=lambda a, b: 0.0)
    assert result.alpha is None
    assert "expected disagreement is 0" in result.reason


def test_malformed_input_is_refused():
    with pytest.raises(ValueError, match="2-D"):
        krippendorff_alpha([1, 2, 3], level="nominal")
    with pytest.raises(ValueError, match="exactly one"):
        krippendorff_alpha([[1, 2]], level="nominal", distance=lambda a, b: 1.0)
    with pytest.raises(ValueError, match="exactly one"):
        krippendorff_alpha([[1, 2]])
    with pytest.raises(ValueError, match="level must be"):
        krippendorff_alpha([[1, 2]], level="circular")
    with pytest.raises(ValueError, match="outside value_domain"):
        krippendorff_alpha([[1, 2], [1, 7]], level="nominal", value_domain=[1, 2, 3])
    with pytest.raises(ValueError, match="symmetric"):
        krippendorff_alpha(
            [[1, 2], [1, 2]], distance=np.array([[0, 1], [2, 0]]), value_domain=[1, 2]
        )
    with pytest.raises(ValueError, match="itself"):
        krippendorff_alpha(
            [[1, 2], [1, 2]], distance=np.array([[1, 1], [1, 0]]), value_domain=[1, 2]
        )
    with pytest.raises(ValueError, match="needs the value_domain"):
        krippendorff_alpha([[1, 2], [1, 2]], distance=np.ones((2, 2)) - np.eye(2))


# --- bootstrap ---------------------------------------------------------------------------------


def test_every_bootstrap_resample_equals_alpha_recomputed_on_the_resampled_units():
    # The bootstrap computes each resample as a weighted sum over unit patterns; here a resample
    # is drawn explicitly and compared with alpha recomputed from scratch on those columns.
    from stats.alpha import _AlphaEngine, _group_patterns, _value_domain

    data = _random_reliability_data(13, 4, 300, 5, 0.3)
    rng = np.random.default_rng(5)
    for level in LEVELS:
        domain = _value_domain(data, None)
        delta = None
        if level == "ratio":
            from stats.alpha import _distance_matrix

            delta = _distance_matrix("ratio", None, domain)
        patterns = _group_patterns(data, domain)
        engine = _AlphaEngine(patterns, level, delta)
        pairable = np.flatnonzero((~np.isnan(data)).sum(axis=0) >= 2)
        for _ in range(5):
            drawn = rng.integers(0, pairable.size, size=pairable.size)
            weights = np.bincount(
                patterns.unit_pattern[drawn], minlength=patterns.weight.size
            ).astype(float)
            values, defined = engine.alphas(weights[None, :])
            resampled = data[:, pairable[drawn]]
            assert defined[0]
            assert values[0] == pytest.approx(
                krippendorff.alpha(reliability_data=resampled, level_of_measurement=level),
                abs=1e-9,
            )


def test_bootstrap_is_reproducible_with_a_seed_and_brackets_alpha():
    data = _random_reliability_data(17, 4, 2000, 5, 0.2)
    first = krippendorff_alpha_bootstrap(data, level="ordinal", n_samples=500, seed=42)
    second = krippendorff_alpha_bootstrap(data, level="ordinal", n_samples=500, seed=42)
    other = krippendorff_alpha_bootstrap(data, level="ordinal", n_samples=500, seed=43)
    assert first == second
    assert first.low != other.low
    assert first.low < first.alpha < first.high
    assert first.n_samples == first.n_requested == 500
    assert first.confidence == 0.95
    assert "bootstrap over units" in first.method
    assert first.alpha == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"), abs=1e-9
    )


def test_bootstrap_interval_matches_a_plain_resampling_loop():
    # An independent, slow implementation: resample unit columns, recompute with the
    # krippendorff package, take percentiles. The intervals must agree up to Monte Carlo error.
    data = _random_reliability_data(19, 3, 400, 4, 0.1)
    ours = krippendorff_alpha_bootstrap(data, level="interval", n_samples=2000, seed=1)
    rng = np.random.default_rng(2)
    n_units = data.shape[1]
    plain = [
        krippendorff.alpha(
            reliability_data=data[:, rng.integers(0, n_units, n_units)],
            level_of_measurement="interval",
        )
        for _ in range(2000)
    ]
    low, high = np.quantile(plain, [0.025, 0.975])
    width = high - low
    assert ours.low == pytest.approx(low, abs=0.1 * width)
    assert ours.high == pytest.approx(high, abs=0.1 * width)


def test_bootstrap_width_shrinks_with_the_confidence_level():
    data = _random_reliability_data(23, 4, 500, 5, 0.2)
    wide = krippendorff_alpha_bootstrap(data, level="nominal", confidence=0.99, seed=3)
    narrow = krippendorff_alpha_bootstrap(data, level="nominal", confidence=0.5, seed=3)
    assert wide.low < narrow.low < narrow.high < wide.high


def test_bootstrap_of_perfect_agreement_is_the_point_1_to_1():
    data = np.array([[1, 2, 3, 4, 5, 1, 2], [1, 2, 3, 4, 5, 1, 2]], dtype=float)
    result = krippendorff_alpha_bootstrap(data, level="nominal", n_samples=200, seed=0)
    assert result.alpha == pytest.approx(1.0)
    assert result.low == pytest.approx(1.0)
    assert result.high == pytest.approx(1.0)


def test_bootstrap_of_undefined_alpha_returns_no_interval_and_the_reason():
    result = krippendorff_alpha_bootstrap([[3, 3, 3], [3, 3, 3]], level="interval", seed=0)
    assert result.alpha is None
    assert result.low is None and result.high is None
    assert result.n_samples == 0
    assert "no variation" in result.reason


def test_bootstrap_drops_resamples_without_variation_and_says_how_many():
    # Two pairable units, one with variation: about a quarter of resamples draw the constant
    # unit twice and have no variation.
    data = np.array([[1, 2], [1, 3]], dtype=float)
    result = krippendorff_alpha_bootstrap(data, level="nominal", n_samples=400, seed=4)
    assert 0 < result.n_samples < 400
    assert result.n_requested == 400
    assert result.low is not None


def test_bootstrap_with_many_distinct_patterns_uses_the_unit_draw_path():
    rng = np.random.default_rng(29)
    data = rng.normal(size=(3, 2500)).round(1)  # over 2,000 distinct unit patterns
    result = krippendorff_alpha_bootstrap(data, level="interval", n_samples=50, seed=0)
    assert result.alpha == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="interval"), abs=1e-9
    )
    assert result.low < result.alpha < result.high


def test_bootstrap_rejects_bad_parameters():
    with pytest.raises(ValueError):
        krippendorff_alpha_bootstrap(KRIPPENDORFF_2011_C, level="nominal", n_samples=0)
    with pytest.raises(ValueError):
        krippendorff_alpha_bootstrap(KRIPPENDORFF_2011_C, level="nominal", confidence=1.0)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_and_bootstrap_together_equal_the_two_separate_calls(level):
    rng = np.random.default_rng(7)
    data = rng.integers(1, 5, size=(4, 300)).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    point, interval = krippendorff_alpha_and_bootstrap(data, level=level, n_samples=200, seed=3)
    assert point == krippendorff_alpha(data, level=level)
    assert interval == krippendorff_alpha_bootstrap(data, level=level, n_samples=200, seed=3)
    undefined = np.ones((3, 5))
    point, interval = krippendorff_alpha_and_bootstrap(undefined, level=level, n_samples=10)
    assert point == krippendorff_alpha(undefined, level=level)
    assert interval == krippendorff_alpha_bootstrap(undefined, level=level, n_samples=10)
    with pytest.raises(ValueError):
        krippendorff_alpha_and_bootstrap(data, level=level, n_samples=0)


def test_shared_patterns_give_the_same_alpha_and_interval_at_every_level():
    """Alpha and its bootstrap from patterns grouped once (``alpha_patterns``) equal the two
    computed from the data, at each level and with a custom distance."""
    from stats.alpha import alpha_patterns, krippendorff_alpha_and_bootstrap

    rng = np.random.default_rng(3)
    data = rng.integers(-2, 3, size=(4, 400)).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    shared = alpha_patterns(data)
    for kwargs in (
        {"level": "nominal"},
        {"level": "ordinal"},
        {"level": "interval"},
        {"level": "ratio"},
        {"distance": lambda a, b: abs(a - b) ** 1.5},
    ):
        alone = krippendorff_alpha_and_bootstrap(data, n_samples=200, seed=5, **kwargs)
        grouped = krippendorff_alpha_and_bootstrap(
            data, n_samples=200, seed=5, patterns=shared, **kwargs
        )
        assert grouped == alone
    with pytest.raises(ValueError):
        krippendorff_alpha_and_bootstrap(
            data, level="ordinal", value_domain=[-2, -1, 0, 1, 2], patterns=shared
        )

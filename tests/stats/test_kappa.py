"""Fleiss' kappa, Cohen's kappa and observed agreement against published examples and references.

Published examples:
- Fleiss' kappa, the worked example of the Wikipedia article "Fleiss' kappa" (14 raters, 10
  subjects, 5 categories): P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210 (the same table and value
  are in statsmodels' own test suite, statsmodels/stats/tests/test_inter_rater.py).
- Fleiss' kappa, Fleiss (1971), "Measuring nominal scale agreement among many raters",
  Psychological Bulletin 76(5), 378-382: 30 patients, 6 psychiatrists, 5 diagnoses, kappa = 0.430
  (R irr's ``diagnoses`` data set; irr::kappam.fleiss gives 0.4302445).
- Cohen's kappa, the worked example of the Wikipedia article "Cohen's kappa": 50 grant proposals,
  two readers, yes/yes 20, yes/no 5, no/yes 10, no/no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
Independent implementations: statsmodels (fleiss_kappa) and scikit-learn (cohen_kappa_score).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from stats.kappa import category_counts, cohen_kappa, fleiss_kappa, observed_agreement

N = np.nan

WIKIPEDIA_FLEISS_TABLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)

# Fleiss (1971): one row per patient, the diagnoses (1-5) of six psychiatrists.
FLEISS_1971_DIAGNOSES = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ],
    dtype=float,
)  # fmt: skip


def test_fleiss_kappa_matches_the_wikipedia_worked_example():
    result = fleiss_kappa(WIKIPEDIA_FLEISS_TABLE)
    assert round(result.kappa, 3) == 0.210
    assert round(result.observed_agreement, 3) == 0.378
    assert round(result.expected_agreement, 3) == 0.213
    assert result.n_units == 10


def test_fleiss_kappa_matches_fleiss_1971_psychiatric_diagnoses():
    table, categories = category_counts(FLEISS_1971_DIAGNOSES.T)
    assert categories == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert table.sum(axis=1).tolist() == [6] * 30
    result = fleiss_kappa(table)
    assert round(result.kappa, 3) == 0.430
    assert result.kappa == pytest.approx(0.4302445, abs=1e-7)


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_kappa_matches_statsmodels_on_random_tables(seed):
    rng = np.random.default_rng(seed)
    n_raters = int(rng.integers(2, 9))
    probs = rng.dirichlet(np.ones(4))
    table = rng.multinomial(n_raters, probs, size=int(rng.integers(5, 300)))
    assert fleiss_kappa(table).kappa == pytest.approx(sm_fleiss_kappa(table), abs=1e-12)


def test_observed_agreement_equals_fleiss_p_bar_of_the_wikipedia_example():
    # Expand the count table into 14 raters x 10 subjects labels.
    labels = np.array(
        [np.repeat(np.arange(5), row) for row in WIKIPEDIA_FLEISS_TABLE], dtype=float
    ).T
    result = observed_agreement(labels)
    assert round(result.agreement, 3) == 0.378
    assert result.n_units == 10
    assert result.n_pairs == 10 * 14 * 13 // 2


def test_fleiss_kappa_undefined_cases_have_reasons():
    assert fleiss_kappa(np.zeros((3, 2))).reason == "no ratings"
    unequal = fleiss_kappa([[2, 1], [1, 1]])
    assert unequal.kappa is None and "different numbers of ratings" in unequal.reason
    single = fleiss_kappa([[1, 0], [0, 1]])
    assert single.kappa is None and "only one rating" in single.reason
    constant = fleiss_kappa([[3, 0], [3, 0]])
    assert constant.kappa is None and "no variation" in constant.reason


def test_fleiss_kappa_ignores_units_without_ratings():
    with_empty = np.vstack([WIKIPEDIA_FLEISS_TABLE, np.zeros((2, 5), dtype=int)])
    assert fleiss_kappa(with_empty).kappa == pytest.approx(
        fleiss_kappa(WIKIPEDIA_FLEISS_TABLE).kappa
    )


def test_cohen_kappa_matches_the_wikipedia_worked_example():
    reader_a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    reader_b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    result = cohen_kappa(reader_a, reader_b)
    assert result.observed_agreement == pytest.approx(0.7)
    assert result.expected_agreement == pytest.approx(0.5)
    assert result.kappa == pytest.approx(0.4)
    assert result.n_units == 50


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", range(4))
def test_cohen_kappa_matches_scikit_learn(seed, weights):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, size=300)
    b = np.where(rng.random(300) < 0.6, a, rng.integers(0, 5, size=300))
    ours = cohen_kappa(a, b, weights=weights).kappa
    assert ours == pytest.approx(cohen_kappa_score(a, b, weights=weights), abs=1e-12)


def test_cohen_kappa_leaves_out_units_missing_either_label():
    a = [1, 2, N, 1, 2, 3]
    b = [1, 2, 3, N, 1, 3]
    result = cohen_kappa(a, b)
    assert result.n_units == 4
    assert result.kappa == pytest.approx(cohen_kappa_score([1, 2, 2, 3], [1, 2, 1, 3]))


def test_cohen_kappa_undefined_cases_have_reasons():
    none = cohen_kappa([N, 1], [2, N])
    assert none.kappa is None and none.n_units == 0 and "both coders" in none.reason
    same = cohen_kappa([1, 1, 1], [1, 1, 1])
    assert same.kappa is None and "no variation" in same.reason
    with pytest.raises(ValueError):
        cohen_kappa([1, 2], [1, 2, 3])


def test_observed_agreement_two_coders_is_percent_agreement():
    result = observed_agreement([[1, 2, 3, 4, N], [1, 2, 0, 4, 5]])
    assert result.agreement == pytest.approx(3 / 4)
    assert result.n_units == 4
    assert result.n_pairs == 4


def test_observed_agreement_pools_pairs_over_units_with_missing_values():
    # Unit 1: three coders, all agree (3 agreeing pairs of 3); unit 2: two coders disagree (0 of 1).
    result = observed_agreement([[1, 1], [1, N], [1, 2]])
    assert result.agreement == pytest.approx(3 / 4)


def test_observed_agreement_with_tolerance_counts_near_misses():
    labels = [[1, 5, 9], [2, 5, 7]]
    assert observed_agreement(labels).agreement == pytest.approx(1 / 3)
    assert observed_agreement(labels, tolerance=1).agreement == pytest.approx(2 / 3)
    assert observed_agreement(labels, tolerance=2).agreement == pytest.approx(1.0)


def test_observed_agreement_without_pairs_has_a_reason():
    result = observed_agreement([[1, N], [N, 2]])
    assert result.agreement is None
    assert "no pairable values" in result.reason
    assert observed_agreement([[1, 2, 3]]).agreement is None


def test_category_counts_respects_given_categories():
    table, categories = category_counts([[1, 2, N], [1, N, N]], categories=[3, 1, 2])
    assert categories == (3.0, 1.0, 2.0)
    assert table.tolist() == [[0, 2, 0], [0, 0, 1], [0, 0, 0]]
    with pytest.raises(ValueError):
        category_counts([[1, 4]], categories=[1, 2])

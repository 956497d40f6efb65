"""The items' vote patterns (``analysis.figures.divergence._unique_rows``) are NumPy's distinct
rows, in the same order, whether read as one number each or, when too wide for 63 bits, row by
row; and the divergence figures built from codes keep every status's items and order."""

import numpy as np
import pytest

from analysis.figures.divergence import _unique_rows, divergence_figures
from annotate.tasktypes.base import DivergenceSpec


@pytest.mark.parametrize(("n_values", "base"), [(5, 5), (3, 200), (40, 40)])
def test_unique_rows_are_numpys(n_values, base):
    rng = np.random.default_rng(n_values)
    counts = rng.integers(0, min(base, 3), size=(500, n_values))
    patterns, inverse = _unique_rows(counts, base=base)
    expected, expected_inverse = np.unique(counts, axis=0, return_inverse=True)
    np.testing.assert_array_equal(patterns, expected)
    np.testing.assert_array_equal(inverse, np.asarray(expected_inverse).ravel())
    np.testing.assert_array_equal(patterns[inverse], counts)


def test_divergence_figures_from_statuses():
    spec = DivergenceSpec(
        statuses=("agree", "split", "unused"),
        diverging=frozenset({"split"}),
        agreeing=frozenset({"agree"}),
        status_field="side",
        default_taxonomy=(),
        texts=lambda payload: None,
        uncertainty=lambda score, distribution: None,
        picks_winner=lambda value: None,
    )
    statuses = ["split", None, "agree", "other", "split", "agree", None]
    item_ids = np.array([3, 5, 8, 9, 11, 12, 20])
    figures = divergence_figures(spec, statuses, item_ids)
    assert figures.status_counts == {"agree": 2, "split": 2, "unused": 0}
    assert figures.n_with_status == 5 and figures.n_too_few_votes == 2
    assert figures.diverging_items == [(3, "split"), (11, "split")]
    assert figures.items_by_status == {
        "agree": [8, 12],
        "split": [3, 11],
        "unused": [],
        "other": [9],
    }
    assert list(figures.items_by_status) == ["agree", "split", "unused", "other"]


class _Plugin:
    """Statuses from vote counts, named so that their order of first item differs from the
    order of the vote patterns."""

    @staticmethod
    def item_status(votes, *, config=None):
        if len(votes) < 2:
            return None
        return {0: "zeta", 1: "alpha", 2: "mid"}.get(len(set(votes)) - 1, "wide")


def test_divergence_figures_of_codes_equal_the_statuses_path():
    from analysis.figures.divergence import (
        divergence_figures_of_codes,
        item_status_codes,
        item_statuses,
        statuses_of_codes,
    )
    from analysis.selectors.reliability import FieldData
    from annotate.tasktypes.base import AgreementField

    rng = np.random.default_rng(7)
    data = rng.integers(0, 4, size=(4, 300)).astype(float)
    data[rng.random(data.shape) < 0.35] = np.nan
    fd = FieldData(AgreementField(name="side", label="Side", level="nominal"), data)
    spec = DivergenceSpec(
        statuses=("mid", "zeta", "unused"),
        diverging=frozenset({"mid", "wide"}),
        agreeing=frozenset({"zeta"}),
        status_field="side",
        default_taxonomy=(),
        texts=lambda payload: None,
        uncertainty=lambda score, distribution: None,
        picks_winner=lambda value: None,
    )
    item_ids = np.arange(1000, 1300)[::-1].copy()
    statuses = item_statuses(_Plugin, fd)
    codes, names = item_status_codes(_Plugin, fd)
    assert names[0] is None and statuses_of_codes(codes, names) == statuses
    expected = divergence_figures(spec, statuses, item_ids)
    got = divergence_figures_of_codes(spec, codes, names, item_ids)
    assert got == expected
    assert list(got.items_by_status) == list(expected.items_by_status)
    assert list(got.status_counts) == list(expected.status_counts)


@pytest.mark.parametrize("spread", [1, 3, 10_000])
def test_unique_ids_are_numpys(spread):
    """The matrix's item columns (``unique_ids``) are ``np.unique``'s, dense ids or sparse."""
    from analysis.selectors.reliability import unique_ids

    rng = np.random.default_rng(spread)
    ids = (rng.integers(0, 400, size=2000) * spread + 17).astype(np.int64)
    unique, inverse = unique_ids(ids)
    expected, expected_inverse = np.unique(ids, return_inverse=True)
    assert unique.dtype == expected.dtype
    np.testing.assert_array_equal(unique, expected)
    np.testing.assert_array_equal(inverse, np.asarray(expected_inverse).ravel())
    empty, empty_inverse = unique_ids(np.zeros(0, dtype=np.int64))
    assert empty.size == 0 and empty_inverse.size == 0

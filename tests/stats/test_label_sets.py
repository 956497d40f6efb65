"""Agreement on label sets: MASI against NLTK and Passonneau's definition, per-label and
whole-set alpha against the `krippendorff` package, exact agreement by hand."""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pytest
from nltk.metrics.distance import masi_distance as nltk_masi

from stats.label_sets import label_set_agreement, masi_distance

LABELS = ["irony", "mocking", "vulgarity"]


def test_masi_of_hand_examples_and_against_nltk():
    # Passonneau (2006): identical 0; subset J x 2/3; overlap J x 1/3; disjoint 1.
    assert masi_distance({"a", "b"}, {"a", "b"}) == 0.0
    assert masi_distance({"a", "b"}, {"a", "b", "c"}) == pytest.approx(1 - (2 / 3) * (2 / 3))
    assert masi_distance({"a", "b"}, {"b", "c"}) == pytest.approx(1 - (1 / 3) * (1 / 3))
    assert masi_distance({"a"}, {"b"}) == 1.0
    assert masi_distance(set(), set()) == 0.0
    assert masi_distance(set(), {"a"}) == 1.0
    nonempty = [set(c) for n in (1, 2, 3) for c in itertools.combinations("abcd", n)]
    for a, b in itertools.product(nonempty, repeat=2):
        assert masi_distance(a, b) == pytest.approx(nltk_masi(a, b), abs=1e-12)


def random_units(seed: int, n_units: int = 60, n_coders: int = 4):
    rng = np.random.default_rng(seed)
    units = []
    for _ in range(n_units):
        truth = {label for label in LABELS if rng.random() < 0.3}
        unit = {}
        for coder in range(n_coders):
            if rng.random() < 0.2:
                continue  # did not label this unit
            given = set(truth)
            for label in LABELS:
                if rng.random() < 0.15:
                    given ^= {label}
            unit[coder] = given
        units.append(unit)
    return units, n_coders


def test_per_label_and_any_label_alpha_match_the_package_on_presence_data():
    units, n_coders = random_units(1)
    result = label_set_agreement(units, labels=LABELS)
    pairable = [u for u in units if len(u) >= 2]
    for label in LABELS:
        data = [
            [float(label in u[c]) if c in u else np.nan for u in pairable] for c in range(n_coders)
        ]
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert result.per_label[label].alpha == pytest.approx(expected, abs=1e-9)
    data = [[float(bool(u[c])) if c in u else np.nan for u in pairable] for c in range(n_coders)]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert result.any_label.alpha == pytest.approx(expected, abs=1e-9)
    assert result.n_units == len(pairable)


def test_whole_set_alpha_matches_the_package_with_nltk_masi_as_its_metric():
    units, n_coders = random_units(2)
    result = label_set_agreement(units, labels=LABELS)
    pairable = [u for u in units if len(u) >= 2]
    sets = sorted({frozenset(s) for u in pairable for s in u.values()}, key=sorted)
    code = {s: i for i, s in enumerate(sets)}
    data = [
        [code[frozenset(u[c])] if c in u else np.nan for u in pairable] for c in range(n_coders)
    ]
    distance = np.array(
        [[0.0 if a == b else nltk_masi(set(a), set(b)) for b in sets] for a in sets]
    )

    def metric(v1, v2, i1, i2, n_v, dtype):
        return distance[v1.astype(int), v2.astype(int)].astype(dtype)

    expected = krippendorff.alpha(
        reliability_data=data, level_of_measurement=metric, value_domain=np.arange(len(sets))
    )
    assert result.masi.alpha == pytest.approx(expected, abs=1e-9)


def test_exact_agreement_counts_identical_sets_over_pairs():
    units = [
        {1: {"irony"}, 2: {"irony"}, 3: set()},  # pairs: 1-2 same, 1-3, 2-3 differ
        {1: set(), 2: set()},  # 1 pair, same
        {1: {"irony", "mocking"}},  # one annotator: not pairable
    ]
    result = label_set_agreement(units, labels=LABELS)
    assert result.exact_agreement == pytest.approx(2 / 4)
    assert result.n_units == 2
    assert result.n_values == 5
    assert result.prevalence["irony"] == pytest.approx(2 / 5)
    assert result.prevalence["vulgarity"] == 0.0


def test_an_unused_label_and_no_pairable_units_have_reasons_not_errors():
    units = [{1: {"irony"}, 2: set()}, {1: set(), 2: {"irony"}}]
    result = label_set_agreement(units, labels=LABELS)
    assert result.per_label["vulgarity"].alpha is None
    assert "no variation" in result.per_label["vulgarity"].reason
    assert result.per_label["irony"].alpha is not None
    empty = label_set_agreement([{1: {"irony"}}], labels=LABELS)
    assert empty.masi.alpha is None and empty.any_label.alpha is None
    assert "no pairable values" in empty.masi.reason
    assert empty.exact_agreement is None
    assert empty.prevalence["irony"] is None


def test_labels_default_to_every_label_given():
    result = label_set_agreement([{1: {"b"}, 2: {"a", "b"}}])
    assert result.labels == ("a", "b")

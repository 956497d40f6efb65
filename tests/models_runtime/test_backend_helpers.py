"""The pure helpers every backend shares: batching by token budget, Bradley–Terry, the vote."""

from __future__ import annotations

import math

import pytest

from models_runtime.backends.base import (
    bradley_terry,
    choices_of,
    preference_from_probability,
    token_budget_batches,
)


def test_token_budget_batches_group_similar_lengths_under_the_budget():
    lengths = [5, 100, 7, 98, 6, 101, 50]
    batches = token_budget_batches(lengths, max_tokens=210, max_batch=10)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert max(lengths[i] for i in batch) * len(batch) <= 210
    # The three long ones share batches with each other, not with the short ones.
    assert {frozenset(b) for b in batches} == {
        frozenset({5, 1}),
        frozenset({3, 6}),
        frozenset({0, 2, 4}),
    }


def test_token_budget_batches_respect_widths_and_the_batch_cap():
    batches = token_budget_batches([10] * 6, widths=[2] * 6, max_tokens=60, max_batch=100)
    assert [len(b) for b in batches] == [3, 3]
    assert [len(b) for b in token_budget_batches([1] * 5, max_tokens=1000, max_batch=2)] == [
        2,
        2,
        1,
    ]


def test_token_budget_batches_give_an_oversized_entry_its_own_batch():
    assert token_budget_batches([500, 3, 2], max_tokens=100, max_batch=8) == [[0], [1, 2]]
    with pytest.raises(ValueError):
        token_budget_batches([1], max_tokens=0, max_batch=1)


def test_bradley_terry_is_the_logistic_of_the_reward_difference():
    assert bradley_terry(0.0, 0.0) == 0.5
    assert bradley_terry(1.0, 2.0) == pytest.approx(1 / (1 + math.exp(-1)))
    assert bradley_terry(2.0, 1.0, scale=2.0) == pytest.approx(1 / (1 + math.exp(0.5)))


@pytest.mark.parametrize(("mu", "s2"), [(1.0, 1.0), (2.0, 4.0), (-0.5, 0.25), (3.0, 9.0)])
def test_bradley_terry_with_variances_matches_the_gaussian_average_of_the_logistic(mu, s2):
    # Reference: E[sigmoid(d)], d ~ N(mu, s2), by the trapezoid rule on a fine grid.
    sd, steps = math.sqrt(s2), 20000
    lo, hi = mu - 10 * sd, mu + 10 * sd
    h = (hi - lo) / steps
    total = 0.0
    for k in range(steps + 1):
        x = lo + k * h
        weight = 0.5 if k in (0, steps) else 1.0
        density = math.exp(-((x - mu) ** 2) / (2 * s2)) / math.sqrt(2 * math.pi * s2)
        total += weight * density / (1 + math.exp(-x))
    reference = total * h
    # The probit approximation (MacKay 1992) is within about 0.02 of the exact average.
    assert bradley_terry(0.0, mu, var_a=s2 / 2, var_b=s2 / 2) == pytest.approx(reference, abs=0.02)


@pytest.mark.parametrize(
    ("p", "vote"),
    [
        (0.0, -2),
        (0.14, -2),
        (0.16, -1),
        (0.39, -1),
        (0.41, 0),
        (0.5, 0),
        (0.59, 0),
        (0.61, 1),
        (0.84, 1),
        (0.86, 2),
        (1.0, 2),
    ],
)
def test_preference_from_probability_follows_the_margins(p, vote):
    assert preference_from_probability(p, tie_margin=0.1, strong_margin=0.35) == vote


def test_choices_are_read_from_every_documented_shape():
    assert [c.label for c in choices_of(["yes", "no"])] == ["yes", "no"]
    assert [(c.label, c.text) for c in choices_of([{"label": "A", "text": "Yes"}])] == [
        ("A", "Yes")
    ]
    simpletom = choices_of({"text": ["Yes", "No"], "label": ["A", "B"]})
    assert [(c.label, c.text) for c in simpletom] == [("A", "Yes"), ("B", "No")]

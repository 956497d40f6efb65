"""The pure parts of the task types' model mappings: Bradley–Terry, the vote, choices, chat
answers, and which backend operations each type can use (moved from the backend helpers)."""

from __future__ import annotations

import math

import pytest

from annotate.tasktypes.modeling import choices_of
from annotate.tasktypes.preference_pair.predictions import (
    bradley_terry,
    preference_from_probability,
)


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

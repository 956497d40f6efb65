"""The pure parts of the task types' model mappings: Bradley–Terry, the vote, choices, chat
answers, and which backend operations each type can use (moved from the backend helpers)."""

from __future__ import annotations

import math

import pytest

from annotate.tasktypes import get_task_type, task_type_choices
from annotate.tasktypes.derailment.predictions import DerailmentPrefixes
from annotate.tasktypes.modeling import (
    COMPARE_OPTIONS,
    OPERATIONS,
    ChatReply,
    ModelingError,
    choices_of,
    mapping_for,
    reply_distribution,
)
from annotate.tasktypes.preference_pair.predictions import (
    PREDICTIONS,
    PreferenceJudge,
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


# --- the mappings' own rules


def test_a_chat_reply_is_read_from_logprobs_else_from_its_text():
    reply = ChatReply("A", [("A", math.log(0.6)), (" b", math.log(0.2)), ("x", math.log(0.2))])
    assert reply_distribution(reply, ["A", "B"]) == pytest.approx({"A": 0.75, "B": 0.25})
    assert reply_distribution(ChatReply(" tie."), ["A", "B", "tie"]) == {
        "A": 0.0,
        "B": 0.0,
        "tie": 1.0,
    }
    # Top tokens that match no answer leave the text to decide.
    assert reply_distribution(ChatReply("B", [("zzz", -0.1)]), ["A", "B"]) == {"A": 0.0, "B": 1.0}
    with pytest.raises(ModelingError, match="not one of"):
        reply_distribution(ChatReply("Neither"), ["A", "B"])


def test_each_task_type_maps_known_operations_each_once():
    for name, _label in task_type_choices():
        predictions = get_task_type(name).predictions or ()
        operations = [mapping.operation for mapping in predictions]
        assert set(operations) <= OPERATIONS
        assert len(operations) == len(set(operations)), name
    assert mapping_for(PREDICTIONS, frozenset({COMPARE_OPTIONS})) is PreferenceJudge
    assert mapping_for(PREDICTIONS, frozenset({"no_such_operation"})) is None
    assert mapping_for(None, OPERATIONS) is None


def test_the_judge_mapping_checks_its_options_and_lays_out_both_orders():
    params = {**PreferenceJudge.default_params, "debias_order": True, "allow_tie": False}
    with pytest.raises(ModelingError, match="options must map"):
        PreferenceJudge({**params, "options": {"a": " A"}})
    pair = {"prompt": "P", "response_a": "one", "response_b": "two"}
    request = PreferenceJudge(params).request(pair)
    assert [p.options for p in request.prompts] == [[" A", " B"], [" A", " B"]]
    assert "Response A: one" in request.prompts[0].prompt
    assert "Response A: two" in request.prompts[1].prompt
    assert request.prompts[0].prompt.endswith("Answer A or B.\nAnswer:")


def test_the_derailment_mapping_reads_the_positive_class_and_refuses_a_missing_one():
    thread = {"title": "T", "comments": [{"id": "c1", "body": "x"}, {"id": "c2", "body": "y"}]}
    mapping = DerailmentPrefixes({"threshold": 0.5, "positive_label": 0})
    assert mapping.request(thread).texts == [
        "Title: T\n\nsomeone: x",
        "Title: T\n\nsomeone: x\n\nsomeone: y",
    ]
    prediction = mapping.prediction(4, thread, [[0.7, 0.3], [0.2, 0.8]])
    assert prediction.key == 4
    assert prediction.value == {"toxic": True, "toxic_comment": "c1", "derailment_comment": "c1"}
    # A one-output model's single probability is the positive one, whatever the label says.
    assert mapping.prediction(4, thread, [[0.1], [0.4]]).score == 0.4
    with pytest.raises(ModelingError, match="positive_label 3"):
        DerailmentPrefixes({"threshold": 0.5, "positive_label": 3}).prediction(
            1, thread, [[0.5, 0.5], [0.5, 0.5]]
        )

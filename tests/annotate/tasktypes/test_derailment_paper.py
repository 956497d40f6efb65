"""derailment: the paper's model metrics (P/R/F1/accuracy at the project's threshold against the
reference label, the prediction file's label and the human majority; derailment-point distance),
checked against scikit-learn and by hand; the threshold setting."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import ConfigInvalid, RunPrediction
from tests.typedata import thread_record

PLUGIN = get_task_type("derailment")


def payload(n: int, *, toxic: bool | None, point: int | None = None) -> dict[str, Any]:
    """Thread n (comments t{n}c0..c3), with a reference label when ``toxic`` is not None."""
    record = {k: v for k, v in thread_record(n).items() if k != "external_id"}
    if toxic is not None:
        record["reference"] = {
            "source": "paper",
            "value": {
                "toxic": toxic,
                "toxic_comment": f"t{n}c3" if toxic else None,
                "derailment_comment": f"t{n}c{point}" if point is not None else None,
            },
        }
    return PLUGIN.validate_item(record)


def human(toxic: bool, point: int | None = None, n: int = 0) -> dict[str, Any]:
    return {
        "toxic": toxic,
        "toxic_comment": f"t{n}c3" if toxic else None,
        "derailment_comment": f"t{n}c{point}" if point is not None else None,
        "tones": {},
    }


@dataclass
class Data:
    config: dict[str, Any] = field(default_factory=dict)
    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    humans: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def payloads(self):
        return self.items

    def gold(self):
        return {}

    def human_values(self):
        return self.humans

    def statuses(self):
        return {}


def score_only(item_id: int, p: float, **details) -> RunPrediction:
    return RunPrediction(item_id, {}, p, None, details)


def sklearn_figures(y_true, y_pred):
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="binary")
    return pytest.approx([p, r, f, accuracy_score(y_true, y_pred)])


def rates(block):
    return [block["precision"], block["recall"], block["f1"], block["accuracy"]]


def test_score_only_predictions_against_the_reference_match_scikit_learn():
    rng = random.Random(4)
    truth = [rng.random() < 0.3 for _ in range(60)]
    scores = [round(rng.random(), 2) for _ in range(60)]
    data = Data(items={i: payload(i, toxic=t) for i, t in enumerate(truth)})
    metrics = PLUGIN.model_metrics(data, [score_only(i, s) for i, s in enumerate(scores)])
    assert metrics["threshold"] == 0.5
    block = metrics["vs_reference"]
    assert rates(block) == sklearn_figures(truth, [s >= 0.5 for s in scores])
    assert (block["n"], block["n_left_out"]) == (60, 0)
    assert "vs_file_label" not in metrics  # no prediction carried a label of its own


def test_the_threshold_comes_from_the_project_config():
    truth = [True, True, False, False]
    scores = [0.9, 0.4, 0.35, 0.1]
    items = {i: payload(i, toxic=t) for i, t in enumerate(truth)}
    predictions = [score_only(i, s) for i, s in enumerate(scores)]
    at_half = PLUGIN.model_metrics(Data(items=items), predictions)["vs_reference"]
    assert (at_half["tp"], at_half["fp"], at_half["fn"], at_half["tn"]) == (1, 0, 1, 2)
    lower = PLUGIN.model_metrics(Data(config={"threshold": 0.3}, items=items), predictions)
    assert lower["threshold"] == 0.3
    block = lower["vs_reference"]
    assert (block["tp"], block["fp"], block["fn"], block["tn"]) == (2, 1, 0, 1)
    assert rates(block) == sklearn_figures(truth, [s >= 0.3 for s in scores])


@pytest.mark.parametrize("bad", [1.5, -0.1, "0.5", True, None])
def test_a_threshold_outside_0_to_1_or_not_a_number_is_refused(bad):
    with pytest.raises(ConfigInvalid) as exc:
        PLUGIN.validate_config({"threshold": bad})
    assert [e.field for e in exc.value.errors] == ["config.threshold"]
    assert PLUGIN.validate_config({"threshold": 1}) == {"threshold": 1}
    assert PLUGIN.config({})["threshold"] == 0.5


def test_against_the_human_majority_ties_and_unannotated_items_are_left_out():
    items = {i: payload(i, toxic=None) for i in range(5)}
    humans = {
        0: [human(True, 3), human(True, 2), human(False)],  # majority toxic
        1: [human(False), human(False), human(True, 3)],  # majority not toxic
        2: [human(True, 3), human(False)],  # tie: left out
        3: [human(True, 1)],  # majority toxic
    }  # item 4: no human label
    predictions = [score_only(i, s) for i, s in enumerate([0.8, 0.7, 0.9, 0.2, 0.6])]
    metrics = PLUGIN.model_metrics(Data(items=items, humans=humans), predictions)
    block = metrics["vs_majority"]
    assert (block["tp"], block["fp"], block["fn"], block["tn"]) == (1, 1, 1, 0)
    assert block["n_left_out"] == 2
    assert rates(block) == sklearn_figures([True, False, True], [True, True, False])
    reference = metrics["vs_reference"]
    assert reference["n"] == 0 and reference["n_left_out"] == 5 and reference["precision"] is None


def test_the_files_own_label_is_scored_apart_from_the_items_reference():
    items = {0: payload(0, toxic=True), 1: payload(1, toxic=None), 2: payload(2, toxic=False)}
    predictions = [
        score_only(0, 0.9, true_label=False),
        score_only(1, 0.9, true_label=True),
        score_only(2, 0.1),
    ]
    metrics = PLUGIN.model_metrics(Data(items=items), predictions)
    file_block = metrics["vs_file_label"]
    assert (file_block["tp"], file_block["fp"], file_block["n_left_out"]) == (1, 1, 1)
    ref = metrics["vs_reference"]
    assert (ref["tp"], ref["tn"], ref["n_left_out"]) == (1, 1, 1)


def test_the_predicted_point_is_the_first_prefix_at_the_threshold_and_its_distance_by_hand():
    items = {0: payload(0, toxic=True, point=1), 1: payload(1, toxic=True, point=2)}
    humans = {
        0: [human(True, 2, n=0), human(True, 3, n=0), human(False, n=0)],  # median point 2.5
        1: [human(True, 1, n=1)],  # point 1
    }

    def per_prefix(item_id, ps, value_point):
        details = {
            "prefix_scores": [{"comment": f"t{item_id}c{k}", "p": p} for k, p in enumerate(ps)],
            "threshold": 0.5,
        }
        value = {"toxic": True, "toxic_comment": f"t{item_id}c3"}
        value["derailment_comment"] = f"t{item_id}c{value_point}"
        return RunPrediction(item_id, value, max(ps), None, details)

    predictions = [
        per_prefix(0, [0.1, 0.6, 0.7, 0.9], value_point=1),  # point 1 at 0.5; 2 at 0.65
        per_prefix(1, [0.2, 0.3, 0.4, 0.55], value_point=3),  # point 3
    ]
    metrics = PLUGIN.model_metrics(Data(items=items, humans=humans), predictions)
    distance = metrics["point_distance"]
    assert distance["unit"] == "comments"
    # |1 - 2.5| and |3 - 1|
    assert distance["vs_humans"]["mean_abs"] == pytest.approx((1.5 + 2) / 2)
    assert distance["vs_humans"]["n"] == 2
    # reference points 1 and 2: |1 - 1| and |3 - 2|
    assert distance["vs_reference"]["mean_abs"] == pytest.approx(0.5)
    assert distance["vs_reference"]["exact_share"] == pytest.approx(0.5)

    stricter = PLUGIN.model_metrics(
        Data(config={"threshold": 0.65}, items=items, humans=humans), predictions
    )
    # thread 0's point moves to comment 2 (0.7 >= 0.65); thread 1 never reaches 0.65: no point
    assert stricter["point_distance"]["vs_humans"]["mean_abs"] == pytest.approx(0.5)
    assert stricter["point_distance"]["vs_humans"]["n"] == 1
    assert stricter["vs_reference"]["fn"] == 1


def test_score_only_predictions_have_no_point_and_predictions_without_score_use_the_value():
    items = {0: payload(0, toxic=True, point=1), 1: payload(1, toxic=False)}
    humans = {0: [human(True, 1)]}
    value = {"toxic": False, "toxic_comment": None, "derailment_comment": None, "tones": {}}
    predictions = [score_only(0, 0.9), RunPrediction(1, value, None, None, {})]
    metrics = PLUGIN.model_metrics(Data(items=items, humans=humans), predictions)
    assert metrics["point_distance"]["vs_humans"]["n"] == 0
    block = metrics["vs_reference"]
    assert (block["tp"], block["tn"], block["n"]) == (1, 1, 2)
    assert metrics["n_unlabelled"] == 0
    unlabelled = PLUGIN.model_metrics(Data(items=items), [RunPrediction(0, {}, None, None, {})])
    assert unlabelled["n_unlabelled"] == 1 and unlabelled["vs_reference"]["n"] == 0

"""preference_pair: a model's accuracy against the human majority side (A / tie / B), worked out
by hand and checked with scikit-learn, on the 5- and 7-point scales, then end to end."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sklearn.metrics import accuracy_score, confusion_matrix

from analysis.figures import agreement_compute
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import RunPrediction
from annotate.tasktypes.preference_pair.paper import model_metrics
from models_runtime.models import ModelRun, Prediction
from tests.analysis.conftest import add_vote, make_item
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

PLUGIN = get_task_type("preference_pair")


@dataclass
class Data:
    humans: dict
    config: dict = field(default_factory=dict)

    def payloads(self):
        return {}

    def gold(self):
        return {}

    def human_values(self):
        return self.humans

    def statuses(self):
        return {}


def votes(*preferences: int) -> list[dict]:
    return [{"preference": p, "aspects": {}, "rationale": "", "flags": []} for p in preferences]


def predicted(item_id: int, preference: int | None) -> RunPrediction:
    value = {} if preference is None else {"preference": preference}
    return RunPrediction(item_id, value, 0.5, None, {})


# item -> (human votes, model's vote). Majority side of the humans' votes:
HUMANS = {
    1: votes(-2, -1, 1),  # A (2 of 3)
    2: votes(1, 2, 0),  # B
    3: votes(0, 0, -1),  # tie
    4: votes(-1, 1),  # A 1, B 1: no majority
    5: votes(-1, 0, 1),  # one each: no majority
    6: votes(2, 2, 2),  # B
    7: votes(-2),  # A (a single vote is its own majority)
}
MODEL = {1: -2, 2: -1, 3: 0, 4: 1, 5: 0, 6: None, 7: -1, 8: 2}  # 8: no human votes
SIDE = {"A": -1, "tie": 0, "B": 1}


def test_accuracy_against_the_majority_side_worked_out_by_hand():
    metrics = model_metrics(Data(HUMANS), [predicted(i, v) for i, v in MODEL.items()])
    # Compared: 1 (A, A right), 2 (B, A wrong), 3 (tie, tie right), 6 (B, no side: wrong),
    # 7 (A, A right); 4 and 5 have no majority, 8 no votes.
    assert {k: metrics[k] for k in ("accuracy", "n", "correct", "n_unanswered")} == {
        "accuracy": pytest.approx(3 / 5),
        "n": 5,
        "correct": 3,
        "n_unanswered": 1,
    }
    assert (metrics["n_no_majority"], metrics["n_without_side"]) == (2, 1)
    # Decisive pairs (A or B majority): 1, 2, 6, 7 -> 2 of 4.
    assert metrics["decisive"]["accuracy"] == pytest.approx(2 / 4)
    assert metrics["decisive"]["n"] == 4
    assert metrics["confusion"] == {
        "A": {"A": 2, "tie": 0, "B": 0},
        "tie": {"A": 0, "tie": 1, "B": 0},
        "B": {"A": 1, "tie": 0, "B": 0},
    }


def test_matches_scikit_learn():
    metrics = model_metrics(Data(HUMANS), [predicted(i, v) for i, v in MODEL.items()])
    majority = {1: "A", 2: "B", 3: "tie", 6: "B", 7: "A"}
    model = {1: "A", 2: "A", 3: "tie", 6: "none", 7: "A"}
    truth, pred = [majority[i] for i in majority], [model[i] for i in majority]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    labels = ["A", "tie", "B"]
    answered = [(t, p) for t, p in zip(truth, pred, strict=True) if p != "none"]
    expected = confusion_matrix([t for t, _ in answered], [p for _, p in answered], labels=labels)
    assert [[metrics["confusion"][t][p] for p in labels] for t in labels] == expected.tolist()


def test_seven_point_scale_reads_sides_on_it():
    humans = {1: votes(-3, -1, 3), 2: votes(1, 2, -1)}  # A; B
    metrics = model_metrics(Data(humans, config={"scale": 7}), [predicted(1, -1), predicted(2, 3)])
    assert (metrics["accuracy"], metrics["n"]) == (1.0, 2)


def test_nothing_to_compare():
    metrics = model_metrics(Data({1: votes(-1, 1)}), [predicted(1, -1)])
    assert metrics["accuracy"] is None and metrics["reason"] == "nothing to compare"
    assert metrics["n_no_majority"] == 1


@pytest.mark.django_db
def test_end_to_end_in_the_model_figures_and_the_paper_table():
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, overlap=3)
    MembershipFactory(project=project, user=lead, role="lead")
    annotators = [UserFactory(username=name) for name in ("ann", "bob", "cat")]
    items = {}
    for n, values in HUMANS.items():
        items[n] = make_item(project, n)
        for user, value in zip(annotators, values, strict=False):
            add_vote(items[n], user, value["preference"])
    run = ModelRun.objects.create(
        project=project, model_name="judge", source="import", status=ModelRun.Status.DONE
    )
    for n, vote in MODEL.items():
        if n in items and vote is not None:
            value = {"preference": vote, "aspects": {}, "rationale": "", "flags": []}
            Prediction.objects.create(run=run, item=items[n], value=value, score=0.5)
    figures = agreement_compute(project=project)
    (model,) = figures.models
    # Item 6 has no prediction now: compared 1, 2, 3, 7 -> 3 of 4.
    assert (model.metrics["accuracy"], model.metrics["n"]) == (pytest.approx(3 / 4), 4)
    # The platform's own accuracy against the majority (the primary field, side) agrees.
    assert model.accuracy_vs_majority == pytest.approx(3 / 4)
    models = {t.key: t for t in PLUGIN.paper_tables(figures.to_dict())}["models"]
    (row,) = models.rows
    assert row[0] == "judge"
    assert row[models.columns.index("Accuracy vs majority side")] == pytest.approx(3 / 4)

"""The VisArgs paper's figures of a visual argument project (``visual_argument/paper.py``),
computed by the analysis from rows in PostgreSQL, against counts worked out by hand below."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analysis.figures import Figures, agreement_compute
from annotate.models import Item, Membership
from models_runtime.models import ModelRun, Prediction
from tests.analysis.conftest import add_value
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

IMAGE = {"path": "item-images/ab/x.png", "width": 200, "height": 100}
OPTIONS = [{"id": k, "text": f"premise {k}"} for k in "ABC"]


def make_project(mode):
    lead = UserFactory(username=f"{mode}-lead")
    project = ProjectFactory(
        created_by=lead, task_type="visual_argument", config={"mode": mode}, overlap=3
    )
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    users = {}
    for name in ("ann", "bob", "cat"):
        users[name] = UserFactory(username=f"{mode}-{name}")
        MembershipFactory(project=project, user=users[name], role=Membership.Role.ANNOTATOR)
    return project, users


def ident_item(project, external_id, *, answer=None, negative_set=None, **extra):
    payload = {"image": IMAGE, "conclusion": "Buy it.", "premise_options": OPTIONS}
    if answer:
        payload["answer"] = answer
    if negative_set:
        payload["metadata"] = {"negative_set": negative_set}
    return Item.objects.create(project=project, external_id=external_id, payload=payload, **extra)


def run_of(project, name, predictions):
    run = ModelRun.objects.create(
        project=project, model_name=name, source="import", status=ModelRun.Status.DONE
    )
    for item, value in predictions:
        Prediction.objects.create(run=run, item=item, value=value, score=0.5)
    return run


@pytest.fixture
def identification():
    project, u = make_project("identification")
    i1 = ident_item(project, "ad-1:easy", answer="A", negative_set="easy")
    i2 = ident_item(project, "ad-1:hard_clip", answer="C", negative_set="hard_clip")
    i3 = ident_item(project, "ad-2:easy", answer="B", negative_set="easy")
    i4 = ident_item(project, "ad-2:hard_clip", answer="A", negative_set="hard_clip")
    free = ident_item(project, "no-answer")
    gold = ident_item(
        project, "gold", negative_set="easy", is_gold=True, gold_value={"choice": "B"}
    )
    votes = {
        i1: {"ann": "A", "bob": "A", "cat": "B"},  # 2 of 3 right, majority A right
        i2: {"ann": "C", "bob": "B", "cat": "B"},  # 1 of 3 right, majority B wrong
        i3: {"ann": "B", "bob": "A"},  # 1 of 2 right, a tie
        i4: {"ann": "A"},  # 1 of 1 right, majority right
        free: {"ann": "A"},  # no answer to score against
        gold: {"ann": "C", "bob": "C"},  # a gold check: not in the humans' figures
    }
    for item, by_user in votes.items():
        for name, choice in by_user.items():
            add_value(item, u[name], {"choice": choice})
    run_of(
        project,
        "clip",
        [
            (i1, {"choice": "A"}),  # right
            (i2, {"choice": "B"}),  # wrong
            (i3, {"choice": "B"}),  # right
            (i4, {"choice": "C"}),  # wrong
            (free, {"choice": "A"}),  # no answer
            (gold, {"choice": "B"}),  # right against the gold choice
        ],
    )
    return project


def test_humans_identification_accuracy_overall_and_per_negative_set(identification):
    paper = agreement_compute(project=identification).paper
    assert paper["mode"] == "identification"
    ident = paper["identification"]
    # Answers: 3 + 3 + 2 + 1 = 9, right: 2 + 1 + 1 + 1 = 5.
    assert (ident["n"], ident["n_correct"], ident["n_items"]) == (9, 5, 4)
    assert ident["accuracy"] == pytest.approx(5 / 9)
    assert ident["n_without_answer"] == 1
    assert ident["majority"] == {
        "accuracy": pytest.approx(2 / 3),
        "n": 3,
        "n_correct": 2,
        "n_ties": 1,
    }
    easy, hard = ident["by_negative_set"]
    assert easy == {
        "negative_set": "easy",
        "accuracy": pytest.approx(3 / 5),
        "n": 5,
        "n_correct": 3,
        "n_items": 2,
        "majority": {"accuracy": 1.0, "n": 1, "n_correct": 1, "n_ties": 1},
    }
    assert hard == {
        "negative_set": "hard_clip",
        "accuracy": 0.5,
        "n": 4,
        "n_correct": 2,
        "n_items": 2,
        "majority": {"accuracy": 0.5, "n": 2, "n_correct": 1, "n_ties": 0},
    }
    assert ident["reason"] is None


def test_model_identification_accuracy_overall_and_per_negative_set(identification):
    figures = agreement_compute(project=identification)
    (run,) = figures.models
    ident = run.metrics["identification"]
    # Scored: i1, i2, i3, i4 and the gold item; right: i1, i3, gold.
    assert (ident["n"], ident["n_correct"], ident["n_without_answer"]) == (5, 3, 1)
    assert ident["accuracy"] == pytest.approx(3 / 5)
    assert "majority" not in ident
    assert [
        (s["negative_set"], s["n"], s["n_correct"], s["accuracy"]) for s in ident["by_negative_set"]
    ] == [("easy", 3, 3, 1.0), ("hard_clip", 2, 0, 0.0)]
    # The JSON form keeps them.
    again = Figures.from_dict(figures.to_dict())
    assert again.models[0].metrics == run.metrics
    assert again.paper == figures.paper


def box(x, y, w, h):
    return {"x": x, "y": y, "w": w, "h": h}


def structure(*boxes):
    return {
        "visual_premises": [
            {"id": f"VP{n}", "text": f"premise {n}", "box": b} for n, b in enumerate(boxes, 1)
        ],
        "commonsense_premises": [],
        "reasoning_steps": [{"from": ["VP1"], "to": "C", "text": ""}],
        "conclusion": "Buy it.",
    }


def test_localization_hit_rate_and_mean_iou_against_the_reference():
    project, u = make_project("structure")
    reference = structure(box(0, 0, 10, 10), box(20, 20, 10, 10))
    item = Item.objects.create(
        project=project,
        external_id="ad-1",
        payload={"image": IMAGE, "conclusion": "Buy it.", "reference": reference},
    )
    bare = Item.objects.create(project=project, external_id="ad-2", payload={"image": IMAGE})
    # ann: a half-height box on VP1 (IoU 50/100 = 0.5, a hit); nothing on VP2 (IoU 0).
    add_value(item, u["ann"], structure(box(0, 0, 10, 5)))
    # bob: VP1 shifted by half its width (IoU 50/150 = 1/3, no hit); a box far from VP2.
    add_value(item, u["bob"], structure(box(5, 0, 10, 10), box(50, 50, 5, 5)))
    add_value(bare, u["ann"], structure(box(0, 0, 5, 5)))
    run_of(project, "grounder", [(item, reference), (bare, structure(box(1, 1, 1, 1)))])
    figures = agreement_compute(project=project)
    loc = figures.paper["localization"]
    assert figures.paper["mode"] == "structure"
    assert (loc["n_annotations"], loc["n_items"], loc["n_without_reference"]) == (2, 1, 1)
    assert (loc["n_reference_boxes"], loc["n_boxes"], loc["n_hits"]) == (4, 3, 1)
    assert loc["hit_rate"] == pytest.approx(1 / 4)
    assert loc["precision"] == pytest.approx(1 / 3)
    assert loc["mean_iou"] == pytest.approx((0.5 + 0 + 1 / 3 + 0) / 4)
    assert loc["mean_iou_hits"] == pytest.approx(0.5)
    assert loc["threshold"] == 0.5
    (run,) = figures.models
    model = run.metrics["localization"]
    assert (model["hit_rate"], model["mean_iou"], model["n_hits"]) == (1.0, 1.0, 2)
    assert model["n_without_reference"] == 1
    assert "identification" not in run.metrics


def test_no_annotations_no_paper_figures():
    project, _u = make_project("identification")
    ident_item(project, "x", answer="A", negative_set="easy")
    assert agreement_compute(project=project).paper == {}


def test_structure_project_without_references_says_why():
    project, u = make_project("structure")
    item = Item.objects.create(project=project, external_id="a", payload={"image": IMAGE})
    add_value(item, u["ann"], structure(box(0, 0, 5, 5)))
    loc = agreement_compute(project=project).paper["localization"]
    assert loc["hit_rate"] is None and loc["mean_iou"] is None
    assert loc["reasons"]["hit_rate"] == "no annotated item has a reference structure"


def test_paper_figures_in_the_report_and_on_the_dashboard(identification, api, client):
    lead = identification.created_by
    url = reverse("api-report", args=[identification.pk])
    tables = {t["key"]: t for t in api(lead).get(url).json()["tables"]}
    table = tables["identification"]
    rows = {row[0]: dict(zip(table["columns"], row, strict=True)) for row in table["rows"]}
    humans = rows["Humans (every answer)"]
    assert humans["easy"] == pytest.approx(3 / 5)  # the humans' accuracy on the easy set
    assert humans["All"] == pytest.approx(5 / 9)
    assert rows["clip"]["hard_clip"] == 0
    majority = rows["Humans (majority answer)"]  # i1 A right, i2 B wrong; easy: one, one tie
    assert (majority["easy"], majority["hard_clip"]) == (1.0, 0.5)
    assert majority["All"] == pytest.approx(2 / 3)
    client.force_login(lead)
    page = client.get(reverse("analysis-dashboard", args=[identification.pk])).content.decode()
    assert "Premise identification accuracy per negative set" in page
    assert "0.6000" in page

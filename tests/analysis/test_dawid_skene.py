"""Dawid-Skene in the product: ``Figures.dawid_skene`` per nominal field (the agreement API, its
CSV tables, the dashboard) and the items export's columns, checked against crowd-kit's
``DawidSkene`` (an independent implementation) fitted on the same labels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse

from analysis.figures import agreement_compute
from annotate import exporting
from annotate.models import Item, Membership
from tests.analysis.conftest import add_value
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

LABELS = ("A", "B", "C")
RELIABILITY = {"ann": 0.9, "bob": 0.8, "cat": 0.7, "dan": 0.5}
N_ITEMS = 40


def votes(seed=7):
    """item -> {annotator: label}: each annotator right with their reliability, else a random
    other label; each labels an item with probability 0.8 (at least one label per item)."""
    rng = np.random.default_rng(seed)
    out = {}
    for n in range(N_ITEMS):
        truth = LABELS[n % 3]
        row = {}
        for name, p in RELIABILITY.items():
            if rng.random() < 0.8 or (not row and name == "dan"):
                wrong = [x for x in LABELS if x != truth]
                row[name] = truth if rng.random() < p else wrong[rng.integers(2)]
        out[n] = row
    return out


@pytest.fixture
def labelled():
    lead = UserFactory(username="ds-lead")
    project = ProjectFactory(
        created_by=lead, task_type="visual_argument", config={"mode": "identification"}
    )
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    users = {}
    for name in RELIABILITY:
        users[name] = UserFactory(username=name)
        MembershipFactory(project=project, user=users[name], role=Membership.Role.ANNOTATOR)
    payload = {
        "image": {"path": "item-images/ab/x.png", "width": 10, "height": 10},
        "premise_options": [{"id": x, "text": x} for x in LABELS],
    }
    items = {}
    data = votes()
    for n, row in data.items():
        items[n] = Item.objects.create(project=project, external_id=f"i{n}", payload=payload)
        for name, label in row.items():
            add_value(items[n], users[name], {"choice": label})
    # A gold item: left out of Dawid-Skene, as of agreement.
    gold = Item.objects.create(
        project=project,
        external_id="gold",
        payload=payload,
        is_gold=True,
        gold_value={"choice": "A"},
    )
    add_value(gold, users["dan"], {"choice": "C"})
    frame = pd.DataFrame(
        [(f"i{n}", name, label) for n, row in data.items() for name, label in row.items()],
        columns=["task", "worker", "label"],
    )
    return project, frame, users


def crowd_kit(frame, iterations):
    """crowd-kit's fit after as many EM steps as ours took (its stopping rule differs: it stops on
    the evidence lower bound, ours on the likelihood), so the two must agree to rounding."""
    from crowdkit.aggregation import DawidSkene

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # crowd-kit's pandas deprecation warnings
        return DawidSkene(n_iter=iterations, tol=-np.inf).fit(frame)


def test_figures_match_crowd_kit(labelled):
    project, frame, _users = labelled
    (ds,) = agreement_compute(project=project).dawid_skene
    reference = crowd_kit(frame, ds.iterations)
    assert (ds.field, ds.n_items, ds.n_annotators) == ("choice", N_ITEMS, 4)
    assert ds.converged
    probas = reference.probas_[list(LABELS)]
    by_label = {x.label: x for x in ds.labels}
    assert list(by_label) == list(LABELS)
    for label in LABELS:
        assert by_label[label].prior == pytest.approx(reference.priors_[label], abs=1e-6)
        assert by_label[label].mean_posterior == pytest.approx(probas[label].mean(), abs=1e-6)
        assert by_label[label].n_map == int((reference.labels_ == label).sum())
    assert ds.mean_map_posterior == pytest.approx(probas.max(axis=1).mean(), abs=1e-6)
    errors = reference.errors_  # rows (worker, observed label), columns the true label
    for row in ds.annotators:
        expected = sum(
            reference.priors_[k] * errors.loc[(row.username, k), k]
            if (row.username, k) in errors.index
            else 0.0
            for k in LABELS
        )
        assert row.accuracy == pytest.approx(expected, abs=1e-6), row.username
        assert row.n_labels == int((frame.worker == row.username).sum())
    # The estimates order the annotators as their reliabilities do.
    ranked = sorted(ds.annotators, key=lambda a: -a.accuracy)
    assert [a.username for a in ranked] == ["ann", "bob", "cat", "dan"]
    # Majority: the items where the top count is shared, and where DS picks another label.
    counts = frame.groupby(["task", "label"]).size().unstack(fill_value=0)
    top = counts.max(axis=1)
    ties = counts.eq(top, axis=0).sum(axis=1) > 1
    assert ds.n_majority_ties == int(ties.sum())
    majority = counts.idxmax(axis=1)[~ties]
    assert ds.n_differs_from_majority == int((majority != reference.labels_[majority.index]).sum())


def test_items_export_carries_the_map_label_and_its_posterior(labelled):
    project, frame, users = labelled
    rows = {row["external_id"]: row for row in exporting.item_rows(project)}
    (ds,) = agreement_compute(project=project).dawid_skene
    reference = crowd_kit(frame, ds.iterations)
    for task, label in reference.labels_.items():
        assert rows[task]["dawid_skene_label"] == label
        assert rows[task]["dawid_skene_posterior"] == pytest.approx(
            reference.probas_.loc[task].max(), abs=1e-6
        )
    assert rows["gold"]["dawid_skene_label"] is None
    assert rows["gold"]["dawid_skene_posterior"] is None
    # A new annotation is taken into account by the next export (the cache follows the data).
    extra = Item.objects.create(
        project=project, external_id="late", payload={"premise_options": []}
    )
    add_value(extra, users["ann"], {"choice": "B"})
    rows = {row["external_id"]: row for row in exporting.item_rows(project)}
    assert rows["late"]["dawid_skene_label"] == "B"


def test_no_nominal_field_no_columns_and_no_figures(lead):
    project = ProjectFactory(created_by=lead, task_type="visual_argument")  # structure mode
    user = UserFactory(username="solo")
    item = Item.objects.create(
        project=project,
        external_id="s",
        payload={"image": {"path": "item-images/ab/x.png", "width": 10, "height": 10}},
    )
    add_value(item, user, {"visual_premises": []})
    (row,) = exporting.item_rows(project)
    assert "dawid_skene_label" not in row
    figures = agreement_compute(project=project)
    assert figures.dawid_skene == []
    assert "dawid_skene" not in figures.to_dict()


def test_agreement_api_csv_and_dashboard_show_it(labelled, api, client):
    project, _frame, _users = labelled
    lead = project.created_by
    url = reverse("api-agreement", args=[project.pk])
    body = api(lead).get(url).json()
    (ds,) = body["dawid_skene"]
    assert ds["field"] == "choice"
    assert [x["label"] for x in ds["labels"]] == list(LABELS)
    assert {a["username"] for a in ds["annotators"]} == set(RELIABILITY)
    labels_csv = api(lead).get(url + "?format=csv&table=dawid_skene_labels").content.decode()
    assert labels_csv.splitlines()[0] == "field,label,prior,mean_posterior,n_map,n_items,converged"
    assert len(labels_csv.splitlines()) == 4
    people = api(lead).get(url + "?format=csv&table=dawid_skene_annotators").content.decode()
    assert people.splitlines()[0] == "field,username,n_labels,accuracy"
    assert people.splitlines()[1].startswith("choice,ann,")
    client.force_login(lead)
    page = client.get(reverse("analysis-dashboard", args=[project.pk])).content.decode()
    assert 'id="dawid-skene"' in page
    assert 'data-ds-annotators="choice"' in page

"""Derailment tones per comment (SPEC 2.2): each comment a unit, each annotator's tones on it a
set; per-tone alpha over presence / absence and whole-set alpha with the MASI distance, checked
against the `krippendorff` package (MASI from NLTK) on the same units."""

import csv
import io
import math

import krippendorff
import numpy as np
import pytest
from django.urls import reverse
from nltk.metrics.distance import masi_distance as nltk_masi

from analysis.figures import agreement_compute
from annotate.models import Item, Membership
from annotate.tasktypes import get_task_type

from ..factories import MembershipFactory, ProjectFactory, UserFactory
from ..typedata import thread_record
from .conftest import add_value

pytestmark = pytest.mark.django_db
TONES = ["Irony", "Mocking", "Impatience"]
NAMES = ("ann", "bob", "cat")

# Tones per thread, per annotator, per comment id (comments not named: no tone). A missing
# annotator did not label the thread; thread 2 has one annotator, so its comments are not pairable.
VOTES = {
    0: {
        "ann": {"t0c0": ["Irony"], "t0c1": ["Mocking", "Irony"]},
        "bob": {"t0c0": ["Irony"], "t0c1": ["Mocking"]},
        "cat": {"t0c1": ["Mocking"], "t0c2": ["Impatience"]},
    },
    1: {"ann": {}, "bob": {"t1c2": ["Impatience"]}},
    2: {"ann": {"t2c0": ["Irony"]}},
}


@pytest.fixture
def tone_project():
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, task_type="derailment", config={"tones": TONES})
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    users = {}
    for name in NAMES:
        users[name] = UserFactory(username=name)
        MembershipFactory(project=project, user=users[name], role=Membership.Role.ANNOTATOR)
    plugin = get_task_type("derailment")
    for n, by_user in VOTES.items():
        record = thread_record(n, n_comments=3)
        external_id = record.pop("external_id")
        item = Item.objects.create(
            project=project, external_id=external_id, payload=plugin.validate_item(record)
        )
        for name, tones in by_user.items():
            add_value(
                item,
                users[name],
                {"toxic": False, "toxic_comment": None, "derailment_comment": None, "tones": tones},
            )
    return lead, project


def expected_units():
    """Coders x comments of the pairable threads (0 and 1): the tone set or None."""
    columns = []
    for n in (0, 1):
        for c in range(3):
            comment = f"t{n}c{c}"
            columns.append(
                [
                    frozenset(VOTES[n][name].get(comment, [])) if name in VOTES[n] else None
                    for name in NAMES
                ]
            )
    return columns


def figures(data):
    field = next(f for f in data["set_fields"] if f["name"] == "tones")
    return {f["name"]: f for f in field["figures"]}


def test_each_tone_gets_nominal_alpha_over_presence_per_comment(tone_project):
    _lead, project = tone_project
    got = figures(agreement_compute(project=project).to_dict())
    columns = expected_units()
    for tone in TONES:
        data = [
            [np.nan if col[c] is None else float(tone in col[c]) for col in columns]
            for c in range(3)
        ]
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert got[f"alpha:{tone}"]["value"] == pytest.approx(expected, abs=1e-9), tone
    data = [
        [np.nan if col[c] is None else float(bool(col[c])) for col in columns] for c in range(3)
    ]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert got["any_alpha"]["value"] == pytest.approx(expected, abs=1e-9)
    assert got["n_units"]["value"] == 6


def test_whole_tone_sets_get_alpha_with_the_masi_distance(tone_project):
    _lead, project = tone_project
    got = figures(agreement_compute(project=project).to_dict())
    columns = expected_units()
    sets = sorted({s for col in columns for s in col if s is not None}, key=sorted)
    code = {s: i for i, s in enumerate(sets)}
    data = [[np.nan if col[c] is None else code[col[c]] for col in columns] for c in range(3)]
    distance = np.array(
        [[0.0 if a == b else nltk_masi(set(a), set(b)) for b in sets] for a in sets]
    )

    def metric(v1, v2, i1, i2, n_v, dtype):
        return distance[v1.astype(int), v2.astype(int)].astype(dtype)

    expected = krippendorff.alpha(
        reliability_data=data, level_of_measurement=metric, value_domain=np.arange(len(sets))
    )
    assert got["masi_alpha"]["value"] == pytest.approx(expected, abs=1e-9)
    # Identical sets over annotator pairs: thread 0 c0 ann-bob, c1 bob-cat, c2 ann-bob (of 3
    # pairs each); thread 1 c0 and c1 but not c2 (of 1 pair each) -> 5 of 12.
    assert got["exact_agreement"]["value"] == pytest.approx(5 / 12)


def test_an_unused_tone_says_why_it_has_no_alpha(tone_project):
    lead, project = tone_project
    Item.objects.filter(project=project).delete()
    plugin = get_task_type("derailment")
    record = thread_record(9, n_comments=2)
    record.pop("external_id")
    item = Item.objects.create(
        project=project, external_id="t9", payload=plugin.validate_item(record)
    )
    users = list(project.memberships.filter(role="annotator").order_by("user__username"))
    for membership, tones in zip(users, ({"t9c0": ["Irony"]}, {}), strict=False):
        add_value(
            item,
            membership.user,
            {"toxic": False, "toxic_comment": None, "derailment_comment": None, "tones": tones},
        )
    got = figures(agreement_compute(project=project).to_dict())
    assert got["alpha:Mocking"]["value"] is None
    assert got["alpha:Mocking"]["reason"].startswith("no variation")
    assert not math.isnan(got["alpha:Irony"]["value"])


def test_tone_figures_are_in_the_csv_and_on_the_dashboard(tone_project, api, client):
    lead, project = tone_project
    response = api(lead).get(reverse("api-agreement", args=[project.pk]) + "?format=csv&table=sets")
    rows = {row["figure"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["alpha:Irony"]["field"] == "tones"
    assert rows["alpha:Irony"]["label"] == "Irony: alpha (present / absent)"
    assert float(rows["exact_agreement"]["value"]) == pytest.approx(5 / 12, abs=1e-6)
    client.force_login(lead)
    page = client.get(reverse("analysis-dashboard", args=[project.pk])).content.decode()
    assert 'data-set-field="tones"' in page
    assert "Tones per comment: alpha with the MASI set distance" in page

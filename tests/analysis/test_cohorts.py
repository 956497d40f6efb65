"""Agreement per cohort (``Membership.cohort``): alpha among each cohort's annotators alone,
against the krippendorff package on the cohort's own columns of the table."""

import math

import krippendorff
import pytest
from django.urls import reverse

from analysis.figures import agreement_compute
from annotate.models import Membership

from ..factories import MembershipFactory, UserFactory
from .conftest import add_vote, make_item
from .test_agreement import VOTES

pytestmark = pytest.mark.django_db

NAN = math.nan
# Rows: items; columns: c1, c2, c3 (crowd), e1, e2 (expert), solo (no cohort).
TABLE = [
    [-2, -1, 1, -2, -2, 0],
    [1, 2, 1, 1, 2, 1],
    [0, 1, -1, 0, 0, None],
    [2, None, 2, 1, None, 2],
    [-1, 1, None, None, -1, -1],
    [0, 0, 0, -1, 1, 0],
]
COHORTS = ["crowd", "crowd", "crowd", "expert", "expert", ""]


def expected_alpha(columns, level, recode=lambda v: v):
    data = [[NAN if row[c] is None else recode(row[c]) for row in TABLE] for c in columns]
    return krippendorff.alpha(reliability_data=data, level_of_measurement=level)


@pytest.fixture
def cohort_project(voted_project):
    project = voted_project["project"]
    users = []
    for n, cohort in enumerate(COHORTS):
        user = UserFactory(username=f"{cohort or 'solo'}{n}")
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR, cohort=cohort)
        users.append(user)
    for n, row in enumerate(TABLE):
        item = make_item(project, n)
        for user, vote in zip(users, row, strict=True):
            if vote is not None:
                add_vote(item, user, vote)
    return voted_project


def test_agreement_per_cohort_matches_the_krippendorff_package(cohort_project, api):
    project = cohort_project["project"]
    figures = agreement_compute(project=project)
    assert [c.cohort for c in figures.cohorts] == ["crowd", "expert"]  # "solo" has none
    crowd, expert = figures.cohorts
    assert (crowd.n_annotators, expert.n_annotators) == (3, 2)
    assert (crowd.n_annotations, expert.n_annotations) == (16, 10)

    def side(v):
        return (v > 0) - (v < 0)

    for cohort, columns in ((crowd, [0, 1, 2]), (expert, [3, 4])):
        fields = {f.name: f for f in cohort.fields}
        assert fields["preference"].alpha == pytest.approx(
            expected_alpha(columns, "ordinal"), abs=1e-9
        )
        assert fields["side"].alpha == pytest.approx(
            expected_alpha(columns, "nominal", side), abs=1e-9
        )
    # Units: items with at least two of the cohort's labels.
    assert {f.name: f.n_units for f in expert.fields}["preference"] == 4
    assert {f.name: f.n_units for f in crowd.fields}["preference"] == 6
    body = api(cohort_project["lead"]).get(reverse("api-agreement", args=[project.pk])).json()
    assert [c["cohort"] for c in body["cohorts"]] == ["crowd", "expert"]
    assert body["cohorts"][1]["fields"][0].keys() >= {"name", "alpha", "n_units", "reason"}


def test_projects_without_cohorts_have_no_cohort_figures(voted_project, api):
    voted_project["votes"](VOTES)
    project = voted_project["project"]
    assert agreement_compute(project=project).cohorts == []
    body = api(voted_project["lead"]).get(reverse("api-agreement", args=[project.pk])).json()
    assert "cohorts" not in body


def test_the_dashboard_and_csv_show_the_cohorts(cohort_project, api, client):
    project, lead = cohort_project["project"], cohort_project["lead"]
    client.force_login(lead)
    page = client.get(reverse("analysis-dashboard", args=[project.pk])).content.decode()
    assert 'id="cohorts"' in page and 'data-cohort="expert"' in page
    url = reverse("api-agreement", args=[project.pk]) + "?format=csv&table=cohorts"
    lines = api(lead).get(url).content.decode().splitlines()
    assert lines[0] == "cohort,n_annotators,n_annotations,field,alpha,n_units,reason"
    assert sum(1 for line in lines if line.startswith("expert,")) == 3  # one per field

"""The crowd lead page's "agreement with consensus" column, filled from the analysis's cached
figures (each annotator's agreement with the majority of the others, on the primary field)."""

import re

import pytest
from django.test import Client

from analysis import selectors, snapshots
from annotate.models import Membership

pytestmark = pytest.mark.django_db

# Preference votes of ann, bob, cat; the primary field is the side (A < 0, tie, B > 0).
VOTES = [[-2, -1, 2], [1, 2, 1], [0, 1, 1], [-1, -1, -1]]
# Leave-one-out by hand (the others' majority; a tie among the others is not compared):
# ann: item 0 others A/B tie; 1 B=B; 2 B,B vs tie: no; 3 A=A -> 2/3.
# bob: item 0 tie; 1 yes; 2 others tie/B tie; 3 yes -> 2/2.
# cat: item 0 others A,A vs B: no; 1 yes; 2 tie; 3 yes -> 2/3.
EXPECTED = {"ann": "0.67", "bob": "1.00", "cat": "0.67"}


def cell(page: str, membership: Membership) -> str:
    row = re.search(rf'<tr id="annotator-{membership.pk}".*?</tr>', page, re.S)
    assert row is not None
    match = re.search(r'title="Computed by the analysis app">([^<]*)</td>', row.group(0))
    assert match is not None
    return match.group(1).strip()


def test_crowd_page_shows_agreement_with_consensus_once_the_analysis_has_run(voted_project):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    client = Client()
    client.force_login(voted_project["lead"])
    memberships = {
        m.user.username: m for m in Membership.objects.filter(project=project, role="annotator")
    }
    page = client.get(f"/p/{project.pk}/crowd/").content.decode()
    assert {name: cell(page, m) for name, m in memberships.items()} == {
        "ann": "—",
        "bob": "—",
        "cat": "—",
    }

    snapshots.analysis_refresh(project_id=project.pk)
    page = client.get(f"/p/{project.pk}/crowd/").content.decode()
    assert {name: cell(page, m) for name, m in memberships.items()} == EXPECTED

    # The row an htmx pause answers with carries the figure too.
    row = client.post(
        f"/p/{project.pk}/crowd/annotators/{memberships['cat'].pk}/pause/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert cell(row, memberships["cat"]) == "0.67"


def test_consensus_selector_reads_the_snapshot_and_is_empty_without_one(voted_project):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    assert selectors.consensus_agreement_by_annotator(project=project) == {}
    snapshots.analysis_refresh(project_id=project.pk)
    by_user = selectors.consensus_agreement_by_annotator(project=project)
    ids = {u.username: u.pk for u in voted_project["annotators"]}
    assert by_user[ids["ann"]] == pytest.approx(2 / 3)
    assert by_user[ids["bob"]] == pytest.approx(1.0)
    assert by_user[ids["cat"]] == pytest.approx(2 / 3)

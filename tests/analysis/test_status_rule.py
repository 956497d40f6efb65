"""One status rule for exports, analysis and API: an item needs at least two counted votes for an
agreement status (``TaskType.item_status``); under that, every one of them says ``None``."""

import pytest
from django.urls import reverse

from analysis.figures import agreement_compute
from analysis.figures.divergence import MIN_VOTES_FOR_STATUS
from annotate import exporting
from annotate.tasktypes import task_types

from .test_agreement import VOTES

pytestmark = pytest.mark.django_db

# VOTES plus two single votes: a tie (8) and a "much better" (9), which alone would read as
# high_agreement_tie and high_agreement_preference.
TABLE = [*VOTES, [0, None, None], [None, -2, None]]
SINGLE = {"pair-7", "pair-8", "pair-9"}


def test_every_task_type_gives_no_status_to_a_single_label():
    assert MIN_VOTES_FOR_STATUS == 2
    for plugin in task_types():
        assert plugin.item_status([]) is None, plugin.name
        assert plugin.item_status(["anything"]) is None, plugin.name


def test_exports_analysis_and_api_agree_on_every_items_status(voted_project, api):
    project, lead = voted_project["project"], voted_project["lead"]
    items = voted_project["votes"](TABLE)
    external = {item.pk: item.external_id for item in items}
    # Analysis: the figures' statuses.
    divergence = agreement_compute(project=project).divergence
    assert divergence is not None
    analysed = {external[i]: s for i, s in divergence.status_of().items()}
    assert SINGLE.isdisjoint(analysed) and len(analysed) == 7
    assert divergence.n_too_few_votes == 3
    # Exports: the items shape.
    exported = {
        row["external_id"]: row["agreement_status"]
        for row in exporting.item_rows(project, identities=False)
    }
    assert {k: v for k, v in exported.items() if v is not None} == analysed
    assert all(exported[k] is None for k in SINGLE)
    # API: every item with its status, null under two votes.
    body = api(lead).get(reverse("api-divergence", args=[project.pk])).json()
    listed = {row["external_id"]: row["status"] for row in body["items"]}
    assert listed == exported


def test_training_pairs_keep_single_vote_items_without_calling_them_agreed(voted_project):
    project = voted_project["project"]
    voted_project["votes"](TABLE)

    def pairs(diverging):
        rows = exporting.export_rows(
            project, shape="preference_pairs", options={"diverging": diverging}
        )
        return {row["external_id"]: row["agreement_status"] for row in rows}

    dropped = pairs("drop")
    # pair-8 is a single tie: no winner, no pair. The single votes for a side stay, status-less.
    assert dropped["pair-7"] is None and dropped["pair-9"] is None
    assert "pair-8" not in dropped
    assert "diverging" not in dropped.values() and "diverging_significant" not in dropped.values()
    # Item 5 diverges too, but its mean vote is a tie: no pair.
    assert pairs("only") == {"pair-1": "diverging_significant"}

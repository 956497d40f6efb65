"""``/divergence/`` lists every item (paged) with its status, votes, tag and suggestions with their
evidence, filterable by status; an item's tag is read and written over REST by leads only."""

import pytest
from django.urls import reverse

from analysis import taxonomy
from analysis.models import DivergenceTag, TaxonomyCategory
from annotate.models import Item, Membership

from ..factories import MembershipFactory, ProjectFactory, UserFactory
from .test_agreement import VOTES

pytestmark = pytest.mark.django_db

LONG_B = "A longer answer, with many more words in it than the other one. " * 8
STATUSES = [
    "high_agreement_preference",
    "diverging_significant",
    "high_agreement_tie",
    "high_agreement_tie",
    "high_agreement_preference",
    "diverging",
    "mixed",
    None,
]


@pytest.fixture
def voted(voted_project):
    items = voted_project["votes"](VOTES, {1: {"response_b": LONG_B}})
    return {**voted_project, "items": items}


def divergence(api, voted, query=""):
    url = reverse("api-divergence", args=[voted["project"].pk]) + query
    return api(voted["lead"]).get(url)


def test_every_item_with_its_status_votes_and_suggestions(voted, api):
    body = divergence(api, voted).json()
    items = voted["items"]
    assert [row["item_id"] for row in body["items"]] == [item.pk for item in items]
    assert [row["status"] for row in body["items"]] == STATUSES
    assert body["n_too_few_votes"] == 1 and body["n_with_status"] == 7
    assert body["next"] is None and body["previous"] is None
    row = body["items"][1]
    assert row["votes"] == [1, 2, -1] and row["external_id"] == "pair-1"
    assert row["categories"] == [] and row["category_ids"] == [] and row["tagged_by"] is None
    [suggestion] = row["suggestions"]
    assert suggestion["category"] == "Verbosity" and suggestion["signal"] == "length ratio"
    assert suggestion["evidence"].startswith("B is ") and "characters" in suggestion["evidence"]
    assert body["items"][0]["suggestions"] == []
    assert body["items"][7]["votes"] == [1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?status=diverging", [5]),
        ("?status=diverging,diverging_significant", [1, 5]),
        ("?status=diverging&status=mixed", [5, 6]),
        ("?status=none", [7]),
        ("?status=none,high_agreement_tie", [2, 3, 7]),
        ("?status=", list(range(8))),
    ],
)
def test_the_items_filter_by_status(voted, api, query, expected):
    body = divergence(api, voted, query).json()
    assert [row["item_id"] for row in body["items"]] == [voted["items"][n].pk for n in expected]


def test_an_unknown_status_is_a_400_naming_it(voted, api):
    response = divergence(api, voted, "?status=diverging,nope")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"
    assert "nope" in response.json()["errors"][0]["message"]


def test_items_come_in_pages(voted, api):
    seen = []
    response = divergence(api, voted, "?page_size=3")
    pages = 0
    while True:
        body = response.json()
        pages += 1
        seen += [row["item_id"] for row in body["items"]]
        assert body["status_counts"]["diverging"] == 1  # the summary on every page
        if not body["next"]:
            break
        response = api(voted["lead"]).get(body["next"])
    assert pages == 3 and seen == [item.pk for item in voted["items"]]
    assert divergence(api, voted, "?page_size=0").status_code == 400


def test_gold_items_are_not_listed(voted, api):
    gold = Item.objects.create(
        project=voted["project"], external_id="gold", payload=voted["items"][0].payload
    )
    Item.objects.filter(pk=gold.pk).update(is_gold=True, gold_value={"preference": 1})
    body = divergence(api, voted, "?status=none").json()
    assert [row["item_id"] for row in body["items"]] == [voted["items"][7].pk]


def tag_url(project, item):
    return reverse("api-divergence-tag", args=[project.pk, item.pk])


def test_leads_read_write_and_delete_an_items_tag(voted, api):
    project, lead, item = voted["project"], voted["lead"], voted["items"][1]
    client = api(lead)
    empty = client.get(tag_url(project, item)).json()
    assert empty == {
        "item_id": item.pk,
        "tagged": False,
        "categories": [],
        "note": "",
        "tagged_by": None,
        "tagged_at": None,
    }
    # Names (seeding the default taxonomy on first use) or ids.
    response = client.put(
        tag_url(project, item),
        {"categories": ["Verbosity", "refusals / comply vs. refuse"], "note": "long B"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["tagged"] is True and body["note"] == "long B" and body["tagged_by"] == "lead"
    assert {c["name"] for c in body["categories"]} == {"Verbosity", "Comply vs. refuse"}
    format_id = taxonomy.taxonomy_categories(project=project)[2].pk
    body = client.put(tag_url(project, item), {"categories": [format_id]}, format="json").json()
    assert [c["id"] for c in body["categories"]] == [format_id] and body["note"] == ""
    assert client.get(tag_url(project, item)).json() == body
    listed = divergence(api, voted, "?status=diverging_significant").json()["items"][0]
    assert listed["category_ids"] == [format_id] and listed["tagged_by"] == "lead"
    assert client.delete(tag_url(project, item)).status_code == 204
    assert not DivergenceTag.objects.exists()
    assert client.delete(tag_url(project, item)).status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"categories": ["No such category"]}, "categories[0]"),
        ({"categories": [999999]}, "categories"),
        ({"categories": [True]}, "categories"),
        ({"note": "x"}, "categories"),
        ({"categories": [], "note": "x" * 5001}, "note"),
    ],
)
def test_a_bad_tag_is_a_400_naming_the_field_and_changes_nothing(voted, api, payload, field):
    project, item = voted["project"], voted["items"][1]
    response = api(voted["lead"]).put(tag_url(project, item), payload, format="json")
    assert response.status_code == 400
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()
    assert not DivergenceTag.objects.exists()
    assert not TaxonomyCategory.objects.filter(project=project).exists()  # not seeded either


def test_annotators_get_403_and_other_projects_404(voted, api):
    project, item = voted["project"], voted["items"][1]
    annotator = voted["annotators"][0]
    for method in ("get", "put", "delete"):
        response = getattr(api(annotator), method)(
            tag_url(project, item), {"categories": []}, format="json"
        )
        assert response.status_code == 403, method
    assert api(annotator).get(reverse("api-divergence", args=[project.pk])).status_code == 403
    other_lead = UserFactory(username="other-lead")
    other = ProjectFactory(created_by=other_lead)
    MembershipFactory(project=other, user=other_lead, role=Membership.Role.LEAD)
    # The other lead's own project, this project's item: 404; this project: 404 (not a member).
    other_item = reverse("api-divergence-tag", args=[other.pk, item.pk])
    assert api(other_lead).get(other_item).status_code == 404
    assert api(other_lead).put(other_item, {"categories": []}, format="json").status_code == 404
    assert api(other_lead).get(tag_url(project, item)).status_code == 404
    assert not DivergenceTag.objects.exists()

"""The taxonomy (seeded, edited), tagging (multi-label with a note), and the review pages."""

import pytest
from django.urls import reverse

from analysis import selectors, taxonomy
from analysis.figures import agreement_compute
from analysis.models import DivergenceTag, TaxonomyCategory
from core.errors import InvalidInput, NotFound

from .test_agreement import VOTES

pytestmark = pytest.mark.django_db

DEFAULT = [
    ("Task underspecification", "Task underspecification"),
    ("Response style", "Verbosity"),
    ("Response style", "Format"),
    ("Response style", "Complexity"),
    ("Response style", "Aesthetic taste"),
    ("Refusals", "Comply vs. refuse"),
    ("Refusals", "Refuse vs. refuse"),
    ("Annotation errors", "Hallucination or factual error"),
    ("Annotation errors", "Degenerate output"),
]


def test_the_taxonomy_is_seeded_once_with_the_papers_classes(voted_project):
    project = voted_project["project"]
    categories = taxonomy.taxonomy_ensure(project=project)
    assert [(c.group, c.name) for c in categories] == DEFAULT
    taxonomy.taxonomy_ensure(project=project)
    assert TaxonomyCategory.objects.filter(project=project).count() == len(DEFAULT)


def test_leads_add_rename_and_delete_categories(voted_project):
    project = voted_project["project"]
    added = taxonomy.taxonomy_category_add(
        project=project, group="Annotation errors", name="Misread the prompt"
    )
    assert added.order == len(DEFAULT) + 1
    with pytest.raises(InvalidInput):
        taxonomy.taxonomy_category_add(project=project, group="Refusals", name="Comply vs. refuse")
    with pytest.raises(InvalidInput):
        taxonomy.taxonomy_category_add(project=project, group=" ", name="x")
    renamed = taxonomy.taxonomy_category_update(
        project=project, category_id=added.pk, group="Annotation errors", name="Misreading"
    )
    assert renamed.name == "Misreading"
    taxonomy.taxonomy_category_delete(project=project, category_id=added.pk)
    assert not TaxonomyCategory.objects.filter(pk=added.pk).exists()
    with pytest.raises(NotFound):
        taxonomy.taxonomy_category_delete(project=project, category_id=added.pk)


def test_a_tag_has_several_categories_and_a_note_and_saving_again_replaces_them(voted_project):
    project, lead = voted_project["project"], voted_project["lead"]
    items = voted_project["votes"](VOTES)
    by_name = {c.name: c for c in taxonomy.taxonomy_ensure(project=project)}
    tag = taxonomy.divergence_tag_set(
        project=project,
        item_id=items[1].pk,
        tagged_by=lead,
        note="  B is much longer ",
        category_ids=[by_name["Verbosity"].pk, by_name["Format"].pk],
    )
    assert {c.name for c in tag.categories.all()} == {"Verbosity", "Format"}
    assert tag.note == "B is much longer" and tag.tagged_by == lead
    taxonomy.divergence_tag_set(
        project=project,
        item_id=items[1].pk,
        tagged_by=lead,
        note="",
        category_ids=[by_name["Comply vs. refuse"].pk],
    )
    tag = DivergenceTag.objects.get(item=items[1])
    assert [c.name for c in tag.categories.all()] == ["Comply vs. refuse"] and tag.note == ""
    assert DivergenceTag.objects.count() == 1


def test_tags_only_take_the_projects_own_categories_and_items(voted_project, make_annotator):
    project, lead = voted_project["project"], voted_project["lead"]
    items = voted_project["votes"](VOTES)
    taxonomy.taxonomy_ensure(project=project)
    other = TaxonomyCategory.objects.create(project=_other_project(), group="g", name="n")
    with pytest.raises(InvalidInput):
        taxonomy.divergence_tag_set(
            project=project, item_id=items[1].pk, tagged_by=lead, note="", category_ids=[other.pk]
        )
    with pytest.raises(NotFound):
        taxonomy.divergence_tag_set(
            project=project, item_id=10**9, tagged_by=lead, note="", category_ids=[]
        )


def _other_project():
    from ..factories import ProjectFactory

    return ProjectFactory()


def test_the_distribution_counts_tagged_items_per_category(voted_project):
    project, lead = voted_project["project"], voted_project["lead"]
    items = voted_project["votes"](VOTES)
    by_name = {c.name: c for c in taxonomy.taxonomy_ensure(project=project)}
    taxonomy.divergence_tag_set(
        project=project,
        item_id=items[1].pk,
        tagged_by=lead,
        note="",
        category_ids=[by_name["Verbosity"].pk, by_name["Format"].pk],
    )
    taxonomy.divergence_tag_set(
        project=project,
        item_id=items[5].pk,
        tagged_by=lead,
        note="",
        category_ids=[by_name["Verbosity"].pk],
    )
    data = agreement_compute(project=project)
    report = selectors.divergence_report(project=project, figures=data).to_dict()
    counts = {row["name"]: row["n_items"] for row in report["taxonomy"]}
    assert counts["Verbosity"] == 2 and counts["Format"] == 1 and counts["Complexity"] == 0
    assert report["n_diverging"] == 2 and report["n_diverging_tagged"] == 2
    rows = {row["item_id"]: row for row in report["items"]}
    assert rows[items[1].pk]["votes"] == [1, 2, -1]
    assert rows[items[1].pk]["categories"] == [
        "Response style / Verbosity",
        "Response style / Format",
    ]


def test_the_review_page_shows_suggestions_and_saves_tags_then_the_next_item(voted_project, client):
    project, lead = voted_project["project"], voted_project["lead"]
    long_b = "A longer answer, with many more words in it than the other one. " * 8
    items = voted_project["votes"](VOTES, {1: {"response_b": long_b}})
    client.force_login(lead)
    url = reverse("analysis-review", args=[project.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert items[1].external_id in html and "length ratio" in html and "B is" in html
    assert not DivergenceTag.objects.exists()  # suggestions are never stored by themselves
    by_name = {c.name: c for c in TaxonomyCategory.objects.filter(project=project)}
    response = client.post(
        reverse("analysis-review-tag", args=[project.pk, items[1].pk]),
        {
            "categories": [by_name["Verbosity"].pk, by_name["Aesthetic taste"].pk],
            "note": "long B",
            "show": "untagged",
            "next": items[5].pk,
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert items[5].external_id in response.content.decode()
    tag = DivergenceTag.objects.get(item=items[1])
    assert {c.name for c in tag.categories.all()} == {"Verbosity", "Aesthetic taste"}


def test_the_taxonomy_page_edits_categories(voted_project, client):
    project = voted_project["project"]
    client.force_login(voted_project["lead"])
    url = reverse("analysis-taxonomy", args=[project.pk])
    assert "Aesthetic taste" in client.get(url).content.decode()
    client.post(url, {"action": "add", "group": "Other", "name": "Ambiguous prompt"})
    category = TaxonomyCategory.objects.get(project=project, name="Ambiguous prompt")
    client.post(
        url, {"action": "update", "id": category.pk, "group": "Other", "name": "Unclear prompt"}
    )
    category.refresh_from_db()
    assert category.name == "Unclear prompt"
    client.post(url, {"action": "delete", "id": category.pk})
    assert not TaxonomyCategory.objects.filter(pk=category.pk).exists()

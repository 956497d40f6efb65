"""The lead's pages (issue 10, point 7): preview, API token, progress on the home page."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate import services
from annotate.models import Annotation, Assignment, Item, Membership
from annotate.tasktypes import get_task_type
from tests.factories import MembershipFactory, UserFactory
from tests.typedata import thread_record, tom_record


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_preview_shows_an_item_and_reserves_nothing(project, lead, import_pairs):
    import_pairs(3)
    client = logged_in(lead)
    html = client.get(f"/p/{project.pk}/preview/").content.decode()
    assert 'id="preview-banner"' in html
    assert "Item 1 of 3" in html
    assert 'name="preference"' in html
    second = client.get(f"/p/{project.pk}/preview/?n=2").content.decode()
    assert "Item 2 of 3" in second
    assert Assignment.objects.count() == 0


def test_preview_checks_an_answer_without_storing_it(project, lead, import_pairs):
    import_pairs(1)
    client = logged_in(lead)
    ok = client.post(f"/p/{project.pk}/preview/?n=1", {"preference": "1"}).content.decode()
    assert "would be accepted" in ok
    bad = client.post(f"/p/{project.pk}/preview/?n=1", {}).content.decode()
    assert 'data-field="value.preference"' in bad
    assert Annotation.objects.count() == 0 and Assignment.objects.count() == 0


def test_preview_is_for_leads_only(project, make_annotator, import_pairs):
    import_pairs(1)
    annotator = make_annotator("ann")
    assert logged_in(annotator).get(f"/p/{project.pk}/preview/").status_code == 403
    stranger = UserFactory(username="stranger")
    assert logged_in(stranger).get(f"/p/{project.pk}/preview/").status_code == 404


def test_token_page_creates_shows_once_and_revokes(db):
    user = UserFactory(username="scripted")
    client = logged_in(user)
    assert "You have no token." in client.get("/account/token/").content.decode()

    created = client.post("/account/token/new/").content.decode()
    key = Token.objects.get(user=user).key
    assert key in created
    assert key not in client.get("/account/token/").content.decode()  # shown once

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/projects/").status_code == 200

    client.post("/account/token/revoke/")
    assert not Token.objects.filter(user=user).exists()
    assert api.get("/api/v1/projects/").status_code == 401


def test_a_new_token_replaces_the_old_one(db):
    user = UserFactory(username="scripted")
    client = logged_in(user)
    client.post("/account/token/new/")
    old = Token.objects.get(user=user).key
    client.post("/account/token/new/")
    assert Token.objects.get(user=user).key != old


def test_home_page_shows_each_led_projects_progress(project, lead, import_pairs):
    import_pairs(2)
    annotators = []
    for name in ("a1", "a2", "a3"):
        user = UserFactory(username=name)
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        annotators.append(user)
    for user in annotators:
        assignment = services.assignment_reserve_next(project=project, annotator=user)
        services.annotation_submit(
            assignment_id=assignment.pk, annotator=user, value={"preference": 1}
        )
    html = logged_in(lead).get("/").content.decode()
    assert f'data-project="{project.pk}">1 of 2 items done · 3 annotations' in html


@pytest.mark.parametrize("n", ["0", "99", "x"])
def test_preview_out_of_range_shows_the_first_item(project, lead, import_pairs, n):
    import_pairs(2)
    html = logged_in(lead).get(f"/p/{project.pk}/preview/?n={n}").content.decode()
    assert "Item 1 of 2" in html


# --- gold answers in the annotator's terms


def test_lead_makes_a_gold_answer_with_the_annotators_controls(project, lead, import_pairs):
    import_pairs(2)
    client = logged_in(lead)
    response = client.post(f"/p/{project.pk}/preview/?n=1", {"preference": "-2", "as_gold": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"/p/{project.pk}/crowd/"
    item = Item.objects.get(is_gold=True)
    # the preview may show B on the left; the stored gold answer is the canonical one
    assert abs(item.gold_value["preference"]) == 2
    assert not item.is_qualification
    assert Annotation.objects.count() == 0


def test_an_incomplete_gold_answer_is_refused_in_words(project, lead, import_pairs):
    import_pairs(1)
    response = logged_in(lead).post(f"/p/{project.pk}/preview/?n=1", {"as_gold": "1"})
    assert response.status_code == 400
    assert 'data-field="value.preference"' in response.content.decode()
    assert not Item.objects.filter(is_gold=True).exists()


def test_crowd_lead_page_links_to_gold_answers_in_the_annotators_view(project, lead):
    html = logged_in(lead).get(f"/p/{project.pk}/crowd/").content.decode()
    assert f'href="/p/{project.pk}/preview/"' in html


PREVIEW_PAYLOADS = {
    "derailment": {k: v for k, v in thread_record(1).items() if k != "external_id"},
    "tom": {k: v for k, v in tom_record(1).items() if k != "external_id"},
    "visual_argument": {
        "image": {"path": "item-images/x/y.png", "width": 200, "height": 100},
    },
}


@pytest.mark.parametrize("task_type", sorted(PREVIEW_PAYLOADS))
def test_preview_renders_every_task_type(lead, task_type):
    project = services.project_create(name=task_type, task_type=task_type, created_by=lead)
    payload = get_task_type(task_type).validate_item(PREVIEW_PAYLOADS[task_type])
    item = Item.objects.create(project=project, external_id="one", payload=payload)
    response = logged_in(lead).get(f"/p/{project.pk}/preview/")
    assert response.status_code == 200
    assert 'id="annotation-form"' in response.content.decode()
    if task_type == "visual_argument":
        assert f"/i/{item.pk}/files/image/" in response.content.decode()

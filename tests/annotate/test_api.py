"""REST API v1 (SPEC 7): projects, members, item and annotation lists, auth, schema and docs."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import yaml
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate import services
from annotate.models import Item, Membership, Project
from tests.factories import UserFactory


def fields_named(body: dict) -> set[str]:
    """The fields that a 400 body names in its ``errors: [{field, message}]``."""
    assert set(body) == {"code", "message", "errors"}, body
    return {error["field"] for error in body["errors"]}


def staff_client(api):
    return api(UserFactory(username="admin", is_staff=True))


def follow(client: APIClient, url: str) -> list[list[dict]]:
    """Every page of a cursor-paginated list, following ``next``."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        pages.append(body["results"])
        url = body["next"]
        if url:
            parts = urlsplit(url)
            url = f"{parts.path}?{parts.query}"
    return pages


# --- projects


def test_create_project_returns_201_and_makes_the_creator_lead(db, api):
    creator = UserFactory(username="creator", is_staff=True)

    response = api(creator).post(
        "/api/v1/projects/",
        {
            "name": "Helpfulness",
            "task_type": "preference_pair",
            "overlap": 5,
            "instructions": "Pick **one**.",
            "reservation_seconds": 600,
            "gold_rate": 0.1,
            "config": {"aspects": ["helpfulness"]},
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    project = Project.objects.get(pk=body["id"])
    assert (project.name, project.overlap, project.reservation_seconds, project.gold_rate) == (
        "Helpfulness",
        5,
        600,
        0.1,
    )
    assert project.created_by == creator
    assert Membership.objects.get(project=project, user=creator).role == "lead"
    assert body["role"] == "lead"
    assert body["config"] == {"aspects": ["helpfulness"]}
    assert body["progress"] == {
        "n_items": 0,
        "n_done": 0,
        "n_in_progress": 0,
        "n_open": 0,
        "n_annotations": 0,
        "n_annotations_wanted": 0,
        "n_extended": 0,
    }


def test_create_project_defaults(db, api):
    response = staff_client(api).post(
        "/api/v1/projects/", {"name": "Plain", "task_type": "preference_pair"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["overlap"], body["instructions"], body["gold_rate"]) == (3, "", 0.0)
    assert body["reservation_seconds"] == 1800


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"task_type": "sentiment"}, "task_type"),
        ({"task_type": ""}, "task_type"),
        ({"overlap": 0}, "overlap"),
        ({"overlap": -1}, "overlap"),
        ({"name": ""}, "name"),
        ({"gold_rate": 1.5}, "gold_rate"),
        ({"reservation_seconds": 1}, "reservation_seconds"),
        ({"config": {"aspects": "helpfulness"}}, "config"),
    ],
)
def test_create_project_with_a_bad_field_is_a_400_naming_it(db, api, changes, field):
    payload = {"name": "Bad", "task_type": "preference_pair", **changes}

    response = staff_client(api).post("/api/v1/projects/", payload, format="json")

    assert response.status_code == 400, response.content
    assert field in fields_named(response.json())
    assert not Project.objects.exists()


def test_project_detail_counts_progress(project, lead, make_annotator, import_pairs, api):
    project.overlap = 2
    project.save(update_fields=["overlap"])
    import_pairs(4)
    first, second = make_annotator("first"), make_annotator("second")
    for user, n in ((first, 2), (second, 1)):
        for _ in range(n):
            assignment = services.assignment_reserve_next(project=project, annotator=user)
            services.annotation_submit(
                assignment_id=assignment.pk, annotator=user, value={"preference": 1}
            )
    # A live reservation that is not submitted yet does not count as progress.
    services.assignment_reserve_next(project=project, annotator=second)

    as_lead = api(lead).get(f"/api/v1/projects/{project.pk}/")
    as_annotator = api(second).get(f"/api/v1/projects/{project.pk}/")

    assert as_lead.status_code == 200
    assert as_lead.json()["role"] == "lead"
    # ``second`` took the item closest to done, finishing it: 1 done, 1 started, 2 untouched.
    assert as_lead.json()["progress"] == {
        "n_items": 4,
        "n_done": 1,
        "n_in_progress": 1,
        "n_open": 2,
        "n_annotations": 3,
        "n_annotations_wanted": 8,
        "n_extended": 0,
    }
    assert as_annotator.json()["role"] == "annotator"
    assert as_annotator.json()["progress"] == {"n_done": 1, "n_left": 3}


def test_project_detail_of_a_missing_project_is_404(db, api):
    response = staff_client(api).get("/api/v1/projects/999999/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_projects_list_is_cursor_paginated(db, api):
    client = staff_client(api)
    for n in range(5):
        services.project_create(name=f"P{n}", task_type="preference_pair", created_by=None)

    pages = follow(client, "/api/v1/projects/?page_size=2")

    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(row["name"] for page in pages for row in page) == [f"P{n}" for n in range(5)]


# --- members


def test_add_member_by_username(project, lead, api):
    UserFactory(username="newbie")

    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/members/",
        {"user": "newbie", "role": "annotator"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["username"], body["role"]) == ("newbie", "annotator")
    assert Membership.objects.get(project=project, user__username="newbie").role == "annotator"


def test_add_member_by_email(project, lead, api):
    user = UserFactory(username="by-mail", email="Someone@Example.org")

    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/members/",
        {"user": "someone@example.org", "role": "lead"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["user"] == user.pk
    assert Membership.objects.get(project=project, user=user).role == "lead"


def test_a_numeric_user_id_names_no_one_and_reveals_no_username(project, lead, api):
    """Issue 13: a lead could add any numeric user id and learn its username."""
    user = UserFactory(username="secret-name")

    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/members/",
        {"user": str(user.pk), "role": "annotator"},
        format="json",
    )

    assert response.status_code == 400
    assert "secret-name" not in response.content.decode()
    assert response.json()["errors"] == [{"field": "user", "message": f"no user {str(user.pk)!r}"}]
    assert not Membership.objects.filter(project=project, user=user).exists()


def test_an_email_shared_by_two_accounts_names_neither(project, lead, api):
    UserFactory(username="twin-a", email="twin@example.org")
    UserFactory(username="twin-b", email="twin@example.org")

    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/members/",
        {"user": "twin@example.org", "role": "annotator"},
        format="json",
    )

    assert response.status_code == 400
    assert "twin-a" not in response.content.decode()
    assert Membership.objects.filter(project=project).count() == 1


def test_add_member_again_changes_the_role_without_a_second_membership(project, lead, api):
    user = UserFactory(username="promoted")
    url = f"/api/v1/projects/{project.pk}/members/"
    api(lead).post(url, {"user": "promoted", "role": "annotator"}, format="json")

    response = api(lead).post(url, {"user": "promoted", "role": "lead"}, format="json")

    assert response.json()["role"] == "lead"
    assert list(
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True)
    ) == ["lead"]


@pytest.mark.parametrize("ref", ["nobody", "999999"])
def test_add_unknown_user_is_a_400_naming_user(project, lead, api, ref):
    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/members/",
        {"user": ref, "role": "annotator"},
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == [{"field": "user", "message": f"no user {ref!r}"}]
    assert Membership.objects.filter(project=project).count() == 1


def test_add_member_with_a_bad_role_is_a_400_naming_role(project, lead, api):
    UserFactory(username="someone")

    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/members/",
        {"user": "someone", "role": "boss"},
        format="json",
    )

    assert response.status_code == 400
    assert fields_named(response.json()) == {"role"}


# --- items


def test_items_list_cursor_pagination_walks_every_item_once(project, lead, import_pairs, api):
    import_pairs(25)

    pages = follow(api(lead), f"/api/v1/projects/{project.pk}/items/?page_size=10")

    assert [len(page) for page in pages] == [10, 10, 5]
    ids = [row["id"] for page in pages for row in page]
    assert len(set(ids)) == 25
    assert ids == sorted(ids)
    assert ids == list(
        Item.objects.filter(project=project).order_by("id").values_list("id", flat=True)
    )
    assert set(pages[0][0]) == {
        "id",
        "external_id",
        "payload",
        "is_gold",
        "gold_value",
        "n_submitted",
        "created_at",
        "updated_at",
    }


def test_items_list_default_page_size_is_100(project, lead, import_pairs, api):
    import_pairs(101)

    first = api(lead).get(f"/api/v1/projects/{project.pk}/items/").json()

    assert len(first["results"]) == 100
    assert first["next"] is not None
    assert first["previous"] is None


def test_items_list_next_cursor_is_stable_under_inserts(project, lead, import_pairs, api):
    import_pairs(4)
    client = api(lead)
    first = client.get(f"/api/v1/projects/{project.pk}/items/?page_size=2").json()
    import_pairs(2, start=100)  # new items land after the cursor, none is shown twice

    parts = urlsplit(first["next"])
    rest = follow(client, f"{parts.path}?{parts.query}")

    seen = [row["external_id"] for row in first["results"]] + [
        row["external_id"] for page in rest for row in page
    ]
    assert seen == ["pair-0", "pair-1", "pair-2", "pair-3", "pair-100", "pair-101"]


@pytest.fixture
def items_by_status(project, import_pairs):
    """overlap 2 and five items: one done, two in progress, two open."""
    project.overlap = 2
    project.save(update_fields=["overlap"])
    import_pairs(5)
    done, started = Item.objects.filter(project=project).order_by("id")[:2]
    Item.objects.filter(pk=done.pk).update(n_submitted=2)
    Item.objects.filter(pk=started.pk).update(n_submitted=1)
    third = Item.objects.filter(project=project).order_by("id")[2]
    Item.objects.filter(pk=third.pk).update(n_submitted=1)
    return {"done": ["pair-0"], "in_progress": ["pair-1", "pair-2"], "open": ["pair-3", "pair-4"]}


@pytest.mark.parametrize("status", ["open", "in_progress", "done"])
def test_items_list_filters_by_status(project, lead, api, items_by_status, status):
    response = api(lead).get(f"/api/v1/projects/{project.pk}/items/?status={status}")

    assert response.status_code == 200
    assert [row["external_id"] for row in response.json()["results"]] == items_by_status[status]


def test_items_list_status_filter_paginates(project, lead, api, items_by_status):
    pages = follow(api(lead), f"/api/v1/projects/{project.pk}/items/?status=open&page_size=1")

    assert [[row["external_id"] for row in page] for page in pages] == [["pair-3"], ["pair-4"]]


def test_items_list_with_a_bad_status_is_a_400_naming_status(project, lead, api, import_pairs):
    import_pairs(1)

    response = api(lead).get(f"/api/v1/projects/{project.pk}/items/?status=finished")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert [error["field"] for error in body["errors"]] == ["status"]
    assert "open, in_progress, done" in body["message"]


# --- annotations


def test_annotations_list_is_cursor_paginated(project, lead, make_annotator, import_pairs, api):
    import_pairs(5)
    annotator = make_annotator("busy")
    submitted = []
    for vote in (-2, -1, 0, 1, 2):
        assignment = services.assignment_reserve_next(project=project, annotator=annotator)
        annotation, _ = services.annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            value={"preference": vote},
            time_spent_ms=1234,
        )
        submitted.append(annotation)

    pages = follow(api(lead), f"/api/v1/projects/{project.pk}/annotations/?page_size=2")

    assert [len(page) for page in pages] == [2, 2, 1]
    rows = [row for page in pages for row in page]
    assert [row["id"] for row in rows] == [a.pk for a in submitted]
    assert [row["value"]["preference"] for row in rows] == [-2, -1, 0, 1, 2]
    first = rows[0]
    assert set(first) == {
        "id",
        "assignment",
        "item",
        "external_id",
        "annotator",
        "value",
        "shown_order",
        "time_spent_ms",
        "version",
        "created_at",
        "updated_at",
    }
    assert (first["annotator"], first["time_spent_ms"], first["version"]) == (annotator.pk, 1234, 1)
    assert first["shown_order"] in ({"left": "a", "right": "b"}, {"left": "b", "right": "a"})
    assert first["external_id"] == submitted[0].item.external_id


# --- the annotation loop over the API


def test_next_submit_resubmit_and_skip(project, make_annotator, import_pairs, api):
    import_pairs(2)
    client = api(make_annotator("looper"))

    reserved = client.post(f"/api/v1/projects/{project.pk}/next/")
    assignment_id = reserved.json()["assignment"]["id"]
    created = client.post(
        f"/api/v1/assignments/{assignment_id}/submit/",
        {"value": {"preference": -1}},
        format="json",
    )
    updated = client.post(
        f"/api/v1/assignments/{assignment_id}/submit/",
        {"value": {"preference": 2}},
        format="json",
    )
    second = client.post(f"/api/v1/projects/{project.pk}/next/").json()["assignment"]["id"]
    skipped = client.post(f"/api/v1/assignments/{second}/skip/")
    nothing_left = client.post(f"/api/v1/projects/{project.pk}/next/")

    assert reserved.status_code == 200
    assert set(reserved.json()["assignment"]) == {
        "id",
        "status",
        "shown_order",
        "reserved_at",
        "expires_at",
    }
    assert (created.status_code, created.json()["version"]) == (201, 1)
    assert (updated.status_code, updated.json()["version"]) == (200, 2)
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["value"]["preference"] == 2
    assert (skipped.status_code, skipped.json()["status"]) == (200, "skipped")
    assert nothing_left.status_code == 204
    assert nothing_left.content == b""


def test_submit_with_an_invalid_value_is_a_400_naming_the_field(
    project, make_annotator, import_pairs, api
):
    import_pairs(1)
    client = api(make_annotator("sloppy"))
    assignment_id = client.post(f"/api/v1/projects/{project.pk}/next/").json()["assignment"]["id"]

    response = client.post(
        f"/api/v1/assignments/{assignment_id}/submit/",
        {"value": {"preference": 7}},
        format="json",
    )

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["value.preference"]


# --- authentication


def test_token_authentication_works(project, lead, api):
    token = Token.objects.create(user=lead)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = client.get(f"/api/v1/projects/{project.pk}/")

    assert response.status_code == 200
    assert response.json()["role"] == "lead"


def test_token_can_write(project, lead, import_pairs):
    token = Token.objects.create(user=lead)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = json.dumps({"external_id": "t1", "prompt": "Q?", "response_a": "a", "response_b": "b"})

    response = client.post(
        f"/api/v1/projects/{project.pk}/items/", body + "\n", content_type="application/x-ndjson"
    )

    assert response.status_code == 201, response.content
    assert Item.objects.filter(project=project, external_id="t1").exists()


@pytest.mark.parametrize("header", ["Token not-a-real-key", "Bearer abc", "Token"])
def test_bad_token_is_rejected(project, lead, header):
    Token.objects.create(user=lead)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/projects/")

    assert response.status_code == 401


def test_session_authentication_works_for_reads(project, lead):
    client = APIClient()
    client.force_login(lead)

    response = client.get("/api/v1/projects/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [project.pk]


def test_session_authenticated_writes_need_the_csrf_token(project, lead):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(lead)

    response = client.post(f"/api/v1/projects/{project.pk}/next/")

    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


# --- schema and docs


def test_openapi_schema_lists_every_path(db):
    response = APIClient().get("/api/v1/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Dissensus API"
    assert set(document["paths"]) >= {
        "/api/v1/projects/",
        "/api/v1/projects/{project_id}/",
        "/api/v1/projects/{project_id}/members/",
        "/api/v1/projects/{project_id}/items/",
        "/api/v1/projects/{project_id}/next/",
        "/api/v1/projects/{project_id}/annotations/",
        "/api/v1/projects/{project_id}/export/",
        "/api/v1/assignments/{assignment_id}/submit/",
        "/api/v1/assignments/{assignment_id}/skip/",
    }
    assert set(document["paths"]["/api/v1/projects/"]) >= {"get", "post"}
    assert set(document["paths"]["/api/v1/projects/{project_id}/items/"]) >= {"get", "post"}
    schemes = document["components"]["securitySchemes"]
    assert {"tokenAuth", "cookieAuth"} <= set(schemes)


def test_openapi_schema_is_available_as_json(db):
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert "/api/v1/projects/{project_id}/export/" in json.loads(response.content)["paths"]


def test_api_docs_page_is_html_pointing_at_the_schema(db):
    response = APIClient().get("/api/v1/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert '<div id="swagger-ui">' in html
    assert "/api/v1/schema/" in html


def test_serializer_and_service_errors_share_one_body_shape(
    project, make_annotator, import_pairs, api
):
    import_pairs(1)
    annotator = make_annotator("shape")
    client = api(annotator)
    assignment = client.post(f"/api/v1/projects/{project.pk}/next/").json()["assignment"]
    url = f"/api/v1/assignments/{assignment['id']}/submit/"
    bad_time = client.post(url, {"value": {"preference": 1}, "time_spent_ms": -5}, format="json")
    bad_value = client.post(url, {"value": {"preference": 9}}, format="json")
    assert bad_time.status_code == bad_value.status_code == 400
    assert fields_named(bad_time.json()) == {"time_spent_ms"}
    assert fields_named(bad_value.json()) == {"value.preference"}

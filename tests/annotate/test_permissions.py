"""Who may call what: every API endpoint and page, for every role (SPEC 8, Security).

The two tables below are the contract. A cell is the status the caller gets; for pages, ``LOGIN``
is a redirect to the login page and ``TO_ANNOTATE`` / ``TO_PROJECT`` are the redirects a
successful page sends. Non-members get 404 everywhere so that project ids do not leak; members
missing the role an operation needs get 403; an assignment that is not the caller's own is 404.

Roles: ``anon`` (not logged in), ``ann_x`` (annotator of project X, owner of the assignment the
submit/skip rows use), ``ann_x2`` (another annotator of X), ``ann_y`` (annotator of another
project Y), ``lead_x``, ``lead_y``, ``staff`` (is_staff, no other permission).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from annotate import services
from annotate.models import Annotation, Assignment, Item, Membership, Project
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

ROLES = ("anon", "ann_x", "ann_x2", "ann_y", "lead_x", "lead_y", "staff")

# fmt: off
API_MATRIX = [
    # endpoint             anon  ann_x ann_x2 ann_y lead_x lead_y staff
    ("projects_list",      401,  200,  200,   200,  200,   200,   200),
    ("project_create",     401,  403,  403,   403,  403,   403,   201),
    ("project_detail",     401,  200,  200,   404,  200,   404,   200),
    ("members_add",        401,  403,  403,   404,  201,   404,   201),
    ("items_list",         401,  403,  403,   404,  200,   404,   200),
    ("items_import",       401,  403,  403,   404,  201,   404,   201),
    ("next",               401,  200,  200,   404,  403,   404,   403),
    ("annotations_list",   401,  200,  200,   404,  200,   404,   200),
    ("export",             401,  403,  403,   404,  200,   404,   200),
    ("submit",             401,  201,  404,   404,  404,   404,   404),
    ("skip",               401,  200,  404,   404,  404,   404,   404),
    ("schema",             200,  200,  200,   200,  200,   200,   200),  # public by design
    ("docs",               200,  200,  200,   200,  200,   200,   200),  # public by design
]

LOGIN, TO_ANNOTATE, TO_PROJECT = "login", "to_annotate", "to_project"

PAGE_MATRIX = [
    # page                 anon   ann_x        ann_x2       ann_y lead_x      lead_y staff
    ("project_page",       LOGIN, TO_ANNOTATE, TO_ANNOTATE, 404,  200,        404,   200),
    ("project_import",     LOGIN, 403,         403,         404,  TO_PROJECT, 404,   TO_PROJECT),
    ("annotate_page",      LOGIN, 200,         200,         404,  403,        404,   403),
    ("annotate_next",      LOGIN, 200,         200,         404,  403,        404,   403),
    ("annotate_submit",    LOGIN, TO_ANNOTATE, 404,         404,  404,        404,   404),
    ("annotate_skip",      LOGIN, TO_ANNOTATE, 404,         404,  404,        404,   404),
]
# fmt: on


def _cells(matrix):
    return [
        pytest.param(name, role, expected, id=f"{name}-{role}")
        for name, *row in matrix
        for role, expected in zip(ROLES, row, strict=True)
    ]


def _jsonl(records) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


@dataclass
class World:
    x: Project
    y: Project
    users: dict
    assignment: Assignment  # ann_x's live reservation in X


@pytest.fixture
def world(db) -> World:
    users = {
        "ann_x": UserFactory(username="ann_x"),
        "ann_x2": UserFactory(username="ann_x2"),
        "ann_y": UserFactory(username="ann_y"),
        "lead_x": UserFactory(username="lead_x"),
        "lead_y": UserFactory(username="lead_y"),
        "staff": UserFactory(username="staff", is_staff=True),
    }
    UserFactory(username="newcomer")
    x = ProjectFactory(name="X", created_by=users["lead_x"])
    y = ProjectFactory(name="Y", created_by=users["lead_y"])
    for project, role, name in [
        (x, Membership.Role.LEAD, "lead_x"),
        (x, Membership.Role.ANNOTATOR, "ann_x"),
        (x, Membership.Role.ANNOTATOR, "ann_x2"),
        (y, Membership.Role.LEAD, "lead_y"),
        (y, Membership.Role.ANNOTATOR, "ann_y"),
    ]:
        MembershipFactory(project=project, user=users[name], role=role)
    for project in (x, y):
        services.items_import(
            project=project,
            stream=io.BytesIO(_jsonl(pair_record(i) for i in range(3)).encode()),
            fmt="jsonl",
        )
    assignment = services.assignment_reserve_next(project=x, annotator=users["ann_x"])
    return World(x=x, y=y, users=users, assignment=assignment)


def _api_request(world: World, name: str):
    """(method, path, kwargs) of one API call on project X or ann_x's assignment."""
    p, a = world.x.pk, world.assignment.pk
    return {
        "projects_list": ("get", "/api/v1/projects/", {}),
        "project_create": (
            "post",
            "/api/v1/projects/",
            {"data": {"name": "New", "task_type": "preference_pair"}, "format": "json"},
        ),
        "project_detail": ("get", f"/api/v1/projects/{p}/", {}),
        "members_add": (
            "post",
            f"/api/v1/projects/{p}/members/",
            {"data": {"user": "newcomer", "role": "annotator"}, "format": "json"},
        ),
        "items_list": ("get", f"/api/v1/projects/{p}/items/", {}),
        "items_import": (
            "post",
            f"/api/v1/projects/{p}/items/",
            {"data": _jsonl([pair_record(100)]), "content_type": "application/x-ndjson"},
        ),
        "next": ("post", f"/api/v1/projects/{p}/next/", {}),
        "annotations_list": ("get", f"/api/v1/projects/{p}/annotations/", {}),
        "export": ("get", f"/api/v1/projects/{p}/export/", {}),
        "submit": (
            "post",
            f"/api/v1/assignments/{a}/submit/",
            {"data": {"value": {"preference": 1}}, "format": "json"},
        ),
        "skip": ("post", f"/api/v1/assignments/{a}/skip/", {}),
        "schema": ("get", "/api/v1/schema/", {}),
        "docs": ("get", "/api/v1/docs/", {}),
    }[name]


@pytest.mark.parametrize(("endpoint", "role", "expected"), _cells(API_MATRIX))
def test_api_permission_matrix(world, endpoint, role, expected):
    client = APIClient()
    if role != "anon":
        client.force_authenticate(world.users[role])
    method, path, kwargs = _api_request(world, endpoint)

    response = getattr(client, method)(path, **kwargs)

    assert response.status_code == expected, getattr(response, "content", b"")[:300]
    if expected == 401:
        # Token auth comes first, so DRF answers 401 with a Token challenge, not 403.
        assert response["WWW-Authenticate"] == "Token"
    if expected in (403, 404):
        assert response.json()["code"] == {403: "forbidden", 404: "not_found"}[expected]


def _page_request(world: World, name: str):
    p, a = world.x.pk, world.assignment.pk
    upload = io.BytesIO(_jsonl([pair_record(100)]).encode())
    upload.name = "more.jsonl"
    return {
        "project_page": ("get", f"/p/{p}/", {}),
        "project_import": ("post", f"/p/{p}/import/", {"data": {"file": upload}}),
        "annotate_page": ("get", f"/p/{p}/annotate/", {}),
        "annotate_next": ("post", f"/p/{p}/annotate/next/", {}),
        "annotate_submit": ("post", f"/a/{a}/submit/", {"data": {"preference": "1"}}),
        "annotate_skip": ("post", f"/a/{a}/skip/", {}),
    }[name]


@pytest.mark.parametrize(("page", "role", "expected"), _cells(PAGE_MATRIX))
def test_page_permission_matrix(world, page, role, expected):
    client = Client()
    if role != "anon":
        client.force_login(world.users[role])
    method, path, kwargs = _page_request(world, page)

    response = getattr(client, method)(path, **kwargs)

    redirects = {
        LOGIN: f"/login/?next={path}",
        TO_ANNOTATE: f"/p/{world.x.pk}/annotate/",
        TO_PROJECT: f"/p/{world.x.pk}/",
    }
    if expected in redirects:
        assert response.status_code == 302, response.content[:300]
        assert response["Location"] == redirects[expected]
    else:
        assert response.status_code == expected, response.content[:300]


def test_refused_calls_change_nothing(world):
    """The 403/404 cells above are refusals before any write, not errors after one."""

    def snapshot():
        return (
            Project.objects.count(),
            sorted(Membership.objects.values_list("project_id", "user_id", "role")),
            sorted(Item.objects.values_list("project_id", "external_id")),
            Annotation.objects.count(),
            sorted(Assignment.objects.values_list("pk", "status")),
        )

    before = snapshot()
    for role in ("ann_x2", "ann_y", "lead_y"):
        client = APIClient()
        client.force_authenticate(world.users[role])
        for endpoint in ("project_create", "members_add", "items_import", "submit", "skip"):
            method, path, kwargs = _api_request(world, endpoint)
            status = getattr(client, method)(path, **kwargs).status_code
            assert status in (403, 404), (role, endpoint, status)
    assert snapshot() == before


def test_user_with_add_project_permission_creates_a_project(world):
    creator = UserFactory(username="creator")
    creator.user_permissions.add(Permission.objects.get(codename="add_project"))
    client = APIClient()
    client.force_authenticate(creator)

    response = client.post(
        "/api/v1/projects/", {"name": "Mine", "task_type": "preference_pair"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["role"] == "lead"


# --- data scoping


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _submit(user, project: Project, preference: int) -> Annotation:
    assignment = services.assignment_reserve_next(project=project, annotator=user)
    annotation, _ = services.annotation_submit(
        assignment_id=assignment.pk, annotator=user, value={"preference": preference}
    )
    return annotation


def test_annotator_lists_only_their_own_annotations(world):
    mine = _submit(world.users["ann_x"], world.x, -1)
    theirs = _submit(world.users["ann_x2"], world.x, 2)

    as_annotator = _api(world.users["ann_x"]).get(f"/api/v1/projects/{world.x.pk}/annotations/")
    as_lead = _api(world.users["lead_x"]).get(f"/api/v1/projects/{world.x.pk}/annotations/")

    assert [row["id"] for row in as_annotator.json()["results"]] == [mine.pk]
    assert {row["annotator"] for row in as_annotator.json()["results"]} == {world.users["ann_x"].pk}
    assert [row["id"] for row in as_lead.json()["results"]] == [mine.pk, theirs.pk]


def test_project_list_shows_only_the_callers_projects(world):
    outsider = UserFactory(username="outsider")

    def names(user) -> list[str]:
        response = _api(user).get("/api/v1/projects/")
        assert response.status_code == 200
        return sorted(row["name"] for row in response.json()["results"])

    assert names(world.users["ann_x"]) == ["X"]
    assert names(world.users["ann_y"]) == ["Y"]
    assert names(world.users["lead_x"]) == ["X"]
    assert names(world.users["lead_y"]) == ["Y"]
    assert names(world.users["staff"]) == ["X", "Y"]
    assert names(outsider) == []


def test_home_page_lists_only_the_users_projects(world):
    client = Client()
    client.force_login(world.users["ann_y"])

    html = client.get("/").content.decode()

    assert f'href="/p/{world.y.pk}/annotate/"' in html
    assert f"/p/{world.x.pk}/" not in html


def test_items_endpoint_never_reaches_annotators(world):
    client = _api(world.users["ann_x"])
    path = f"/api/v1/projects/{world.x.pk}/items/"
    n_items = Item.objects.filter(project=world.x).count()

    for response in (
        client.get(path),
        client.get(path + "?status=open"),
        client.get(path + "?status=bogus"),
        client.post(path, _jsonl([pair_record(50)]), content_type="application/x-ndjson"),
    ):
        assert response.status_code == 403
        assert set(response.json()) == {"code", "message"}
        assert "Question number" not in response.content.decode()
    assert Item.objects.filter(project=world.x).count() == n_items


def test_annotator_project_detail_shows_only_their_own_progress(world):
    body = _api(world.users["ann_x"]).get(f"/api/v1/projects/{world.x.pk}/").json()

    assert body["role"] == "annotator"
    assert set(body["progress"]) == {"n_done", "n_left"}


def test_next_item_payload_has_no_gold_answer(db):
    # Gold items are served only through gold interleaving (rate 1: first), beside ordinary work.
    project = ProjectFactory(gold_rate=1.0)
    annotator = UserFactory(username="golden")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    gold = pair_record(1, gold={"preference": -2, "rationale": "SECRET-GOLD-RATIONALE"})
    records = _jsonl([gold, pair_record(2)]).encode()
    services.items_import(project=project, stream=io.BytesIO(records), fmt="jsonl")
    assert Item.objects.get(project=project, external_id="pair-1").is_gold

    response = _api(annotator).post(f"/api/v1/projects/{project.pk}/next/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"assignment", "item", "progress"}  # progress: issue 10, point 6
    assert set(body["item"]) == {"id", "external_id", "payload"}
    assert "gold" not in json.dumps(body["item"]["payload"])
    assert "SECRET-GOLD-RATIONALE" not in response.content.decode()
    assert "is_gold" not in response.content.decode()


def test_annotate_page_does_not_show_the_gold_answer(db):
    # Gold items are served only through gold interleaving (rate 1: first), beside ordinary work.
    project = ProjectFactory(gold_rate=1.0)
    annotator = UserFactory(username="golden")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    gold = pair_record(1, gold={"preference": -2, "rationale": "SECRET-GOLD-RATIONALE"})
    records = _jsonl([gold, pair_record(2)]).encode()
    services.items_import(project=project, stream=io.BytesIO(records), fmt="jsonl")
    client = Client()
    client.force_login(annotator)

    html = client.get(f"/p/{project.pk}/annotate/").content.decode()

    assert "Question number 1?" in html
    assert "SECRET-GOLD-RATIONALE" not in html


def _export(user, project: Project, query: str) -> list[dict]:
    response = _api(user).get(f"/api/v1/projects/{project.pk}/export/?format=jsonl&{query}")
    assert response.status_code == 200
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


def test_export_annotator_ids_are_pseudonymous_unless_identities_asked(world):
    annotators = [world.users["ann_x"], world.users["ann_x2"]]
    for user in annotators:
        _submit(user, world.x, 1)
    lead = world.users["lead_x"]
    usernames = {user.username for user in annotators}
    user_ids = {user.pk for user in annotators} | {str(user.pk) for user in annotators}

    rows = _export(lead, world.x, "shape=annotations")
    labels = [label for row in _export(lead, world.x, "shape=items") for label in row["labels"]]

    for named in [row["annotator"] for row in rows] + [label["annotator"] for label in labels]:
        assert re.fullmatch(r"ann-[0-9a-f]{12}", named)
        assert named not in usernames
        assert named not in user_ids
    assert len({row["annotator"] for row in rows}) == 2
    raw = json.dumps(rows + labels)
    assert not any(name in raw for name in usernames)

    named_rows = _export(lead, world.x, "shape=annotations&identities=1")
    named_labels = [
        label
        for row in _export(lead, world.x, "shape=items&identities=1")
        for label in row["labels"]
    ]
    assert sorted(row["annotator"] for row in named_rows) == sorted(usernames)
    assert sorted(label["annotator"] for label in named_labels) == sorted(usernames)

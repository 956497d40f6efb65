"""The lean lane of ``next`` and ``submit`` (issue 11; ``annotate.api.views._HotApi``): the same
status, headers and bytes as DRF's full dispatch for the same request. A request that accepts
``application/*`` (not one of the lane's ``Accept`` values) goes the DRF way, so each case is
sent both ways and the answers compared."""

import io
import json

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.test import APIClient

from annotate import services
from annotate.models import Annotation, Membership
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

pytestmark = pytest.mark.django_db(transaction=True)

DRF = {"HTTP_ACCEPT": "application/*"}  # a match for JSONRenderer outside the lane
HEADERS = ("Content-Type", "Allow", "Vary", "Retry-After", "X-Frame-Options")


def make(n_items=6):
    lead = UserFactory()
    project = ProjectFactory(overlap=3, created_by=lead)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    lines = "".join(json.dumps(pair_record(i)) + "\n" for i in range(n_items))
    services.items_import(project=project, stream=io.BytesIO(lines.encode()), fmt="jsonl")
    user = UserFactory()
    MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return project, user, client


def same(lane, full):
    assert lane.status_code == full.status_code, (lane.content, full.content)
    for name in HEADERS:
        assert lane.get(name) == full.get(name), name
    assert lane.content == full.content


def submit(client, assignment_id, body, **extra):
    return client.generic(
        "POST", f"/api/v1/assignments/{assignment_id}/submit/", body,
        content_type=extra.pop("content_type", "application/json"), **extra,
    )  # fmt: skip


def test_next_answers_the_same_bytes_both_ways():
    project, _, client = make()
    url = f"/api/v1/projects/{project.pk}/next/"
    lane = client.post(url)
    assert lane.status_code == 200
    full = client.post(url, **DRF)
    assert not isinstance(lane, Response) and isinstance(full, Response)  # each went its way
    same(lane, full)  # the live reservation comes back
    same(client.post(url, HTTP_ACCEPT="*/*"), client.post(url, **DRF))


def test_submit_answers_alike_both_ways():
    project, user, client = make()
    url = f"/api/v1/projects/{project.pk}/next/"
    first = client.post(url).json()["assignment"]["id"]
    lane = submit(client, first, json.dumps({"value": {"preference": 1}, "time_spent_ms": 5}))
    second = client.post(url).json()["assignment"]["id"]
    full = submit(
        client, second, json.dumps({"value": {"preference": 1}, "time_spent_ms": 5}), **DRF
    )
    assert lane.status_code == full.status_code == 201
    assert not isinstance(lane, Response) and isinstance(full, Response)
    for name in HEADERS:
        assert lane.get(name) == full.get(name), name
    a, b = lane.json(), full.json()
    assert set(a) == set(b)
    assert {k: a[k] for k in ("value", "time_spent_ms", "version", "annotator")} == {
        k: b[k] for k in ("value", "time_spent_ms", "version", "annotator")
    }
    assert Annotation.objects.filter(annotator=user).count() == 2


@pytest.mark.parametrize(
    "body,content_type",
    [
        ('{"value": {"preference": 7}}', "application/json"),  # off the schema: the service
        ('{"value": null}', "application/json"),
        ("{}", "application/json"),
        ('{"value": {"preference": 1}, "time_spent_ms": -1}', "application/json"),
        ('{"value": {"preference": 1}, "time_spent_ms": true}', "application/json"),
        ('{"value": {"preference": 1}, "base_version": "x"}', "application/json"),
        ('{"value": {"preference": 1}, "time_spent_ms": 1e99}', "application/json"),
        ('{"value": NaN}', "application/json"),
        ("[1, 2]", "application/json"),
        ("{not json", "application/json"),
        ("", "application/json"),
        ('{"value": "a\\u0000b"}', "application/json"),
        ("[" * 200 + "]" * 200, "application/json"),
        ('{"value": {"preference": 7}}', "text/plain"),
    ],
)
def test_a_refused_submit_is_worded_the_same_both_ways(body, content_type):
    project, user, client = make()
    assignment = client.post(f"/api/v1/projects/{project.pk}/next/").json()["assignment"]["id"]
    lane = submit(client, assignment, body, content_type=content_type)
    full = submit(client, assignment, body, content_type=content_type, **DRF)
    assert 400 <= lane.status_code < 500
    same(lane, full)
    assert not Annotation.objects.filter(annotator=user).exists()


def test_errors_outside_the_lane_are_drfs():
    project, user, client = make()
    url = f"/api/v1/projects/{project.pk}/next/"
    anonymous = APIClient()
    same(anonymous.post(url), anonymous.post(url, **DRF))  # 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token nope")
    same(bad.post(url), bad.post(url, **DRF))  # 401
    odd = APIClient()
    odd.credentials(HTTP_AUTHORIZATION="Token a b")
    same(odd.post(url), odd.post(url, **DRF))
    assert client.post(url, HTTP_ACCEPT="text/html").status_code == 406
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory()).key}")
    same(stranger.post(url), stranger.post(url, **DRF))  # not a member: the full path's 404/403
    assert client.get(url).status_code == 405


def test_the_lane_counts_each_request_once_against_the_throttle(settings):
    settings.DISSENSUS_API_THROTTLE_RATES = {"anon": None, "user": "3/minute"}
    cache.clear()
    try:
        project, _, client = make()
        url = f"/api/v1/projects/{project.pk}/next/"
        assert [client.post(url).status_code for _ in range(3)] == [200, 200, 200]
        throttled = client.post(url)
        assert throttled.status_code == 429
        assert throttled.json()["code"] == "throttled"
        assert "Retry-After" in throttled
    finally:
        cache.clear()


def test_a_request_the_hot_service_declines_takes_the_full_path_once():
    """At the end of the items the hot next declines and the full path answers 204."""
    project, _, client = make(n_items=1)
    url = f"/api/v1/projects/{project.pk}/next/"
    assignment = client.post(url).json()["assignment"]["id"]
    assert submit(client, assignment, '{"value": {"preference": 0}}').status_code == 201
    assert client.post(url).status_code == 204
    assert submit(client, assignment, '{"value": {"preference": 1}}').status_code == 200

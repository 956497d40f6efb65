"""The hot path (issue 11, point 1): the database round trips of ``next`` and ``submit``.

Counted on the wire: libpq traces every message the client sends, and each round trip ends
with a ``Sync`` (extended protocol) or is one ``Query`` (simple protocol, BEGIN and COMMIT
included). The counts are the steady state: after a first warm-up pair. A count may go down;
a test fails when one grows.
"""

import io
import json
import tempfile
import time
from contextlib import contextmanager

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate import services
from annotate.api.serializers import AnnotationOut, AssignmentOut
from annotate.models import (
    Annotation,
    Assignment,
    CrowdEntry,
    CrowdWorker,
    Membership,
    WorkerSession,
)
from annotate.services import tokens
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

pytestmark = pytest.mark.django_db(transaction=True)

VOTE = {"value": {"preference": 1}}


LAST: list[str] = []


class RoundTrips:
    def __init__(self) -> None:
        self.n = 0
        self.lines: list[str] = []


@contextmanager
def round_trips():
    """Count the round trips to PostgreSQL in the block (on Django's default connection)."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    counted = RoundTrips()
    with tempfile.TemporaryFile("w+b") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(1)  # PQTRACE_SUPPRESS_TIMESTAMPS
        try:
            yield counted
        finally:
            pgconn.untrace()
            trace.seek(0)
            sent = [
                line for line in trace.read().decode(errors="replace").splitlines()
                if line.startswith("F\t")
            ]  # fmt: skip
    counted.lines = sent
    LAST[:] = sent
    counted.n = sum(1 for line in sent if line.split("\t")[2] in {"Sync", "Query"})


def make(*, overlap=3, n_items=20, **project_fields):
    lead = UserFactory()
    project = ProjectFactory(overlap=overlap, created_by=lead, **project_fields)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    stream = io.BytesIO("".join(json.dumps(pair_record(i)) + "\n" for i in range(n_items)).encode())
    services.items_import(project=project, stream=stream, fmt="jsonl")
    user = UserFactory()
    MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return project, user, client


def next_url(project):
    return f"/api/v1/projects/{project.pk}/next/"


def pair(client, project):
    """One next + submit; the round trips of each."""
    with round_trips() as on_next:
        response = client.post(next_url(project))
    next_lines = list(on_next.lines)
    assert response.status_code == 200, response.content
    assignment_id = response.json()["assignment"]["id"]
    with round_trips() as on_submit:
        submitted = client.post(f"/api/v1/assignments/{assignment_id}/submit/", VOTE, format="json")
    assert submitted.status_code == 201, submitted.content
    LAST[:] = next_lines
    return on_next.n, on_submit.n, response.json(), submitted.json()


def warm_up(client, project):
    """The token looked up, and each statement prepared (the third execution on a connection
    with the default ``prepare_threshold`` prepares it: one more round trip, once)."""
    for _ in range(3):
        pair(client, project)


def test_next_and_submit_take_at_most_four_round_trips_each():
    project, user, client = make()
    warm_up(client, project)
    for _ in range(3):
        on_next, on_submit, _, _ = pair(client, project)
        assert on_next <= 4, "\n".join(line[:200] for line in LAST)
        assert on_submit <= 4
    # And what is stored is what the full path stores.
    assert Annotation.objects.filter(annotator=user).count() == 6
    assert not Assignment.objects.filter(annotator=user, status="reserved").exists()


def test_the_hot_path_answers_as_the_full_path_does():
    project, user, client = make(n_items=5)
    pair(client, project)
    on_next, _, body, annotation = pair(client, project)
    assert set(body) == {"assignment", "item", "progress"}
    assert body["progress"] == {"n_done": 1, "n_left": 4}
    assert on_next <= 4
    assert set(body["assignment"]) == {"id", "status", "shown_order", "reserved_at", "expires_at"}
    assert body["assignment"]["status"] == "reserved"
    assert set(body["item"]) == {"id", "external_id", "payload"}
    stored = Annotation.objects.get(pk=annotation["id"])
    # The bodies are written out by hand: the same as the serializers of the schema give.
    assert annotation == AnnotationOut(stored).data
    reserved = Assignment.objects.get(pk=body["assignment"]["id"])
    assert {**body["assignment"], "status": "submitted"} == AssignmentOut(reserved).data
    assert body["item"]["external_id"] == reserved.item.external_id
    assert annotation["external_id"] == stored.item.external_id
    assert annotation["value"] == stored.value
    assert annotation["version"] == 1
    assert annotation["shown_order"] == stored.shown_order == body["assignment"]["shown_order"]


def test_a_live_reservation_comes_back_in_at_most_four_round_trips():
    project, user, client = make()
    warm_up(client, project)
    first = client.post(next_url(project)).json()
    with round_trips() as again:
        second = client.post(next_url(project)).json()
    assert second["assignment"]["id"] == first["assignment"]["id"]
    assert again.n <= 4


def test_the_full_path_cases_keep_their_counts():
    """Crowd workers and gold-rate projects take the full path: their counts may not grow."""
    gold_project, _, gold_client = make(gold_rate=1.0)  # the draw always made: a fixed count
    warm_up(gold_client, gold_project)
    on_next, on_submit, _, _ = pair(gold_client, gold_project)
    assert on_next <= 20  # a failed hot attempt (3) and the full path
    assert on_submit <= 3  # gold rate alone: an ordinary item still takes the hot submit

    crowd_project, crowd_user, crowd_client = make()
    CrowdEntry.objects.create(project=crowd_project)
    worker = CrowdWorker.objects.create(project=crowd_project, worker_id="w1", user=crowd_user)
    WorkerSession.objects.create(
        worker=worker, session_id="s1", study_id="st", started_at=timezone.now(),
        last_seen_at=timezone.now(),
    )  # fmt: skip
    warm_up(crowd_client, crowd_project)
    on_next, on_submit, _, _ = pair(crowd_client, crowd_project)
    assert on_next <= 24
    assert on_submit <= 16


def test_a_revoked_token_is_refused_at_once_here_and_within_seconds_elsewhere():
    project, user, client = make()
    assert client.post(next_url(project)).status_code == 200
    assert tokens.api_token_revoke(user=user)
    assert client.post(next_url(project)).status_code == 401
    # Another process's cache: the token deleted without telling this one (as a revoke in
    # another web process) stops working once the cache entry runs out.
    token = Token.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.post(next_url(project)).status_code == 200
    Token.objects.filter(pk=token.pk).delete()
    deadline = time.monotonic() + tokens.TOKEN_CACHE_SECONDS + 5
    status = 200
    while status == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        status = client.post(next_url(project)).status_code
    assert status == 401

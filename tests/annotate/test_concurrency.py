"""Assignment under real concurrency (SPEC 3): threads with their own PostgreSQL connections.

Each thread gets its own database connection from Django and closes it when done; the tests are
transactional so that every thread sees the others' commits.
"""

import io
import json
import random
import threading
import time
from collections import Counter

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from annotate import selectors, services
from annotate.models import Annotation, AnnotationVersion, Assignment, Item, Membership
from stats.preference import SCALE
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE_SECONDS = 120


def jsonl(records):
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in records).encode())


def make_project(*, overlap, n_items, n_annotators, prefix="ann"):
    lead = UserFactory(username=f"{prefix}-lead")
    project = ProjectFactory(overlap=overlap, created_by=lead)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    services.items_import(project=project, stream=jsonl(pair_record(i) for i in range(n_items)))
    annotators = []
    for index in range(n_annotators):
        user = UserFactory(username=f"{prefix}{index}")
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        annotators.append(user)
    return project, annotators


def run_threads(target, n_threads):
    """Start ``n_threads`` running ``target(index, barrier)`` together; return their errors."""
    barrier = threading.Barrier(n_threads)
    errors = []

    def wrapped(index):
        try:
            target(index, barrier)
        except Exception as exc:  # reported by the test, not lost in the thread
            errors.append(f"thread {index}: {exc!r}")
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "threads did not finish in time"
    return errors


def assert_invariants(project):
    per_item = Counter(Annotation.objects.filter(project=project).values_list("item", flat=True))
    items = list(Item.objects.filter(project=project))
    for item in items:
        assert per_item[item.pk] == item.n_submitted, item.external_id
        assert item.n_submitted <= project.overlap, item.external_id
    pairs = Counter(Annotation.objects.filter(project=project).values_list("item", "annotator"))
    assert max(pairs.values(), default=1) == 1
    assignments = Counter(
        Assignment.objects.filter(project=project).values_list("item", "annotator")
    )
    assert max(assignments.values(), default=1) == 1
    assert (
        Annotation.objects.filter(project=project).count()
        == Assignment.objects.filter(project=project, status=Assignment.Status.SUBMITTED).count()
    )
    return items


def test_many_annotators_at_once_never_exceed_overlap_nor_lose_a_submit():
    project, annotators = make_project(overlap=3, n_items=60, n_annotators=20)
    confirmed = {}  # assignment id -> (annotation id, value) of the last successful submit
    lock = threading.Lock()
    skips = Counter()

    def annotate(index, barrier):
        rng = random.Random(1000 + index)
        annotator = annotators[index]
        given = set()
        barrier.wait()
        started = time.monotonic()
        while time.monotonic() - started < DEADLINE_SECONDS - 10:
            assignment = services.assignment_reserve_next(project=project, annotator=annotator)
            if assignment is None:
                left = selectors.annotator_progress(project=project, annotator=annotator).n_left
                if left == 0:
                    return
                time.sleep(0.005)  # others hold the rest; they may still skip it
                continue
            assert assignment.annotator_id == annotator.pk
            if assignment.item_id in given:  # every reservation here ends in a skip or submit
                raise AssertionError(f"item {assignment.item_id} given twice")
            given.add(assignment.item_id)
            if rng.random() < 0.1:
                services.assignment_skip(assignment_id=assignment.pk, annotator=annotator)
                skips[index] += 1
                continue
            submits = 2 if rng.random() < 0.2 else 1
            for _ in range(submits):  # a double click, or a changed mind
                value = {"preference": rng.choice(SCALE)}
                annotation, _created = services.annotation_submit(
                    assignment_id=assignment.pk, annotator=annotator, value=value
                )
                with lock:
                    confirmed[assignment.pk] = (annotation.pk, value)
        raise AssertionError("annotator never ran out of work")

    errors = run_threads(annotate, len(annotators))
    assert errors == []

    items = assert_invariants(project)
    assert all(item.n_submitted == 3 for item in items), "every item ends done"
    assert Annotation.objects.filter(project=project).count() == 180
    stored = {
        a.assignment_id: (a.pk, a.value["preference"])
        for a in Annotation.objects.filter(project=project)
    }
    assert {key: (pk, v["preference"]) for key, (pk, v) in confirmed.items()} == stored
    assert sum(skips.values()) > 0  # the run did exercise skips
    assert AnnotationVersion.objects.filter(annotation__project=project).exists()


def test_concurrent_next_on_one_item_reserves_it_for_exactly_overlap_annotators():
    project, annotators = make_project(overlap=3, n_items=1, n_annotators=16)
    got = []

    def ask(index, barrier):
        barrier.wait()
        assignment = services.assignment_reserve_next(project=project, annotator=annotators[index])
        if assignment is not None:
            got.append(assignment.annotator_id)

    assert run_threads(ask, len(annotators)) == []
    assert len(got) == 3
    assert Assignment.objects.filter(project=project).count() == 3


def test_concurrent_duplicate_submits_of_one_assignment_store_one_annotation():
    project, (annotator,) = make_project(overlap=3, n_items=1, n_annotators=1)
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    results = []

    def double_click(index, barrier):
        barrier.wait()
        annotation, created = services.annotation_submit(
            assignment_id=assignment.pk, annotator=annotator, value={"preference": -1}
        )
        results.append((annotation.pk, created))

    assert run_threads(double_click, 16) == []
    assert len(results) == 16
    assert sorted(created for _, created in results) == [False] * 15 + [True]
    assert len({pk for pk, _ in results}) == 1
    annotation = Annotation.objects.get(project=project)
    assert annotation.version == 1
    assert not AnnotationVersion.objects.exists()
    assert Item.objects.get(project=project).n_submitted == 1


def test_concurrent_changed_submits_of_one_assignment_keep_every_version():
    project, (annotator,) = make_project(overlap=3, n_items=1, n_annotators=1)
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    results = []

    def resubmit(index, barrier):
        barrier.wait()
        annotation, created = services.annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            value={"preference": 0, "rationale": f"take {index}"},
        )
        results.append(created)

    assert run_threads(resubmit, 12) == []
    assert results.count(True) == 1
    annotation = Annotation.objects.get(project=project)
    history = list(AnnotationVersion.objects.filter(annotation=annotation).order_by("version"))
    assert annotation.version == 12
    assert [h.version for h in history] == list(range(1, 12))
    rationales = {h.value["rationale"] for h in history} | {annotation.value["rationale"]}
    assert rationales == {f"take {i}" for i in range(12)}
    assert Item.objects.get(project=project).n_submitted == 1


def test_concurrent_submit_and_skip_of_one_assignment_stay_consistent():
    project, (annotator,) = make_project(overlap=1, n_items=1, n_annotators=1)
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    outcomes = []

    def act(index, barrier):
        barrier.wait()
        if index % 2:
            try:
                services.assignment_skip(assignment_id=assignment.pk, annotator=annotator)
                outcomes.append("skipped")
            except services.assignment.Conflict:
                outcomes.append("skip refused")
        else:
            services.annotation_submit(
                assignment_id=assignment.pk, annotator=annotator, value={"preference": 2}
            )
            outcomes.append("submitted")

    assert run_threads(act, 8) == []
    assert outcomes.count("submitted") == 4
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED
    assert Annotation.objects.filter(project=project).count() == 1
    assert Item.objects.get(project=project).n_submitted == 1


def test_sixteen_http_clients_with_tokens_annotate_everything_exactly_once(live_server):
    project, annotators = make_project(overlap=3, n_items=24, n_annotators=16, prefix="http")
    tokens = [Token.objects.create(user=user).key for user in annotators]
    base = live_server.url + "/api/v1"
    confirmed = []
    lock = threading.Lock()

    def client(index, barrier):
        rng = random.Random(index)
        session = requests.Session()
        session.headers["Authorization"] = f"Token {tokens[index]}"
        barrier.wait()
        started = time.monotonic()
        while time.monotonic() - started < DEADLINE_SECONDS - 10:
            reserved = session.post(f"{base}/projects/{project.pk}/next/", timeout=30)
            if reserved.status_code == 204:
                detail = session.get(f"{base}/projects/{project.pk}/", timeout=30)
                assert detail.status_code == 200, detail.text
                if detail.json()["progress"]["n_left"] == 0:
                    return
                time.sleep(0.01)
                continue
            assert reserved.status_code == 200, reserved.text
            assignment_id = reserved.json()["assignment"]["id"]
            if rng.random() < 0.1:
                skipped = session.post(f"{base}/assignments/{assignment_id}/skip/", timeout=30)
                assert skipped.status_code == 200, skipped.text
                continue
            value = {"preference": rng.choice(SCALE)}
            url = f"{base}/assignments/{assignment_id}/submit/"
            stored = session.post(url, json={"value": value}, timeout=30)
            assert stored.status_code == 201, stored.text
            if rng.random() < 0.2:  # a retried request
                again = session.post(url, json={"value": value}, timeout=30)
                assert again.status_code == 200, again.text
                assert again.json()["id"] == stored.json()["id"]
            with lock:
                confirmed.append((stored.json()["id"], value["preference"]))
        raise AssertionError("client never ran out of work")

    errors = run_threads(client, len(annotators))
    assert errors == []
    items = assert_invariants(project)
    assert all(item.n_submitted == 3 for item in items)
    stored = dict(Annotation.objects.filter(project=project).values_list("id", "value"))
    assert len(confirmed) == len(stored) == 72
    assert {pk: stored[pk]["preference"] for pk, _ in confirmed} == dict(confirmed)
    assert all(a.version == 1 for a in Annotation.objects.filter(project=project))

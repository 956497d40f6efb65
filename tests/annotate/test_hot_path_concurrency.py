"""The hot path (``services.hot_next`` / ``hot_submit``, as the API calls them: the hot way
first, the full way when it declines) under real concurrency: the guarantees of SPEC 3."""

import time
from collections import Counter

import pytest

from annotate import services
from annotate.models import Annotation, AnnotationVersion, Assignment, Item
from tests.annotate.test_concurrency import (
    DEADLINE_SECONDS,
    assert_invariants,
    make_project,
    run_threads,
)

pytestmark = pytest.mark.django_db(transaction=True)


def next_for(project, annotator):
    hot = services.hot_next(project_id=project.pk, annotator=annotator)
    if hot is not None:
        return hot.assignment
    return services.annotator_next(project=project, annotator=annotator).assignment


def submit(assignment_id, annotator, value):
    answer = {"assignment_id": assignment_id, "annotator": annotator, "value": value}
    return services.hot_submit(**answer) or services.annotation_submit(**answer)


def test_many_annotators_on_the_hot_path_never_exceed_overlap_nor_lose_a_submit():
    project, annotators = make_project(overlap=3, n_items=40, n_annotators=12, prefix="hot")
    created = Counter()

    def annotate(index, barrier):
        annotator = annotators[index]
        given = set()
        barrier.wait()
        started = time.monotonic()
        while time.monotonic() - started < DEADLINE_SECONDS - 10:
            assignment = next_for(project, annotator)
            if assignment is None:
                return
            if assignment.item_id in given:
                raise AssertionError(f"item {assignment.item_id} given twice")
            given.add(assignment.item_id)
            _, was_created = submit(assignment.pk, annotator, {"preference": index % 5 - 2})
            assert was_created  # every reservation handed out can be stored
            created[index] += 1
        raise AssertionError("annotator never ran out of work")

    assert run_threads(annotate, len(annotators)) == []
    items = assert_invariants(project)
    assert all(item.n_submitted == 3 for item in items)
    assert sum(created.values()) == 120


def test_concurrent_hot_next_on_one_item_reserves_it_for_exactly_overlap_annotators():
    project, annotators = make_project(overlap=3, n_items=1, n_annotators=12, prefix="one")
    got = []

    def ask(index, barrier):
        barrier.wait()
        assignment = next_for(project, annotators[index])
        if assignment is not None:
            got.append(assignment.annotator_id)

    assert run_threads(ask, len(annotators)) == []
    assert len(got) == 3
    assert Assignment.objects.filter(project=project).count() == 3


def test_one_annotators_concurrent_nexts_hold_one_reservation():
    project, (annotator,) = make_project(overlap=3, n_items=10, n_annotators=1, prefix="tabs")
    got = []

    def ask(index, barrier):
        barrier.wait()
        got.append(next_for(project, annotator).pk)

    assert run_threads(ask, 8) == []
    assert len(set(got)) == 1
    assert Assignment.objects.filter(project=project).count() == 1


def test_concurrent_duplicate_hot_submits_store_one_annotation():
    project, (annotator,) = make_project(overlap=3, n_items=1, n_annotators=1, prefix="dup")
    assignment = next_for(project, annotator)
    results = []

    def double_click(index, barrier):
        barrier.wait()
        annotation, created = submit(assignment.pk, annotator, {"preference": -1})
        results.append((annotation.pk, created))

    assert run_threads(double_click, 12) == []
    assert sorted(created for _, created in results) == [False] * 11 + [True]
    assert len({pk for pk, _ in results}) == 1
    assert Annotation.objects.get(project=project).version == 1
    assert not AnnotationVersion.objects.exists()
    assert Item.objects.get(project=project).n_submitted == 1


def test_concurrent_hot_submit_and_skip_stay_consistent():
    project, (annotator,) = make_project(overlap=1, n_items=1, n_annotators=1, prefix="skip")
    assignment = next_for(project, annotator)
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
            submit(assignment.pk, annotator, {"preference": 2})
            outcomes.append("submitted")

    assert run_threads(act, 8) == []
    assert outcomes.count("submitted") == 4
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED
    assert Annotation.objects.filter(project=project).count() == 1
    assert Item.objects.get(project=project).n_submitted == 1

"""The open-items tally (issue 11, 1,000,000 items): ``annotate.models.ItemTally``, kept by
PostgreSQL triggers, pinned against a fresh count of the items after every kind of change to an
item's openness, and the ``n_left`` it gives against the counting definition."""

import io
import json
import threading

import pytest
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Sum
from django.utils import timezone

from annotate import selectors, services
from annotate.models import Assignment, Item, ItemTally, Membership, Project
from annotate.services import hot_path
from annotate.services.projects import project_update
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

from .test_concurrency import run_threads

pytestmark = pytest.mark.django_db(transaction=True)

VOTE = {"preference": 1}


def jsonl(records) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in records).encode())


def make(*, n_items=12, overlap=2, n_annotators=3, **fields):
    project = ProjectFactory(overlap=overlap, **fields)
    services.items_import(project=project, stream=jsonl(pair_record(i) for i in range(n_items)))
    annotators = []
    for _ in range(n_annotators):
        user = UserFactory()
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        annotators.append(user)
    return project, annotators


def tallied(project):
    rows = (
        ItemTally.objects.filter(project=project)
        .values("n_submitted", "extra_overlap")
        .annotate(n=Sum("delta"))
    )
    return {(r["n_submitted"], r["extra_overlap"]): r["n"] for r in rows if r["n"]}


def counted(project):
    rows = (
        Item.objects.filter(project=project, is_gold=False)
        .values("n_submitted", "extra_overlap")
        .annotate(n=Count("id"))
    )
    return {(r["n_submitted"], r["extra_overlap"]): r["n"] for r in rows}


def n_left_counted(project, annotator):
    """``n_left`` as defined: open ordinary items less those the annotator finished."""
    project.refresh_from_db()
    finished = Assignment.objects.filter(item=OuterRef("pk"), annotator=annotator).exclude(
        status=Assignment.Status.RESERVED
    )
    return (
        Item.objects.filter(
            project=project, is_gold=False, n_submitted__lt=project.overlap + F("extra_overlap")
        )
        .filter(~Exists(finished))
        .count()
    )


def assert_in_step(project, annotators=()):
    assert tallied(project) == counted(project)
    for annotator in annotators:
        progress = selectors.annotator_progress(project=project, annotator=annotator)
        assert progress.n_left == n_left_counted(project, annotator)


def reserve(project, annotator):
    project.refresh_from_db()
    got = hot_path.hot_next(project_id=project.pk, annotator=annotator)
    if got is not None:
        return got.assignment
    return services.assignment_reserve_next(project=project, annotator=annotator)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the tally is kept by PostgreSQL triggers")


def test_imports_and_reimports_are_tallied():
    project, annotators = make(n_items=10)
    assert tallied(project) == {(0, 0): 10}
    # A re-import updates payloads and turns two items into gold ones, and adds three.
    records = [
        pair_record(i, gold={"preference": 1}) if i < 2 else pair_record(i) for i in range(13)
    ]
    services.items_import(project=project, stream=jsonl(records))
    assert tallied(project) == {(0, 0): 11}
    assert_in_step(project, annotators)


def test_hot_and_full_submits_skips_and_undos_are_tallied():
    project, annotators = make()
    first, second, third = annotators
    for _ in range(3):
        got = hot_path.hot_next(project_id=project.pk, annotator=first)
        assert got is not None
        assert hot_path.hot_submit(assignment_id=got.assignment.pk, annotator=first, value=VOTE)
        assert_in_step(project, annotators)
    for _ in range(3):
        assignment = services.assignment_reserve_next(project=project, annotator=second)
        services.annotation_submit(assignment_id=assignment.pk, annotator=second, value=VOTE)
        assert_in_step(project, annotators)
    assignment = reserve(project, third)
    services.assignment_skip(assignment_id=assignment.pk, annotator=third)
    assert_in_step(project, annotators)
    reserve(project, third)
    services.assignment_unskip(assignment_id=assignment.pk, annotator=third)
    services.annotation_submit(assignment_id=assignment.pk, annotator=third, value=VOTE)
    assert_in_step(project, annotators)
    # A late submit on an expired reservation (the full path) closes an item too.
    late = reserve(project, third)
    Assignment.objects.filter(pk=late.pk).update(expires_at=timezone.now())
    services.annotation_submit(assignment_id=late.pk, annotator=third, value=VOTE)
    assert_in_step(project, annotators)
    assert any(n >= project.overlap for n, _ in tallied(project))


def test_an_overlap_change_needs_no_upkeep():
    project, annotators = make(overlap=3)
    for annotator in annotators[:2]:
        for _ in range(4):
            assignment = reserve(project, annotator)
            services.annotation_submit(assignment_id=assignment.pk, annotator=annotator, value=VOTE)
    for overlap in (2, 1, 5, 3):
        project_update(project=project, overlap=overlap)
        assert_in_step(project, annotators)


def test_adaptive_overlap_and_labels_imports_are_tallied():
    project, annotators = make(n_items=6, overlap=2)
    rows = [
        {"external_id": f"pair-{i}", "annotator": name, "value": {"preference": vote}}
        for i in range(4)
        for name, vote in (("w1", -2), ("w2", 2 if i % 2 else -2))
    ]
    services.labels_import(project=project, stream=jsonl(rows), fmt="jsonl")
    assert_in_step(project, annotators)
    assert tallied(project)[(2, 0)] == 4
    # Disagreeing items (odd ones) get more annotations wanted: open again.
    project_update(project=project, adaptive_extra=2, adaptive_threshold=1.0)
    assert_in_step(project, annotators)
    assert tallied(project)[(2, 2)] == 2
    # And in the submit transaction.
    for annotator in annotators:
        assignment = reserve(project, annotator)
        services.annotation_submit(assignment_id=assignment.pk, annotator=annotator, value=VOTE)
        assert_in_step(project, annotators)


def test_gold_flags_and_deletions_are_tallied():
    project, annotators = make(n_items=8)
    Item.objects.filter(project=project, external_id__in=["pair-0", "pair-1"]).update(is_gold=True)
    assert_in_step(project, annotators)
    Item.objects.filter(project=project, external_id="pair-0").update(is_gold=False)
    assert_in_step(project, annotators)
    Item.objects.filter(project=project, external_id__in=["pair-2", "pair-3"]).delete()
    assert_in_step(project, annotators)
    assert tallied(project) == {(0, 0): 5}
    other, _ = make(n_items=3)
    project.delete()
    assert not ItemTally.objects.filter(project_id=project.pk).exists()
    assert tallied(other) == {(0, 0): 3}


def test_many_small_changes_are_folded_into_a_few_rows():
    project, annotators = make(n_items=40, overlap=3)
    for index in range(120):  # a statement each, more than the fold threshold
        Item.objects.filter(project=project, external_id=f"pair-{index % 40}").update(
            n_submitted=F("n_submitted") + 1 if index < 80 else F("n_submitted") - 1
        )
    assert_in_step(project, annotators)
    assert ItemTally.objects.filter(project=project).count() <= 64 + 2


def test_concurrent_submits_keep_the_tally_exact():
    project, annotators = make(n_items=30, overlap=3, n_annotators=6)
    stop = threading.Event()

    def work(index, barrier):
        annotator = annotators[index]
        barrier.wait()
        while not stop.is_set():
            assignment = reserve(Project.objects.get(pk=project.pk), annotator)
            if assignment is None:
                return
            if index % 3 == 2 and assignment.pk % 4 == 0:
                services.assignment_skip(assignment_id=assignment.pk, annotator=annotator)
                continue
            stored = hot_path.hot_submit(
                assignment_id=assignment.pk, annotator=annotator, value=VOTE
            )
            if stored is None:
                services.annotation_submit(
                    assignment_id=assignment.pk, annotator=annotator, value=VOTE
                )

    errors = run_threads(work, len(annotators))
    assert errors == []
    assert_in_step(project, annotators)
    assert Assignment.objects.filter(project=project, status="submitted").count() > 0


def test_n_left_is_exact_counted_from_either_side():
    """An annotator's finished-and-still-open items are counted from the open items already
    started when those are fewer than their answers, else from their own assignments: the
    same ``n_left`` both ways, on the hot path and in the progress selector."""
    project, (busy, light, fresh) = make(n_items=12, overlap=3)
    for _ in range(5):
        assignment = reserve(project, busy)
        services.annotation_submit(assignment_id=assignment.pk, annotator=busy, value=VOTE)
    assignment = reserve(project, light)
    services.annotation_submit(assignment_id=assignment.pk, annotator=light, value=VOTE)
    # A skip of an item nobody answered yet (n_submitted 0): still open, finished by them.
    untouched = Item.objects.filter(project=project, n_submitted=0).order_by("pk").first()
    skipped = Assignment.objects.create(
        project=project, item=untouched, annotator=light, reserved_at=timezone.now(),
        expires_at=timezone.now() + timezone.timedelta(minutes=5),
    )  # fmt: skip
    services.assignment_skip(assignment_id=skipped.pk, annotator=light)
    started = Item.objects.filter(project=project, n_submitted__gte=1).count()
    assert 1 < started <= 5  # more started items than ``light`` answered, fewer than ``busy`` did
    assert_in_step(project, [busy, light, fresh])
    for annotator in (busy, light, fresh):
        got = hot_path.hot_next(project_id=project.pk, annotator=annotator)
        assert got is not None
        expected = n_left_counted(project, annotator)
        assert got.n_left == expected
        assert selectors.annotator_progress(project=project, annotator=annotator).n_left == expected

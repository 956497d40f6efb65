"""Adaptive overlap (issue #12 point 10, HelpSteer2's rule): up to N more annotations for an item
whose first k labels disagree, served by the assignment engine under its usual guarantees."""

import io
import json
import random
import time
from collections import Counter

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from analysis.figures import agreement_compute
from annotate import selectors, services
from annotate.models import Annotation, Assignment, Item, Membership, Project
from annotate.services.adaptive import adaptive_extend, adaptive_extend_items
from annotate.tasktypes import get_task_type
from core.errors import ImportFailed, InvalidInput
from stats.spread import not_unanimous, spread, spread_exceeds
from tests.annotate.test_concurrency import DEADLINE_SECONDS, run_threads
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record
from tests.typedata import thread_record, tom_record


def jsonl(records) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in records).encode())


def vote(preference):
    return {"preference": preference}


def fields_named(body):
    return {error["field"] for error in body["errors"]}


# --- the rule, unit by unit


def test_spread_is_max_minus_min_and_undefined_below_two_values():
    assert spread([-1, 2, 0]) == 3
    assert spread([1.5]) is None
    assert spread([float("nan"), 1.0]) is None
    assert spread([]) is None


@pytest.mark.parametrize(
    ("values", "threshold", "expected"),
    [
        ([-1, 0], 1, False),  # 1 point is not *more* than 1
        ([-1, 1], 1, True),
        ([2, 2, 2], 0, False),
        ([2, 1], 0, True),
        ([0], 0, False),
        ([-2, 2], 3.5, True),
        ([-2, 2], 4, False),
    ],
)
def test_spread_exceeds_means_strictly_more_than_the_threshold(values, threshold, expected):
    assert spread_exceeds(values, threshold) is expected


def test_not_unanimous_compares_labels_as_json_and_leaves_none_out():
    assert not_unanimous(["a", "a", None]) is False
    assert not_unanimous(["a", "b"]) is True
    assert not_unanimous([1, 1.0]) is False
    assert not_unanimous([True, 1]) is True
    assert not_unanimous([{"x": 1, "y": 2}, {"y": 2, "x": 1}]) is False
    assert not_unanimous([]) is False


PREFERENCE = get_task_type("preference_pair")


@pytest.mark.parametrize(
    ("votes", "threshold", "expected"),
    [
        ([-1, 0, -1], 1, False),  # A better, tie: one point apart
        ([-1, 1], 1, True),  # A better against B better: two points
        ([-2, -1, 0], 1, True),
        ([-2, -1, 0], 2, False),
        ([2, 2, 2], 0, False),
        ([-2, 2], 3, True),
        ([-2, 2], 4, False),
    ],
)
def test_preference_votes_disagree_by_their_spread_on_five_points(votes, threshold, expected):
    values = [vote(v) for v in votes]
    assert (
        PREFERENCE.labels_disagree(values, payload={}, threshold=threshold, config={}) is expected
    )


@pytest.mark.parametrize(
    ("votes", "threshold", "expected"),
    [
        ([-3, 3], 5, True),  # much better each way: six points
        ([-3, 3], 6, False),
        ([-1, 1], 1, True),  # slightly better each way: two points
        ([-1, 1], 2, False),
        ([3, 2, 1], 1, True),
        ([0, 1], 1, False),
    ],
)
def test_preference_votes_disagree_by_their_spread_on_seven_points(votes, threshold, expected):
    values = [vote(v) for v in votes]
    config = {"scale": 7}
    assert (
        PREFERENCE.labels_disagree(values, payload={}, threshold=threshold, config=config)
        is expected
    )


def test_a_vote_off_the_projects_scale_is_refused():
    with pytest.raises(ValueError, match="not on the scale"):
        PREFERENCE.labels_disagree([vote(3), vote(0)], payload={}, threshold=1, config={})


def toxic(flag, comment="t0c1", derailment="t0c1"):
    return {
        "toxic": flag,
        "toxic_comment": comment if flag else None,
        "derailment_comment": derailment if flag else None,
        "tones": {},
    }


@pytest.mark.parametrize("threshold", [0, 1, 100])
def test_a_nominal_primary_field_disagrees_when_not_unanimous_whatever_the_threshold(threshold):
    plugin = get_task_type("derailment")
    payload = thread_record(0)
    same = [toxic(True, "t0c1", "t0c1"), toxic(True, "t0c2", "t0c0")]
    different = [toxic(True), toxic(False)]
    config = plugin.config({})

    # Only the primary field (toxic yes/no) counts: other fields may differ.
    assert not plugin.labels_disagree(same, payload=payload, threshold=threshold, config=config)
    assert plugin.labels_disagree(different, payload=payload, threshold=threshold, config=config)


def test_a_primary_field_read_from_the_item_compares_that_questions_answers():
    plugin = get_task_type("tom")
    payload = tom_record(0)
    config = plugin.config({})
    # The primary field is the mental-state question ("aware"); the others may differ.
    agree = [
        {"answers": {"aware": "B", "judge": "A", "action": "A"}},
        {"answers": {"aware": "B", "judge": "B", "action": "B"}},
    ]
    disagree = [
        {"answers": {"aware": "A", "judge": "A", "action": "A"}},
        {"answers": {"aware": "B", "judge": "A", "action": "A"}},
    ]

    assert not plugin.labels_disagree(agree, payload=payload, threshold=1, config=config)
    assert plugin.labels_disagree(disagree, payload=payload, threshold=1, config=config)


# --- the rule in the submit


@pytest.fixture
def adaptive(project, import_pairs):
    """Overlap 2, up to 2 more annotations when the first 2 votes are more than 1 point apart."""
    project.overlap = 2
    project.adaptive_extra = 2
    project.save()
    import_pairs(3)
    return project


def label(project, annotator, external_id, preference):
    """``annotator`` reserves their next item, which must be ``external_id``, and votes."""
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    assert assignment is not None and assignment.item.external_id == external_id
    return services.annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, value=vote(preference)
    )


def only_open(project, external_id):
    """Leave one item open: the others are marked as needing nothing."""
    Item.objects.filter(project=project).exclude(external_id=external_id).update(
        n_submitted=project.overlap
    )


def item(project, external_id):
    return Item.objects.get(project=project, external_id=external_id)


def test_the_kth_label_extends_an_item_whose_votes_disagree(adaptive, make_annotator):
    only_open(adaptive, "pair-0")
    first, second = make_annotator("first"), make_annotator("second")

    label(adaptive, first, "pair-0", -1)
    assert item(adaptive, "pair-0").extra_overlap == 0
    label(adaptive, second, "pair-0", 1)

    assert item(adaptive, "pair-0").extra_overlap == 2
    assert selectors.project_progress(project=adaptive).n_extended == 1


def test_an_item_whose_first_votes_agree_is_not_extended(adaptive, make_annotator):
    only_open(adaptive, "pair-0")
    label(adaptive, make_annotator("first"), "pair-0", -1)
    label(adaptive, make_annotator("second"), "pair-0", 0)

    assert item(adaptive, "pair-0").extra_overlap == 0
    third = make_annotator("third")
    assert services.assignment_reserve_next(project=adaptive, annotator=third) is None
    assert item(adaptive, "pair-0").n_submitted == 2  # done at the overlap


def test_only_the_first_k_labels_decide(adaptive, make_annotator):
    adaptive.overlap = 3
    adaptive.adaptive_first_k = 2
    adaptive.save()
    only_open(adaptive, "pair-0")
    Item.objects.filter(project=adaptive, external_id="pair-0").update(n_submitted=0)
    label(adaptive, make_annotator("first"), "pair-0", 1)
    label(adaptive, make_annotator("second"), "pair-0", 1)
    # The third label disagrees with the first two, but comes after k = 2.
    label(adaptive, make_annotator("third"), "pair-0", -2)

    assert item(adaptive, "pair-0").extra_overlap == 0


def test_a_project_without_the_option_costs_no_query(project, django_assert_num_queries):
    assert project.adaptive_extra == 0
    with django_assert_num_queries(0):
        adaptive_extend(project=project, item_id=1)


def test_an_extended_item_is_served_up_to_its_new_target_and_never_twice_to_one_annotator(
    adaptive, make_annotator
):
    only_open(adaptive, "pair-0")
    annotators = [make_annotator(f"a{i}") for i in range(6)]
    label(adaptive, annotators[0], "pair-0", -2)
    label(adaptive, annotators[1], "pair-0", 2)

    # The first two have done it: they get nothing more; two others get it, the rest nothing.
    for done in annotators[:2]:
        assert services.assignment_reserve_next(project=adaptive, annotator=done) is None
    label(adaptive, annotators[2], "pair-0", 0)
    label(adaptive, annotators[3], "pair-0", 1)
    for late in annotators[4:]:
        assert services.assignment_reserve_next(project=adaptive, annotator=late) is None

    found = item(adaptive, "pair-0")
    assert (found.n_submitted, found.extra_overlap) == (4, 2)
    assert Annotation.objects.filter(item=found).count() == 4
    # The labels of the extension do not decide again: the extra stays as it is.
    assert found.extra_overlap == adaptive.adaptive_extra


def test_a_nominal_type_is_extended_when_its_first_labels_are_not_unanimous(lead):
    project = services.project_create(
        name="Threads", task_type="derailment", created_by=lead, overlap=2, adaptive_extra=1
    )
    services.items_import(project=project, stream=jsonl([thread_record(0)]), fmt="jsonl")
    values = [toxic(True), toxic(False), toxic(False)]
    for index, value in enumerate(values):
        user = UserFactory(username=f"t{index}")
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        assignment = services.assignment_reserve_next(project=project, annotator=user)
        services.annotation_submit(assignment_id=assignment.pk, annotator=user, value=value)

    found = Item.objects.get(project=project)
    assert (found.n_submitted, found.extra_overlap) == (3, 1)


# --- through the API


def test_the_api_flow_extends_disagreeing_items_only(lead, api):
    created = api(UserFactory(username="boss", is_staff=True)).post(
        "/api/v1/projects/",
        {
            "name": "Adaptive",
            "task_type": "preference_pair",
            "overlap": 2,
            "adaptive_extra": 3,
            "adaptive_threshold": 1,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["adaptive_extra"], body["adaptive_first_k"], body["adaptive_threshold"]) == (
        3,
        None,
        1.0,
    )
    project = Project.objects.get(pk=body["id"])
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    services.items_import(project=project, stream=jsonl([pair_record(0), pair_record(1)]))
    # pair-0: the votes swing from one side to the other; pair-1: everyone says "B better".
    votes = {"pair-0": [-2, 2, 0, 1, -1], "pair-1": [1, 1, 1, 1, 1]}
    annotators = []
    for index in range(8):
        user = UserFactory(username=f"api{index}")
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        annotators.append(user)

    served = Counter()
    for user in annotators:
        client = api(user)
        while True:
            reserved = client.post(f"/api/v1/projects/{project.pk}/next/")
            if reserved.status_code == 204:
                break
            assert reserved.status_code == 200, reserved.content
            external_id = reserved.json()["item"]["external_id"]
            preference = votes[external_id][served[external_id]]
            served[external_id] += 1
            stored = client.post(
                f"/api/v1/assignments/{reserved.json()['assignment']['id']}/submit/",
                {"value": vote(preference)},
                format="json",
            )
            assert stored.status_code == 201, stored.content

    assert served == {"pair-0": 5, "pair-1": 2}  # overlap + 3 for the split item, overlap else
    pairs = Counter(Annotation.objects.filter(project=project).values_list("item", "annotator"))
    assert set(pairs.values()) == {1}
    progress = api(lead).get(f"/api/v1/projects/{project.pk}/").json()["progress"]
    assert progress["n_extended"] == 1
    assert progress["n_done"] == 2
    assert progress["n_annotations_wanted"] == 2 * 2 + 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"adaptive_extra": -1}, "adaptive_extra"),
        ({"adaptive_extra": 21}, "adaptive_extra"),
        ({"adaptive_extra": "many"}, "adaptive_extra"),
        ({"adaptive_first_k": 1}, "adaptive_first_k"),
        ({"adaptive_threshold": -0.5}, "adaptive_threshold"),
        ({"adaptive_threshold": "wide"}, "adaptive_threshold"),
        # k beyond the overlap: an item never gets that many labels before it is done.
        ({"overlap": 3, "adaptive_extra": 2, "adaptive_first_k": 4}, "adaptive_first_k"),
        # k defaults to the overlap, and one label cannot disagree.
        ({"overlap": 1, "adaptive_extra": 2}, "adaptive_extra"),
    ],
)
def test_creating_with_bad_adaptive_settings_is_a_400_naming_the_field(db, api, changes, field):
    staff = UserFactory(username="boss", is_staff=True)
    payload = {"name": "Bad", "task_type": "preference_pair", **changes}

    response = api(staff).post("/api/v1/projects/", payload, format="json")

    assert response.status_code == 400, response.content
    assert field in fields_named(response.json())
    assert not Project.objects.exists()


def test_a_lead_changes_the_settings_and_existing_items_are_decided(
    adaptive, make_annotator, lead, api
):
    adaptive.adaptive_extra = 0
    adaptive.save()
    only_open(adaptive, "pair-0")
    label(adaptive, make_annotator("first"), "pair-0", -2)
    label(adaptive, make_annotator("second"), "pair-0", 2)
    assert item(adaptive, "pair-0").extra_overlap == 0  # the option was off
    url = f"/api/v1/projects/{adaptive.pk}/"

    refused = api(make_annotator("third")).patch(url, {"adaptive_extra": 1}, format="json")
    bad = api(lead).patch(url, {"adaptive_extra": 1, "adaptive_first_k": 3}, format="json")
    changed = api(lead).patch(url, {"adaptive_extra": 1}, format="json")

    assert refused.status_code == 403
    assert bad.status_code == 400 and fields_named(bad.json()) == {"adaptive_first_k"}
    assert changed.status_code == 200, changed.content
    assert changed.json()["adaptive_extra"] == 1
    assert changed.json()["progress"]["n_extended"] == 1
    # pair-0's first two votes disagree; the other items have no labels at all.
    assert item(adaptive, "pair-0").extra_overlap == 1
    assert item(adaptive, "pair-1").extra_overlap == 0


def test_the_service_refuses_bad_settings_and_keeps_the_old_ones(adaptive):
    with pytest.raises(InvalidInput) as exc:
        services.project_update(project=adaptive, overlap=1)

    assert [error.field for error in exc.value.detail] == ["adaptive_extra"]
    adaptive.refresh_from_db()
    assert (adaptive.overlap, adaptive.adaptive_extra) == (2, 2)


def test_the_database_refuses_settings_out_of_range(adaptive):
    for field, value in (("adaptive_extra", 21), ("adaptive_first_k", 1)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Project.objects.filter(pk=adaptive.pk).update(**{field: value})


# --- imported labels


def test_a_labels_import_applies_the_rule_to_the_items_it_touched(adaptive):
    adaptive.adaptive_first_k = 2
    adaptive.overlap = 3
    adaptive.save()
    rows = [
        # pair-0: the first two (by their published time) disagree; the third comes later.
        {"external_id": "pair-0", "annotator": "w1", "value": vote(-2), "created_at": "2024-01-01"},
        {"external_id": "pair-0", "annotator": "w2", "value": vote(2), "created_at": "2024-01-02"},
        {"external_id": "pair-0", "annotator": "w3", "value": vote(2), "created_at": "2024-01-03"},
        # pair-1: the first two agree; a late third one disagrees, and does not count.
        {"external_id": "pair-1", "annotator": "w3", "value": vote(-2), "created_at": "2024-02-09"},
        {"external_id": "pair-1", "annotator": "w1", "value": vote(1), "created_at": "2024-02-01"},
        {"external_id": "pair-1", "annotator": "w2", "value": vote(2), "created_at": "2024-02-02"},
        # pair-2: one label only.
        {"external_id": "pair-2", "annotator": "w1", "value": vote(-2)},
    ]

    services.labels_import(project=adaptive, stream=jsonl(rows), fmt="jsonl")

    extras = dict(Item.objects.filter(project=adaptive).values_list("external_id", "extra_overlap"))
    assert extras == {"pair-0": 2, "pair-1": 0, "pair-2": 0}


def test_a_failed_labels_import_extends_nothing(adaptive):
    rows = [
        {"external_id": "pair-0", "annotator": "w1", "value": vote(-2)},
        {"external_id": "pair-0", "annotator": "w2", "value": vote(2)},
        {"external_id": "pair-9", "annotator": "w2", "value": vote(2)},
    ]
    with pytest.raises(ImportFailed):
        services.labels_import(project=adaptive, stream=jsonl(rows), fmt="jsonl")

    assert not Item.objects.filter(project=adaptive, extra_overlap__gt=0).exists()


def test_the_set_based_pass_never_shrinks_an_extra(adaptive, make_annotator):
    only_open(adaptive, "pair-0")
    label(adaptive, make_annotator("first"), "pair-0", -2)
    label(adaptive, make_annotator("second"), "pair-0", 2)
    Item.objects.filter(project=adaptive, external_id="pair-0").update(extra_overlap=5)
    adaptive.adaptive_extra = 1

    assert adaptive_extend_items(project=adaptive) == 0
    assert item(adaptive, "pair-0").extra_overlap == 5


# --- the dashboard


def test_the_project_page_and_the_dashboard_show_the_extended_items(
    adaptive, make_annotator, lead, client
):
    only_open(adaptive, "pair-0")
    label(adaptive, make_annotator("first"), "pair-0", -2)
    label(adaptive, make_annotator("second"), "pair-0", 2)
    client.force_login(lead)

    page = client.get(reverse("project", args=[adaptive.pk])).content.decode()
    dashboard = client.get(reverse("analysis-dashboard", args=[adaptive.pk])).content.decode()

    assert '<strong id="n-extended">1</strong> item extended' in page
    assert "up to 2 more annotations" in page
    assert '<span id="n-extended">1 item extended</span>' in dashboard
    figures = agreement_compute(project=adaptive)
    assert figures.progress.n_extended == 1
    assert figures.progress.to_dict()["n_extended"] == 1
    assert type(figures.progress).from_dict(figures.progress.to_dict()) == figures.progress


# --- under concurrency, on PostgreSQL


def racing_project(*, n_items, n_annotators, overlap, extra):
    lead = UserFactory(username="race-lead")
    project = ProjectFactory(overlap=overlap, adaptive_extra=extra, created_by=lead)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    services.items_import(project=project, stream=jsonl(pair_record(i) for i in range(n_items)))
    annotators = []
    for index in range(n_annotators):
        user = UserFactory(username=f"race{index}")
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        annotators.append(user)
    return project, annotators


def annotate_until_done(project, annotators, choose_vote):
    """Every annotator reserves and submits until every item has its (possibly raised) target;
    ``choose_vote(rng, external_id)`` gives their vote."""

    def work(index, barrier):
        rng = random.Random(7000 + index)
        annotator = annotators[index]
        given = set()
        barrier.wait()
        started = time.monotonic()
        while time.monotonic() - started < DEADLINE_SECONDS - 10:
            assignment = services.assignment_reserve_next(project=project, annotator=annotator)
            if assignment is None:
                progress = selectors.project_progress(project=project)
                if progress.n_done == progress.n_items:
                    return
                time.sleep(0.005)  # others hold the rest, or a submit may reopen an item
                continue
            if assignment.item_id in given:
                raise AssertionError(f"item {assignment.item_id} given twice")
            given.add(assignment.item_id)
            services.annotation_submit(
                assignment_id=assignment.pk,
                annotator=annotator,
                value=vote(choose_vote(rng, assignment.item.external_id)),
            )
        raise AssertionError("annotators never finished")

    return run_threads(work, len(annotators))


def assert_guarantees(project):
    """Counts exact, never over an item's target, never twice to one annotator."""
    per_item = Counter(Annotation.objects.filter(project=project).values_list("item", flat=True))
    items = list(Item.objects.filter(project=project))
    for found in items:
        assert per_item[found.pk] == found.n_submitted, found.external_id
        assert found.n_submitted <= project.overlap + found.extra_overlap, found.external_id
        assert found.extra_overlap in (0, project.adaptive_extra), found.external_id
    for model in (Annotation, Assignment):
        pairs = Counter(model.objects.filter(project=project).values_list("item", "annotator"))
        assert max(pairs.values(), default=1) == 1
    return items


@pytest.mark.django_db(transaction=True)
def test_racing_annotators_extend_exactly_the_items_whose_first_votes_disagree():
    project, annotators = racing_project(n_items=24, n_annotators=10, overlap=2, extra=2)
    # Even items: everyone agrees. Odd items: each vote is A or B much better, by chance.
    agreeing = {f"pair-{i}" for i in range(0, 24, 2)}

    def choose_vote(rng, external_id):
        return 1 if external_id in agreeing else rng.choice((-2, 2))

    assert annotate_until_done(project, annotators, choose_vote) == []

    items = assert_guarantees(project)
    values = {}
    for found in Annotation.objects.filter(project=project).order_by("created_at", "id"):
        values.setdefault(found.item_id, []).append(found.value["preference"])
    for found in items:
        first_two = values[found.pk][:2]
        disagree = max(first_two) - min(first_two) > 1  # by hand: more than 1 point apart
        assert found.extra_overlap == (2 if disagree else 0), (found.external_id, first_two)
        assert found.n_submitted == 2 + found.extra_overlap, "every item ends done"
        if found.external_id in agreeing:
            assert found.extra_overlap == 0
    # 12 items with random sides: all twelve agreeing has a chance of 1 in 4096.
    assert sum(1 for found in items if found.extra_overlap) > 0


@pytest.mark.django_db(transaction=True)
def test_racing_annotators_fill_extended_items_to_their_target_and_no_further():
    project, annotators = racing_project(n_items=6, n_annotators=12, overlap=2, extra=3)
    first, second = annotators[:2]
    # Phase one, in order: two annotators label everything; the odd items split.
    for _ in range(6):
        for user, side in ((first, -2), (second, 2)):
            assignment = services.assignment_reserve_next(project=project, annotator=user)
            number = int(assignment.item.external_id.split("-")[1])
            services.annotation_submit(
                assignment_id=assignment.pk,
                annotator=user,
                value=vote(side if number % 2 else 1),
            )
    assert Item.objects.filter(project=project, extra_overlap=3).count() == 3

    # Phase two: ten annotators race for the nine extra annotations on three items.
    racers = annotators[2:]
    assert annotate_until_done(project, racers, lambda rng, _external_id: rng.choice((-1, 1))) == []

    items = assert_guarantees(project)
    for found in items:
        number = int(found.external_id.split("-")[1])
        assert found.n_submitted == (5 if number % 2 else 2), found.external_id

"""Assignment (SPEC 3): next, reservations and their expiry, submit, resubmit and skip."""

from datetime import timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from annotate import services
from annotate.models import Annotation, AnnotationVersion, Assignment, Item
from annotate.services.assignment import MAX_TIME_SPENT_MS
from annotate.tasktypes.preference_pair import PreferencePair
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.factories import UserFactory

T0 = timezone.now().replace(microsecond=0) + timedelta(days=1)


def reserve(project, annotator, *, now=T0):
    return services.assignment_reserve_next(project=project, annotator=annotator, now=now)


def submit(assignment, annotator=None, *, preference=1, now=T0, **value):
    return services.annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator or assignment.annotator,
        value={"preference": preference, **value},
        now=now,
    )


def skip(assignment, *, now=T0):
    return services.assignment_skip(
        assignment_id=assignment.pk, annotator=assignment.annotator, now=now
    )


def set_ranks(project, ranks):
    for external_id, rank in ranks.items():
        Item.objects.filter(project=project, external_id=external_id).update(rank=rank)


def set_overlap(project, overlap):
    project.overlap = overlap
    project.save(update_fields=["overlap"])


def external_id(assignment):
    return assignment.item.external_id


# --- next


def test_next_gives_an_unseen_item_and_reserves_it(project, make_annotator, import_pairs):
    import_pairs(3)
    annotator = make_annotator("ann")
    assignment = reserve(project, annotator)
    assert assignment.status == Assignment.Status.RESERVED
    assert assignment.annotator == annotator
    assert assignment.item.project == project
    assert assignment.reserved_at == T0
    assert assignment.expires_at == T0 + timedelta(seconds=project.reservation_seconds)


def test_next_returns_none_for_a_project_without_items(project, make_annotator):
    assert reserve(project, make_annotator("ann")) is None


def test_next_follows_the_stable_random_rank_among_equally_done_items(
    project, make_annotator, import_pairs
):
    import_pairs(3)
    set_ranks(project, {"pair-0": 30, "pair-1": 10, "pair-2": 20})
    first = reserve(project, make_annotator("ann1"))
    second = reserve(project, make_annotator("ann2"))
    assert external_id(first) == "pair-1"
    # ann1's live reservation counts, but pair-1 still needs two more: closest to done wins.
    assert external_id(second) == "pair-1"


def test_next_prefers_the_item_closest_to_done(project, make_annotator, import_pairs):
    import_pairs(3)
    set_ranks(project, {"pair-0": 1, "pair-1": 2, "pair-2": 3})
    # ann1 skips the two first-ranked items and labels the last one.
    ann1 = make_annotator("ann1")
    for _ in range(2):
        skip(reserve(project, ann1))
    submit(reserve(project, ann1))
    # pair-2 has one submission, the others none: it comes first despite its rank.
    ann2 = make_annotator("ann2")
    assignment = reserve(project, ann2)
    assert external_id(assignment) == "pair-2"
    submit(assignment)
    # now two submissions against none: still pair-2.
    ann3_assignment = reserve(project, make_annotator("ann3"))
    assert external_id(ann3_assignment) == "pair-2"
    assert Item.objects.get(external_id="pair-2").n_submitted == 2


def test_an_item_with_two_submissions_is_picked_before_one_with_none(
    project, make_annotator, import_pairs
):
    import_pairs(2)
    set_ranks(project, {"pair-0": 1, "pair-1": 2})
    for name in ("ann1", "ann2"):
        annotator = make_annotator(name)
        assignment = reserve(project, annotator)
        if external_id(assignment) == "pair-0":
            skip(assignment)
            assignment = reserve(project, annotator)
        assert external_id(assignment) == "pair-1"
        submit(assignment)
    assert external_id(reserve(project, make_annotator("ann3"))) == "pair-1"


def test_a_live_reservation_is_returned_again_on_next(project, make_annotator, import_pairs):
    import_pairs(5)
    annotator = make_annotator("ann")
    first = reserve(project, annotator)
    again = reserve(project, annotator, now=T0 + timedelta(seconds=5))
    assert again.pk == first.pk
    assert again.item_id == first.item_id
    assert again.expires_at == first.expires_at  # returning it does not extend it
    assert Assignment.objects.filter(annotator=annotator).count() == 1


def test_next_never_gives_an_item_twice_after_submit_or_skip(project, make_annotator, import_pairs):
    import_pairs(6)
    annotator = make_annotator("ann")
    seen = []
    for turn in range(6):
        assignment = reserve(project, annotator)
        seen.append(assignment.item_id)
        if turn % 2:
            skip(assignment)
        else:
            submit(assignment)
    assert len(set(seen)) == 6
    assert reserve(project, annotator) is None
    assert reserve(project, annotator, now=T0 + timedelta(days=30)) is None


def test_an_item_that_reached_its_overlap_is_not_handed_out(project, make_annotator, import_pairs):
    set_overlap(project, 2)
    import_pairs(1)
    for name in ("ann1", "ann2"):
        submit(reserve(project, make_annotator(name)))
    assert Item.objects.get(project=project).n_submitted == 2
    assert reserve(project, make_annotator("ann3")) is None


def test_live_reservations_count_toward_the_overlap(project, make_annotator, import_pairs):
    set_overlap(project, 1)
    import_pairs(2)
    a, b, c = (make_annotator(name) for name in ("a", "b", "c"))
    first = reserve(project, a)
    second = reserve(project, b)
    assert second.item_id != first.item_id
    assert reserve(project, c) is None  # both items are taken, none submitted yet


def test_a_skipped_reservation_gives_the_item_back_to_others(project, make_annotator, import_pairs):
    set_overlap(project, 1)
    import_pairs(1)
    a, b = make_annotator("a"), make_annotator("b")
    assignment = reserve(project, a)
    assert reserve(project, b) is None
    skipped = skip(assignment)
    assert skipped.status == Assignment.Status.SKIPPED
    assert skipped.finished_at == T0
    assert reserve(project, b).item_id == assignment.item_id
    assert reserve(project, a) is None


def test_an_expired_reservation_returns_the_item_to_the_pool(project, make_annotator, import_pairs):
    set_overlap(project, 1)
    project.reservation_seconds = 60
    project.save(update_fields=["reservation_seconds"])
    import_pairs(1)
    a, b = make_annotator("a"), make_annotator("b")
    held = reserve(project, a)
    assert reserve(project, b, now=T0 + timedelta(seconds=59)) is None
    taken = reserve(project, b, now=T0 + timedelta(seconds=60))
    assert taken.item_id == held.item_id
    assert taken.annotator == b
    # a's next no longer returns the expired reservation: b holds the only item.
    assert reserve(project, a, now=T0 + timedelta(seconds=61)) is None


def test_an_expired_reservation_expires_in_real_time_too(project, make_annotator, import_pairs):
    set_overlap(project, 1)
    import_pairs(1)
    a, b = make_annotator("a"), make_annotator("b")
    past = timezone.now() - timedelta(seconds=project.reservation_seconds + 1)
    held = services.assignment_reserve_next(project=project, annotator=a, now=past)
    taken = services.assignment_reserve_next(project=project, annotator=b)
    assert taken.item_id == held.item_id


def test_an_annotators_own_expired_reservation_is_renewed_not_duplicated(
    project, make_annotator, import_pairs
):
    import_pairs(1)
    annotator = make_annotator("ann")
    first = reserve(project, annotator)
    later = T0 + timedelta(seconds=project.reservation_seconds + 5)
    renewed = reserve(project, annotator, now=later)
    assert renewed.pk == first.pk
    assert renewed.reserved_at == later
    assert renewed.expires_at == later + timedelta(seconds=project.reservation_seconds)
    assert renewed.shown_order == first.shown_order
    assert Assignment.objects.filter(annotator=annotator).count() == 1


def test_reservation_length_follows_the_project_setting(project, make_annotator, import_pairs):
    project.reservation_seconds = 90
    project.save(update_fields=["reservation_seconds"])
    import_pairs(1)
    assignment = reserve(project, make_annotator("ann"))
    assert assignment.expires_at - assignment.reserved_at == timedelta(seconds=90)


# --- submit


def test_submit_stores_the_annotation_and_counts_it(project, make_annotator, import_pairs):
    import_pairs(1)
    annotator = make_annotator("ann")
    assignment = reserve(project, annotator)
    annotation, created = submit(
        assignment, preference=-2, rationale="  A is right ", now=T0 + timedelta(seconds=12)
    )
    assert created is True
    assert annotation.value == {
        "preference": -2,
        "aspects": {},
        "rationale": "  A is right ",
        "flags": [],
    }
    assert (annotation.version, annotation.time_spent_ms) == (1, 12_000)
    assert (annotation.item_id, annotation.annotator, annotation.project) == (
        assignment.item_id,
        annotator,
        project,
    )
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED
    assert assignment.finished_at == T0 + timedelta(seconds=12)
    assert Item.objects.get(pk=assignment.item_id).n_submitted == 1


def test_resubmitting_updates_in_place_and_keeps_history(project, make_annotator, import_pairs):
    import_pairs(1)
    assignment = reserve(project, make_annotator("ann"))
    first, created = submit(assignment, preference=1, now=T0 + timedelta(seconds=5))
    second, created_again = submit(assignment, preference=-1, now=T0 + timedelta(seconds=9))
    third, _ = submit(assignment, preference=2, now=T0 + timedelta(seconds=20))
    assert (created, created_again) == (True, False)
    assert first.pk == second.pk == third.pk
    assert Annotation.objects.count() == 1
    stored = Annotation.objects.get()
    assert (stored.version, stored.value["preference"]) == (3, 2)
    history = list(AnnotationVersion.objects.filter(annotation=stored).order_by("version"))
    assert [(h.version, h.value["preference"]) for h in history] == [(1, 1), (2, -1)]
    assert [h.time_spent_ms for h in history] == [5_000, 9_000]
    assert Item.objects.get().n_submitted == 1


def test_an_identical_resubmission_does_not_bump_the_version(project, make_annotator, import_pairs):
    import_pairs(1)
    assignment = reserve(project, make_annotator("ann"))
    submit(assignment, preference=0, flags=["cannot judge"])
    annotation, created = submit(assignment, preference=0, flags=["cannot judge"])
    assert created is False
    assert annotation.version == 1
    assert not AnnotationVersion.objects.exists()
    assert Item.objects.get().n_submitted == 1


def test_resubmission_is_accepted_after_the_item_filled_up(project, make_annotator, import_pairs):
    set_overlap(project, 1)
    import_pairs(1)
    assignment = reserve(project, make_annotator("ann"))
    submit(assignment, preference=1)
    late = T0 + timedelta(days=2)
    annotation, created = submit(assignment, preference=-1, now=late)
    assert (created, annotation.version, annotation.value["preference"]) == (False, 2, -1)


def test_a_late_submit_of_an_expired_reservation_is_accepted_when_still_needed(
    project, make_annotator, import_pairs
):
    set_overlap(project, 1)
    import_pairs(1)
    assignment = reserve(project, make_annotator("ann"))
    late = T0 + timedelta(seconds=project.reservation_seconds + 60)
    annotation, created = submit(assignment, preference=2, now=late)
    assert created is True
    assert annotation.value["preference"] == 2
    assert Item.objects.get().n_submitted == 1


def test_a_late_submit_is_rejected_with_conflict_when_the_item_is_full(
    project, make_annotator, import_pairs
):
    set_overlap(project, 1)
    import_pairs(1)
    a, b = make_annotator("a"), make_annotator("b")
    expired = reserve(project, a)
    later = T0 + timedelta(seconds=project.reservation_seconds + 1)
    submit(reserve(project, b, now=later), now=later)
    with pytest.raises(Conflict) as exc:
        submit(expired, preference=-1, now=later + timedelta(seconds=1))
    assert "expired" in exc.value.message
    assert "not stored" in exc.value.message
    assert not Annotation.objects.filter(annotator=a).exists()
    assert Item.objects.get().n_submitted == 1


def test_a_late_submit_is_rejected_while_others_hold_the_needed_reservations(
    project, make_annotator, import_pairs
):
    set_overlap(project, 1)
    import_pairs(1)
    a, b = make_annotator("a"), make_annotator("b")
    expired = reserve(project, a)
    later = T0 + timedelta(seconds=project.reservation_seconds + 1)
    held = reserve(project, b, now=later)
    with pytest.raises(Conflict, match="expired"):
        submit(expired, now=later)
    # b's submission, made in time, is stored.
    annotation, created = submit(held, now=later + timedelta(seconds=1))
    assert created is True
    assert Item.objects.get().n_submitted == 1


def test_skip_then_submit_is_accepted_while_the_item_still_needs_it(
    project, make_annotator, import_pairs
):
    import_pairs(1)
    annotator = make_annotator("ann")
    assignment = reserve(project, annotator)
    skip(assignment)
    annotation, created = submit(assignment, preference=-1)
    assert created is True
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED
    assert Item.objects.get().n_submitted == 1
    assert reserve(project, annotator) is None


def test_skip_then_submit_is_rejected_when_the_item_filled_up(
    project, make_annotator, import_pairs
):
    set_overlap(project, 1)
    import_pairs(1)
    a, b = make_annotator("a"), make_annotator("b")
    skipped = reserve(project, a)
    skip(skipped)
    submit(reserve(project, b))
    with pytest.raises(Conflict) as exc:
        submit(skipped)
    assert "skipped" in exc.value.message
    assert Annotation.objects.count() == 1


def test_a_submitted_assignment_cannot_be_skipped(project, make_annotator, import_pairs):
    import_pairs(1)
    assignment = reserve(project, make_annotator("ann"))
    submit(assignment)
    with pytest.raises(Conflict, match="already submitted"):
        skip(assignment)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED


def test_skipping_twice_is_harmless(project, make_annotator, import_pairs):
    import_pairs(1)
    assignment = reserve(project, make_annotator("ann"))
    skip(assignment)
    again = skip(assignment, now=T0 + timedelta(seconds=30))
    assert again.status == Assignment.Status.SKIPPED
    assert again.finished_at == T0


def test_an_invalid_submit_changes_nothing(project, make_annotator, import_pairs):
    import_pairs(1)
    assignment = reserve(project, make_annotator("ann"))
    with pytest.raises(InvalidInput):
        submit(assignment, preference=7)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.RESERVED
    assert not Annotation.objects.exists()
    assert Item.objects.get().n_submitted == 0


def test_time_spent_out_of_range_is_rejected(project, make_annotator, import_pairs):
    import_pairs(1)
    annotator = make_annotator("ann")
    assignment = reserve(project, annotator)
    with pytest.raises(InvalidInput) as exc:
        services.annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            value={"preference": 0},
            time_spent_ms=-1,
        )
    assert exc.value.detail[0].field == "time_spent_ms"


def test_time_spent_above_a_day_counts_as_a_day_sent_or_measured(
    project, make_annotator, import_pairs
):
    """One cap, in the service: a value sent above it (the browser's timer in a tab left open)
    and a value measured from an old reservation are both stored as the cap."""
    import_pairs(2)
    annotator = make_annotator("ann")
    sent = reserve(project, annotator)
    stored, _ = services.annotation_submit(
        assignment_id=sent.pk,
        annotator=annotator,
        value={"preference": 0},
        time_spent_ms=MAX_TIME_SPENT_MS * 5,
    )
    measured = reserve(project, annotator)
    late, _ = services.annotation_submit(
        assignment_id=measured.pk,
        annotator=annotator,
        value={"preference": 0},
        now=measured.reserved_at + timedelta(days=3),
    )

    assert stored.time_spent_ms == late.time_spent_ms == MAX_TIME_SPENT_MS == 86_400_000


# --- who may do what


def test_a_non_member_cannot_call_next(project, import_pairs):
    import_pairs(1)
    with pytest.raises(Forbidden):
        reserve(project, UserFactory(username="stranger"))
    assert not Assignment.objects.exists()


def test_a_lead_cannot_call_next(project, lead, import_pairs):
    import_pairs(1)
    with pytest.raises(Forbidden):
        reserve(project, lead)


def test_an_annotator_of_another_project_cannot_call_next(
    project, lead, make_annotator, import_pairs
):
    import_pairs(1)
    other = services.project_create(name="other", task_type="preference_pair", created_by=lead)
    outsider = make_annotator("outsider", in_project=other)
    with pytest.raises(Forbidden):
        reserve(project, outsider)


def test_another_annotators_assignment_is_not_found(project, make_annotator, import_pairs):
    import_pairs(1)
    a, b = make_annotator("a"), make_annotator("b")
    assignment = reserve(project, a)
    with pytest.raises(NotFound):
        submit(assignment, b)
    with pytest.raises(NotFound):
        services.assignment_skip(assignment_id=assignment.pk, annotator=b)
    with pytest.raises(NotFound):
        services.annotation_submit(
            assignment_id=assignment.pk + 1000, annotator=a, value={"preference": 0}
        )
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.RESERVED


# --- shown order


def test_shown_order_is_stored_on_the_assignment_and_the_annotation(
    project, make_annotator, import_pairs
):
    import_pairs(1)
    assignment = reserve(project, make_annotator("ann"))
    assert assignment.shown_order in ({"left": "a", "right": "b"}, {"left": "b", "right": "a"})
    assert Assignment.objects.get(pk=assignment.pk).shown_order == assignment.shown_order
    annotation, _ = submit(assignment)
    assert Annotation.objects.get(pk=annotation.pk).shown_order == assignment.shown_order


def test_shown_order_is_random_across_assignments(project, make_annotator, import_pairs):
    import_pairs(40)
    annotator = make_annotator("ann")
    lefts = []
    for _ in range(40):
        assignment = reserve(project, annotator)
        lefts.append(assignment.shown_order["left"])
        submit(assignment)
    # Both orders appear (the chance that they do not is 2 in 2**40).
    assert set(lefts) == {"a", "b"}


def form(**fields):
    data = QueryDict(mutable=True)
    for key, value in fields.items():
        if isinstance(value, list):
            data.setlist(key, value)
        else:
            data[key] = value
    return data


LEFT_A = {"left": "a", "right": "b"}
LEFT_B = {"left": "b", "right": "a"}


@pytest.mark.parametrize("shown", [-2, -1, 0, 1, 2])
def test_form_to_value_keeps_the_vote_when_a_is_on_the_left(shown):
    value = PreferencePair().form_to_value(
        form(preference=str(shown)), shown_order=LEFT_A, config={}
    )
    assert value["preference"] == shown


@pytest.mark.parametrize(("shown", "canonical"), [(-2, 2), (-1, 1), (0, 0), (1, -1), (2, -2)])
def test_form_to_value_flips_the_vote_when_b_is_on_the_left(shown, canonical):
    value = PreferencePair().form_to_value(
        form(preference=str(shown)), shown_order=LEFT_B, config={}
    )
    assert value["preference"] == canonical


def test_form_to_value_flips_aspects_and_keeps_rationale_and_flags():
    data = form(
        preference="-2",
        aspect_helpfulness="1",
        aspect_truthfulness="",
        rationale="  left was clearer \n",
        flags=["cannot judge", "harmful content"],
    )
    value = PreferencePair().form_to_value(
        data, shown_order=LEFT_B, config={"aspects": ["helpfulness", "truthfulness"]}
    )
    assert value == {
        "preference": 2,
        "aspects": {"helpfulness": -1},
        "rationale": "left was clearer",
        "flags": ["cannot judge", "harmful content"],
    }


def test_form_to_value_passes_a_non_number_through_for_the_schema_to_reject():
    plugin = PreferencePair()
    value = plugin.form_to_value(form(preference="much"), shown_order=LEFT_B, config={})
    assert value["preference"] == "much"
    missing = plugin.form_to_value(form(), shown_order=LEFT_A, config={})
    assert missing["preference"] is None


def test_a_vote_for_the_left_response_is_stored_for_the_response_shown_there(
    project, make_annotator, import_pairs
):
    """End to end: "left much better" is canonical -2 when A was left and +2 when B was."""
    import_pairs(20)
    annotator = make_annotator("ann")
    plugin = PreferencePair()
    for _ in range(20):
        assignment = reserve(project, annotator)
        value = plugin.form_to_value(
            form(preference="-2"), shown_order=assignment.shown_order, config=project.config
        )
        annotation, _ = submit(assignment, **value)
        left = assignment.shown_order["left"]
        assert annotation.value["preference"] == (-2 if left == "a" else 2)


# --- over the REST API


def next_url(project):
    return f"/api/v1/projects/{project.pk}/next/"


def test_api_next_returns_the_assignment_and_the_item_without_gold(
    project, make_annotator, import_pairs, api
):
    import_pairs(1)
    response = api(make_annotator("ann")).post(next_url(project))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"assignment", "item", "progress"}  # progress: issue 10, point 6
    assert {"id", "expires_at", "shown_order"} <= set(body["assignment"])
    assert body["item"]["external_id"] == "pair-0"
    assert body["item"]["payload"]["prompt"] == "Question number 0?"
    assert "gold_value" not in body["item"] and "n_submitted" not in body["item"]


def test_api_next_is_204_when_nothing_is_left(project, make_annotator, api):
    assert api(make_annotator("ann")).post(next_url(project)).status_code == 204


def test_api_submit_is_201_then_200_on_resubmission(project, make_annotator, import_pairs, api):
    import_pairs(1)
    client = api(make_annotator("ann"))
    assignment_id = client.post(next_url(project)).json()["assignment"]["id"]
    url = f"/api/v1/assignments/{assignment_id}/submit/"
    first = client.post(url, {"value": {"preference": 1}, "time_spent_ms": 1500}, format="json")
    second = client.post(url, {"value": {"preference": -1}}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    assert first.json()["time_spent_ms"] == 1500
    assert Annotation.objects.count() == 1


def test_api_late_submit_on_a_full_item_is_409_saying_expired(
    project, make_annotator, import_pairs, api
):
    set_overlap(project, 1)
    import_pairs(1)
    a, b = make_annotator("a"), make_annotator("b")
    past = timezone.now() - timedelta(seconds=project.reservation_seconds + 10)
    expired = services.assignment_reserve_next(project=project, annotator=a, now=past)
    client_b = api(b)
    taken = client_b.post(next_url(project)).json()
    assert taken["item"]["id"] == expired.item_id
    stored = client_b.post(
        f"/api/v1/assignments/{taken['assignment']['id']}/submit/",
        {"value": {"preference": 0}},
        format="json",
    )
    assert stored.status_code == 201
    response = api(a).post(
        f"/api/v1/assignments/{expired.pk}/submit/", {"value": {"preference": 2}}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "expired" in response.json()["message"]
    assert not Annotation.objects.filter(annotator=a).exists()


def test_api_late_submit_is_201_when_the_item_still_needs_it(
    project, make_annotator, import_pairs, api
):
    import_pairs(1)
    annotator = make_annotator("a")
    past = timezone.now() - timedelta(seconds=project.reservation_seconds + 10)
    expired = services.assignment_reserve_next(project=project, annotator=annotator, now=past)
    response = api(annotator).post(
        f"/api/v1/assignments/{expired.pk}/submit/", {"value": {"preference": 2}}, format="json"
    )
    assert response.status_code == 201


def test_api_skip_gives_the_item_back(project, make_annotator, import_pairs, api):
    set_overlap(project, 1)
    import_pairs(1)
    client_a, client_b = api(make_annotator("a")), api(make_annotator("b"))
    assignment_id = client_a.post(next_url(project)).json()["assignment"]["id"]
    assert client_b.post(next_url(project)).status_code == 204
    skipped = client_a.post(f"/api/v1/assignments/{assignment_id}/skip/")
    assert skipped.status_code == 200
    assert skipped.json()["status"] == "skipped"
    assert client_b.post(next_url(project)).status_code == 200
    assert client_a.post(next_url(project)).status_code == 204


def test_api_next_is_forbidden_for_the_lead_and_hidden_from_non_members(
    project, lead, import_pairs, api
):
    import_pairs(1)
    assert api(lead).post(next_url(project)).status_code == 403
    stranger = UserFactory(username="stranger")
    assert api(stranger).post(next_url(project)).status_code == 404
    assert api().post(next_url(project)).status_code in (401, 403)
    assert not Assignment.objects.exists()


def test_api_another_annotators_assignment_is_404(project, make_annotator, import_pairs, api):
    import_pairs(1)
    assignment = reserve(project, make_annotator("a"))
    client_b = api(make_annotator("b"))
    submitted = client_b.post(
        f"/api/v1/assignments/{assignment.pk}/submit/", {"value": {"preference": 1}}, format="json"
    )
    skipped = client_b.post(f"/api/v1/assignments/{assignment.pk}/skip/")
    assert (submitted.status_code, skipped.status_code) == (404, 404)
    assert submitted.json()["code"] == "not_found"
    assert not Annotation.objects.exists()


def test_api_submit_without_a_value_is_400(project, make_annotator, import_pairs, api):
    import_pairs(1)
    client = api(make_annotator("ann"))
    assignment_id = client.post(next_url(project)).json()["assignment"]["id"]
    response = client.post(f"/api/v1/assignments/{assignment_id}/submit/", {}, format="json")
    assert response.status_code == 400
    assert not Annotation.objects.exists()

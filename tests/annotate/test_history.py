"""Going back (issue 10, point 2): the annotator's history, reopening and changing an answer,
gold answers locked once scored, and undoing a skip."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from annotate import selectors, services
from annotate.models import Annotation, AnnotationVersion, Assignment
from annotate.services.skipping import UNSKIP_SECONDS
from core.errors import Conflict
from tests.conftest import jsonl
from tests.factories import pair_record


def answer(project, annotator, preference):
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    services.annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, value={"preference": preference}
    )
    return assignment


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def annotator(make_annotator, import_pairs):
    import_pairs(30)
    return make_annotator("ann")


def test_history_page_lists_every_answer_newest_first_and_paginates(project, annotator):
    done = [answer(project, annotator, 1) for _ in range(3)]
    html = logged_in(annotator).get(f"/p/{project.pk}/history/").content.decode()
    positions = [html.index(f'data-assignment="{a.pk}"') for a in done]
    assert positions == sorted(positions, reverse=True)
    assert f"/a/{done[0].pk}/" in html


def test_history_page_has_a_second_page_past_fifty(project, make_annotator, import_pairs):
    import_pairs(51)
    user = make_annotator("busy")
    for _ in range(51):
        answer(project, user, 1)
    client = logged_in(user)
    first = client.get(f"/p/{project.pk}/history/").content.decode()
    second = client.get(f"/p/{project.pk}/history/?page=2").content.decode()
    assert first.count("<tr data-assignment") == 50
    assert second.count("<tr data-assignment") == 1
    assert "Page 2 of 2" in second


def test_annotation_page_links_the_last_twenty_items(project, annotator):
    done = [answer(project, annotator, 1) for _ in range(21)]
    html = logged_in(annotator).get(f"/p/{project.pk}/annotate/").content.decode()
    assert f"/a/{done[-1].pk}/" in html and f"/a/{done[1].pk}/" in html
    assert f'href="/a/{done[0].pk}/"' not in html  # the 21st most recent is on the history page
    assert f"/p/{project.pk}/history/" in html


def test_history_is_only_the_annotators_own(project, annotator, make_annotator):
    other = make_annotator("other")
    mine = answer(project, annotator, 1)
    answer(project, other, 2)
    assert [
        a.assignment_id for a in selectors.annotator_history(project=project, annotator=annotator)
    ] == [mine.pk]
    assert logged_in(other).get(f"/a/{mine.pk}/").status_code == 404


def test_revisit_shows_the_current_answer(project, annotator):
    done = answer(project, annotator, -2)
    html = logged_in(annotator).get(f"/a/{done.pk}/").content.decode()
    assert 'id="current-answer"' in html and '"preference": -2' in html
    assert 'name="base_version" value="1"' in html
    assert f'action="/a/{done.pk}/revise/"' in html


def test_changing_an_answer_from_history_makes_version_two(project, annotator):
    done = answer(project, annotator, -2)
    # reserved long ago: the time since then is not time spent on the change
    Assignment.objects.filter(pk=done.pk).update(reserved_at=timezone.now() - timedelta(hours=2))
    response = logged_in(annotator).post(
        f"/a/{done.pk}/revise/", {"preference": "1", "base_version": "1"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/p/{project.pk}/history/"
    annotation = Annotation.objects.get(assignment=done)
    # the page may show B on the left: either way the answer is no longer -2
    assert (annotation.version, abs(annotation.value["preference"])) == (2, 1)
    old = AnnotationVersion.objects.get(annotation=annotation)
    assert (old.version, old.value["preference"]) == (1, -2)
    assert annotation.time_spent_ms == old.time_spent_ms  # a later change is not time on the item


def test_an_invalid_change_keeps_the_answer_and_says_what_is_wrong(project, annotator):
    done = answer(project, annotator, -2)
    response = logged_in(annotator).post(f"/a/{done.pk}/revise/", {"base_version": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="value.preference"' in html
    assert "Which response is better" in html
    assert Annotation.objects.get(assignment=done).version == 1


def gold_project_with_answer(project, annotator):
    services.items_import(
        project=project,
        stream=jsonl([pair_record(500, external_id="gold-1", gold={"preference": -2})]),
        fmt="jsonl",
    )
    project.gold_rate = 1.0
    project.save(update_fields=["gold_rate"])
    return answer(project, annotator, 2)


def test_a_scored_gold_answer_cannot_be_changed(project, annotator):
    done = gold_project_with_answer(project, annotator)
    assert done.item.is_gold
    with pytest.raises(Conflict) as exc:
        services.annotation_submit(
            assignment_id=done.pk, annotator=annotator, value={"preference": -2}
        )
    assert exc.value.code == "answer_locked"
    assert Annotation.objects.get(assignment=done).value["preference"] == 2
    on_screen = "-2" if done.shown_order["left"] == "a" else "2"  # canonical -2, not the 2 stored
    response = logged_in(annotator).post(f"/a/{done.pk}/revise/", {"preference": on_screen})
    assert response.status_code == 409
    assert "cannot be changed" in response.content.decode()


def test_a_repeated_identical_gold_answer_is_still_accepted(project, annotator):
    done = gold_project_with_answer(project, annotator)
    annotation, created = services.annotation_submit(
        assignment_id=done.pk, annotator=annotator, value={"preference": 2}
    )
    assert (created, annotation.version) == (False, 1)


def test_api_lists_my_annotations_newest_first_and_resubmits(
    project, annotator, make_annotator, api
):
    other = make_annotator("other")
    answer(project, other, 1)
    first = answer(project, annotator, 1)
    second = answer(project, annotator, -1)
    client = api(annotator)
    listed = client.get(f"/api/v1/projects/{project.pk}/annotations/mine/").json()["results"]
    assert [row["assignment"] for row in listed] == [second.pk, first.pk]
    changed = client.post(
        f"/api/v1/assignments/{first.pk}/submit/",
        {"value": {"preference": 2}, "base_version": 1},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["version"] == 2


# --- undoing a skip


def test_a_skip_can_be_undone_within_the_window(project, annotator):
    skipped = services.assignment_reserve_next(project=project, annotator=annotator)
    services.assignment_skip(assignment_id=skipped.pk, annotator=annotator)
    given_next = services.assignment_reserve_next(project=project, annotator=annotator)
    assert given_next.pk != skipped.pk

    services.assignment_unskip(assignment_id=skipped.pk, annotator=annotator)

    assert Assignment.objects.get(pk=skipped.pk).status == Assignment.Status.RESERVED
    # never two live reservations: the one handed out after the skip is released
    again = services.assignment_reserve_next(project=project, annotator=annotator)
    assert again.pk == skipped.pk


def test_a_skip_cannot_be_undone_after_the_window(project, annotator):
    skipped = services.assignment_reserve_next(project=project, annotator=annotator)
    now = timezone.now()
    services.assignment_skip(assignment_id=skipped.pk, annotator=annotator, now=now)
    with pytest.raises(Conflict, match="too late"):
        services.assignment_unskip(
            assignment_id=skipped.pk,
            annotator=annotator,
            now=now + timedelta(seconds=UNSKIP_SECONDS + 1),
        )
    assert Assignment.objects.get(pk=skipped.pk).status == Assignment.Status.SKIPPED


def test_an_item_not_skipped_cannot_be_unskipped(project, annotator):
    done = answer(project, annotator, 1)
    with pytest.raises(Conflict):
        services.assignment_unskip(assignment_id=done.pk, annotator=annotator)


def test_skip_page_offers_undo_and_undo_brings_the_item_back(project, annotator):
    client = logged_in(annotator)
    skipped = services.assignment_reserve_next(project=project, annotator=annotator)
    html = client.post(f"/a/{skipped.pk}/skip/", HTTP_HX_REQUEST="true").content.decode()
    assert f'hx-post="/a/{skipped.pk}/unskip/"' in html
    html = client.post(f"/a/{skipped.pk}/unskip/", HTTP_HX_REQUEST="true").content.decode()
    assert "Skip undone." in html
    assert f'data-assignment="{skipped.pk}"' in html


def test_api_unskip(project, annotator, api):
    client = api(annotator)
    reserved = client.post(f"/api/v1/projects/{project.pk}/next/").json()["assignment"]["id"]
    client.post(f"/api/v1/assignments/{reserved}/skip/")
    response = client.post(f"/api/v1/assignments/{reserved}/unskip/")
    assert response.status_code == 200
    assert response.json()["status"] == "reserved"
    assert client.post(f"/api/v1/assignments/{reserved}/unskip/").status_code == 409

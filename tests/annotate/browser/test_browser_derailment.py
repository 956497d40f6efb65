"""Derailment threads in headless Chromium: the keyboard marks toxic and derailment comments and
tones; the page keeps the ordering rule; the stored values are what was pressed."""

import io
import re

import pytest
from playwright.sync_api import expect

from annotate import services
from annotate.models import Annotation, Assignment, Membership
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.typebrowser import assignment_id, log_in_and_open, wait_until_done
from tests.typedata import jsonl_bytes, thread_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def setup_project():
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, overlap=1, task_type="derailment")
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    records = [thread_record(n, n_comments=4) for n in range(2)]
    records[0]["reference"] = {
        "source": "paper",
        "value": {
            "toxic": True,
            "toxic_comment": "t0c3",
            "derailment_comment": "t0c1",
            "tones": {},
        },
    }
    services.items_import(project=project, stream=io.BytesIO(jsonl_bytes(records)), fmt="jsonl")
    annotator = UserFactory(username="annie")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    return project, annotator


def test_annotator_marks_two_threads_with_the_keyboard(page, live_server):
    project, annotator = setup_project()
    log_in_and_open(page, live_server.url, project, annotator.username)
    expect(page.locator("#thread > .comment")).to_have_count(4)
    expect(page.locator(".comment .badge").first).to_have_text("member")
    expect(page.get_by_text("t0c3")).to_have_count(0)  # the reference label is not on the page

    first = assignment_id(page)
    for key in ("j", "j", "t"):  # comment 3 is toxic
        page.keyboard.press(key)
    page.keyboard.press("j")
    page.keyboard.press("d")  # comment 4 is after the toxic one: refused
    expect(page.locator("#derailment-message")).to_contain_text("before")
    expect(page.locator('#comment-4 input[name="derailment_comment"]')).not_to_be_checked()
    for key in ("k", "k", "d", "2"):  # derailment at comment 2, tone 2 (Impatience) on it
        page.keyboard.press(key)
    expect(page.locator("#comment-2")).to_have_class(re.compile("is-derailment"))
    page.keyboard.press("Enter")
    wait_until_done(page, 1, first)

    second = assignment_id(page)
    page.keyboard.press("x")  # nothing toxic
    page.keyboard.press("n")  # never derails
    page.keyboard.press("Enter")
    wait_until_done(page, 2, second)
    expect(page.locator("#all-done")).to_be_visible()

    stored = {
        a.assignment_id: a
        for a in Annotation.objects.filter(annotator=annotator).select_related("item")
    }
    ids = [c["id"] for c in stored[first].item.payload["comments"]]
    assert stored[first].value == {
        "toxic": True,
        "toxic_comment": ids[2],
        "derailment_comment": ids[1],
        "tones": {ids[1]: ["Impatience"]},
    }
    assert stored[second].value == {
        "toxic": False,
        "toxic_comment": None,
        "derailment_comment": None,
        "tones": {},
    }
    assert set(Assignment.objects.filter(annotator=annotator).values_list("status", flat=True)) == {
        "submitted"
    }


def test_choosing_a_toxic_comment_before_the_derailment_clears_it(page, live_server):
    project, annotator = setup_project()
    log_in_and_open(page, live_server.url, project, annotator.username)
    for key in ("j", "j", "j", "d"):  # derailment at comment 4 first
        page.keyboard.press(key)
    expect(page.locator('#comment-4 input[name="derailment_comment"]')).to_be_checked()
    page.keyboard.press("k")
    page.keyboard.press("t")  # toxic at 3: the derailment point after it is cleared
    expect(page.locator('#comment-4 input[name="derailment_comment"]')).not_to_be_checked()
    expect(page.locator('#comment-4 input[name="derailment_comment"]')).to_be_disabled()
    expect(page.locator("#derailment-message")).to_contain_text("cleared")
    page.keyboard.press("Enter")  # no derailment answer yet: the server names the field
    # in the annotator's words (issue 10), the field path kept for placing it by its field
    expect(page.get_by_role("alert")).to_contain_text("Derailment point: choose where")
    expect(page.locator('#form-errors li[data-field="value.derailment_comment"]')).to_have_count(1)
    assert not Annotation.objects.filter(annotator=annotator).exists()

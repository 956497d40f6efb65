"""Theory-of-mind questions in headless Chromium: answered with the keyboard in the order mental
state, behavior, judgment; the stored labels follow the shuffled screen order."""

import io

import pytest
from playwright.sync_api import expect

from annotate import services
from annotate.models import Annotation, Assignment, Membership
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.typebrowser import assignment_id, log_in_and_open, wait_until_done
from tests.typedata import jsonl_bytes, tom_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_annotator_answers_two_stories_with_the_keyboard(page, live_server):
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, overlap=1, task_type="tom")
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    services.items_import(
        project=project, fmt="jsonl", stream=io.BytesIO(jsonl_bytes([tom_record(0), tom_record(1)]))
    )
    annotator = UserFactory(username="annie")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    log_in_and_open(page, live_server.url, project, annotator.username)

    expect(page.locator(".tom-question")).to_have_count(3)
    kinds = [page.locator(".tom-question").nth(i).get_attribute("data-kind") for i in range(3)]
    assert kinds == ["mental_state", "behavior", "judgment"]

    pressed = {}
    first = assignment_id(page)
    # a, then 2, then b: each answers the highlighted question and moves on.
    page.keyboard.press("a")
    page.keyboard.press("2")
    page.keyboard.press("b")
    page.keyboard.press("Shift+Digit4")  # confidence 4 on the judgment question just answered
    pressed[first] = ["a", "b", "b"]
    page.keyboard.press("Enter")
    wait_until_done(page, 1, first)

    second = assignment_id(page)
    for key in ("b", "a", "1"):
        page.keyboard.press(key)
    pressed[second] = ["b", "a", "a"]
    page.keyboard.press("Enter")
    wait_until_done(page, 2, second)
    expect(page.locator("#all-done")).to_be_visible()

    for annotation in Annotation.objects.filter(annotator=annotator).select_related("assignment"):
        shown = annotation.assignment.shown_order
        assert annotation.shown_order == shown
        assert shown["questions"] == ["aware", "action", "judge"]
        expected = {
            question: shown["choices"][question]["ab".index(key)]
            for question, key in zip(
                shown["questions"], pressed[annotation.assignment_id], strict=True
            )
        }
        assert annotation.value["answers"] == expected
        wanted_confidence = {"judge": 4} if annotation.assignment_id == first else {}
        assert annotation.value["confidence"] == wanted_confidence
    assert Assignment.objects.filter(annotator=annotator, status="submitted").count() == 2

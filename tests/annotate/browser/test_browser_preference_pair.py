"""The annotator's loop in headless Chromium: log in, label with the keyboard only, skip."""

import re

import pytest
from playwright.sync_api import Page, expect

from annotate.models import Annotation, Assignment
from tests.typebrowser import PASSWORD, project_with_annotator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in_and_open(page: Page, base_url: str, project, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()
    page.goto(f"{base_url}/p/{project.pk}/annotate/")
    expect(page.locator("#progress")).to_have_text(re.compile(r"^0 done"))


def label_with_keys(page: Page, keys: list[int]) -> dict[int, int]:
    """Label one item per key (digit, then Enter); returns ``assignment id -> key pressed``."""
    pressed = {}
    for done, key in enumerate(keys, start=1):
        form = page.locator("#annotation-form")
        assignment_id = int(form.get_attribute("data-assignment"))
        page.keyboard.press(str(key))
        expect(form.locator(f'input[name="preference"][data-key="{key}"]')).to_be_checked()
        page.keyboard.press("Enter")
        # htmx swaps in the next item with the new count; the old form must be gone.
        expect(page.locator("#progress")).to_have_text(re.compile(rf"^{done} done\b"))
        expect(page.locator(f'#annotation-form[data-assignment="{assignment_id}"]')).to_have_count(
            0
        )
        pressed[assignment_id] = key
    return pressed


def expected_canonical(key: int, shown_order: dict) -> int:
    shown = key - 3  # keys 1..5 are the on-screen scale -2..+2, left to right
    return shown if shown_order["left"] == "a" else -shown


def assert_stored_as_pressed(annotator, pressed: dict[int, int]) -> None:
    annotations = Annotation.objects.filter(annotator=annotator).select_related("assignment")
    assert len(annotations) == len(pressed)
    for annotation in annotations:
        key = pressed[annotation.assignment_id]
        assert annotation.shown_order == annotation.assignment.shown_order
        assert annotation.value["preference"] == expected_canonical(key, annotation.shown_order)
        assert annotation.assignment.status == Assignment.Status.SUBMITTED


def test_annotator_labels_three_pairs_with_the_keyboard(page, live_server):
    project, annotator = project_with_annotator(3)
    log_in_and_open(page, live_server.url, project, annotator.username)

    pressed = label_with_keys(page, [1, 5, 2])

    expect(page.locator("#all-done")).to_contain_text("All done")
    expect(page.locator("#progress")).to_have_text("3 done, 0 left for you")
    assert_stored_as_pressed(annotator, pressed)


def test_annotator_skips_a_fourth_pair_with_s(page, live_server):
    project, annotator = project_with_annotator(4)
    log_in_and_open(page, live_server.url, project, annotator.username)
    pressed = label_with_keys(page, [4, 3, 1])
    skipped_id = int(page.locator("#annotation-form").get_attribute("data-assignment"))

    page.keyboard.press("s")

    expect(page.locator("#all-done")).to_be_visible()
    expect(page.locator("#progress")).to_have_text("3 done, 0 left for you")
    assert Assignment.objects.get(pk=skipped_id).status == Assignment.Status.SKIPPED
    assert not Annotation.objects.filter(assignment_id=skipped_id).exists()
    assert_stored_as_pressed(annotator, pressed)


def test_annotator_retries_with_enter_after_a_failed_submit(page, live_server):
    project, annotator = project_with_annotator(2)
    log_in_and_open(page, live_server.url, project, annotator.username)
    assignment_id = int(page.locator("#annotation-form").get_attribute("data-assignment"))
    page.route("**/submit/", lambda route: route.abort())  # the network drops the first submit

    page.keyboard.press("2")
    page.keyboard.press("Enter")

    expect(page.get_by_role("alert")).to_contain_text("nothing was saved")
    assert not Annotation.objects.filter(annotator=annotator).exists()
    page.unroute("**/submit/")
    page.keyboard.press("Enter")
    expect(page.locator("#progress")).to_have_text(re.compile(r"^1 done\b"))
    assert_stored_as_pressed(annotator, {assignment_id: 2})

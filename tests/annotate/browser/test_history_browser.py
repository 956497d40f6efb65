"""Going back and two tabs (issue 10, points 2 and 5) in headless Chromium."""

import re

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, AnnotationVersion
from tests.typebrowser import (
    assignment_id,
    log_in_and_open,
    project_with_annotator,
    wait_until_done,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def answer_with_key(page, key: str, done: int) -> int:
    current = assignment_id(page)
    page.keyboard.press(key)
    page.keyboard.press("Enter")
    wait_until_done(page, done, current)
    return current


def test_going_back_and_changing_an_answer_makes_version_two(page, live_server):
    project, annotator = project_with_annotator(3)
    log_in_and_open(page, live_server.url, project, annotator.username)
    first = answer_with_key(page, "5", 1)
    answer_with_key(page, "4", 2)

    page.locator("#recent-items summary").click()
    page.locator(f'#recent-items a[href="/a/{first}/"]').click()
    expect(page.get_by_role("heading", name=re.compile("What you answered"))).to_contain_text(
        "version 1"
    )
    # the current answer is in the form's own controls
    expect(page.locator('input[name="preference"][data-key="5"]')).to_be_checked()
    page.locator('input[name="preference"][data-key="1"]').check()
    page.get_by_role("button", name="Save the new answer").click()

    expect(page.locator(".messages")).to_contain_text("version 2")
    expect(page.locator(f'tr[data-assignment="{first}"] td').nth(2)).to_have_text("2")
    annotation = Annotation.objects.get(assignment_id=first)
    assert annotation.version == 2
    assert AnnotationVersion.objects.filter(annotation=annotation, version=1).count() == 1


def test_two_tabs_on_one_item_give_a_clear_conflict(page, live_server):
    project, annotator = project_with_annotator(3)
    log_in_and_open(page, live_server.url, project, annotator.username)
    second_tab = page.context.new_page()
    second_tab.goto(f"{live_server.url}/p/{project.pk}/annotate/")
    shared = assignment_id(page)
    assert assignment_id(second_tab) == shared  # the same live reservation in both tabs

    answer_with_key(page, "5", 1)
    second_tab.keyboard.press("1")
    second_tab.keyboard.press("Enter")

    conflict = second_tab.locator('#form-errors[data-conflict="stale_version"]')
    expect(conflict).to_contain_text("another tab")
    expect(second_tab.locator(f'#annotation-form[data-assignment="{shared}"]')).to_have_count(1)
    assert Annotation.objects.get(assignment_id=shared).version == 1

"""Nothing typed or clicked is lost, in headless Chromium: a server validation error keeps the
marks (derailment, ToM, visual argument), a reload keeps the draft, a submit clears it, and an
expired session goes to the login page and back to the item with its draft."""

import re

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation
from tests.annotate.browser.test_browser_visual_argument import drag
from tests.annotate.browser.test_workbench_pages import SETUPS
from tests.typebrowser import PASSWORD, assignment_id, log_in_and_open, wait_until_done

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def open_task(page, live_server, task_type):
    project, annotator = SETUPS[task_type]()
    log_in_and_open(page, live_server.url, project, annotator.username)
    return project, annotator


def stored_draft(page, assignment: int):
    return page.evaluate(f"localStorage.getItem('draft:{assignment}')")


def submit_and_get_refused(page, assignment: int) -> None:
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator(f'#annotation-form[data-assignment="{assignment}"]')).to_have_count(1)


def test_a_validation_error_keeps_the_derailment_marks(page, live_server):
    _, annotator = open_task(page, live_server, "derailment")
    first = assignment_id(page)
    for key in ("j", "j", "t", "2", "j", "d"):  # toxic #3 with a tone; derailment at #4 refused
        page.keyboard.press(key)
    submit_and_get_refused(page, first)
    expect(page.locator('#comment-3 input[name="toxic_comment"]')).to_be_checked()
    expect(page.locator("#comment-3 .tone input").nth(1)).to_be_checked()
    expect(page.locator("#comment-3")).to_have_class(re.compile("is-toxic"))
    expect(page.locator('#comment-4 input[name="derailment_comment"]')).to_be_disabled()
    # The error stands in the list at the top and next to the derailment point it concerns.
    beside = page.locator("#derailment-root .field-error")  # by the "never derails" choice
    expect(beside).to_contain_text("Derailment point: choose where the conversation derails")
    page.keyboard.press("k")
    page.keyboard.press("d")  # the missing answer, and the item goes through
    page.keyboard.press("Enter")
    wait_until_done(page, 1, first)
    value = Annotation.objects.get(annotator=annotator).value
    assert value["toxic"] is True and value["tones"] == {value["toxic_comment"]: ["Impatience"]}
    assert stored_draft(page, first) is None


def test_a_validation_error_keeps_the_one_tom_answer_given(page, live_server):
    open_task(page, live_server, "tom")
    first = assignment_id(page)
    page.keyboard.press("b")
    page.keyboard.press("Shift+Digit3")
    submit_and_get_refused(page, first)
    expect(page.locator('input[name="answer:aware"]:checked')).to_have_count(1)
    expect(page.locator('input[name="answer:aware"][data-key="b"]')).to_be_checked()
    expect(page.locator('input[name="confidence:aware"][value="3"]')).to_be_checked()
    expect(page.locator('input[name^="answer:"]:checked')).to_have_count(1)
    page.keyboard.press("a")  # goes on at the first question still open
    expect(page.locator('input[name="answer:action"][data-key="a"]')).to_be_checked()
    expect(page.locator('input[name="answer:aware"][data-key="b"]')).to_be_checked()


def test_a_validation_error_keeps_the_boxes_and_their_text(page, live_server):
    open_task(page, live_server, "visual_argument")
    image = page.locator("#va-image")
    expect(image).to_have_js_property("complete", True)
    box = image.bounding_box()
    first = assignment_id(page)
    drag(page, (box["x"] + 40, box["y"] + 30), (box["x"] + 140, box["y"] + 90))
    page.keyboard.type("A round black bomb")
    page.keyboard.press("Escape")
    submit_and_get_refused(page, first)  # no reasoning step
    expect(page.locator(".va-box")).to_have_count(1)
    expect(page.get_by_label("VP1 text")).to_have_value("A round black bomb")


def test_a_reload_keeps_the_draft_and_a_submit_clears_it(page, live_server):
    project, annotator = open_task(page, live_server, "preference_pair")
    first = assignment_id(page)
    page.keyboard.press("4")
    page.locator('textarea[name="rationale"]').fill("Shorter and right.")
    page.reload()
    expect(page.locator('input[name="preference"][data-key="4"]')).to_be_checked()
    expect(page.locator('textarea[name="rationale"]')).to_have_value("Shorter and right.")
    assert assignment_id(page) == first
    page.locator('textarea[name="rationale"]').press("Control+Enter")
    wait_until_done(page, 1, first)
    assert stored_draft(page, first) is None
    assert Annotation.objects.get(annotator=annotator).value["rationale"] == "Shorter and right."
    expect(page.locator('input[name="preference"]:checked')).to_have_count(0)


def test_an_expired_session_logs_in_again_and_returns_to_the_draft(page, live_server):
    project, annotator = open_task(page, live_server, "preference_pair")
    first = assignment_id(page)
    page.keyboard.press("2")
    page.locator('textarea[name="rationale"]').fill("Kept across a login.")
    page.context.clear_cookies(name="sessionid")
    page.keyboard.press("Control+Enter")

    expect(page).to_have_url(re.compile(rf"/login/\?next=%2Fp%2F{project.pk}%2Fannotate%2F$"))
    expect(page.locator("#item-pane")).to_have_count(0)  # never a login page inside the item
    assert not Annotation.objects.filter(annotator=annotator).exists()
    page.get_by_label("Username").fill(annotator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")

    expect(page).to_have_url(f"{live_server.url}/p/{project.pk}/annotate/")
    assert assignment_id(page) == first
    expect(page.locator('input[name="preference"][data-key="2"]')).to_be_checked()
    expect(page.locator('textarea[name="rationale"]')).to_have_value("Kept across a login.")
    page.locator('textarea[name="rationale"]').press("Control+Enter")
    wait_until_done(page, 1, first)
    assert Annotation.objects.get(annotator=annotator).value["rationale"] == "Kept across a login."

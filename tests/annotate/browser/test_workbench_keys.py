"""Keys that respect focus, in headless Chromium: shortcuts act only outside text fields, buttons,
links and selects; Enter on a button does what the button says; Ctrl+Enter submits from a text
area; typing into a box's description fires nothing; ToM confidence rates the question just
answered; the ``?`` overlay lists the page's and the task type's keys."""

import re

import pytest
from playwright.sync_api import expect

from annotate.models import Annotation, Assignment
from tests.annotate.browser.test_browser_visual_argument import drag
from tests.annotate.browser.test_workbench_pages import SETUPS
from tests.typebrowser import assignment_id, log_in_and_open, wait_until_done

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def open_task(page, live_server, task_type):
    project, annotator = SETUPS[task_type]()
    log_in_and_open(page, live_server.url, project, annotator.username)
    return project, annotator


def test_enter_on_the_focused_skip_button_skips_and_never_submits(page, live_server):
    _, annotator = open_task(page, live_server, "preference_pair")
    first = assignment_id(page)
    page.keyboard.press("3")  # a complete answer: Enter anywhere else would submit it
    page.locator("#skip-button").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_contain_text("Skipped.")
    expect(page.locator("#unskip-button")).to_be_visible()  # and it can be undone for a while
    assert Assignment.objects.get(pk=first).status == Assignment.Status.SKIPPED
    assert not Annotation.objects.filter(annotator=annotator).exists()


def test_enter_on_the_instructions_and_log_out_buttons_does_not_submit(page, live_server):
    _, annotator = open_task(page, live_server, "preference_pair")
    page.keyboard.press("3")
    panel = page.locator("#instructions")
    expect(panel).to_be_visible()  # nothing done yet: the instructions are open, beside the item
    form = page.locator("#annotation-form").bounding_box()
    assert panel.bounding_box()["x"] >= form["x"] + form["width"]
    assert panel.bounding_box()["y"] < form["y"] + 50  # not a block above the item
    expect(page.locator("#item-clock")).to_have_text(re.compile(r"^0:0[0-9]$"))
    expect(page.locator("#progress-bar")).to_have_attribute("max", "2")
    page.locator("#instructions-toggle").focus()
    page.keyboard.press("Enter")
    expect(panel).to_be_hidden()
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    expect(page.locator("#progress")).to_have_text("0 done, 2 left for you")
    page.get_by_role("button", name="Log out").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert not Annotation.objects.filter(annotator=annotator).exists()


def test_a_text_area_takes_its_keys_and_ctrl_enter_submits_from_it(page, live_server):
    _, annotator = open_task(page, live_server, "preference_pair")
    first = assignment_id(page)
    page.keyboard.press("4")
    rationale = page.locator('textarea[name="rationale"]')
    rationale.click()
    page.keyboard.type("sss 1")  # neither skips nor changes the scale
    page.keyboard.press("Enter")  # a new line, not a submit
    page.keyboard.type("second line")
    expect(page.locator('input[name="preference"][data-key="4"]')).to_be_checked()
    assert Assignment.objects.get(pk=first).status == Assignment.Status.RESERVED
    page.keyboard.press("Control+Enter")
    wait_until_done(page, 1, first)
    annotation = Annotation.objects.get(annotator=annotator)
    assert annotation.value["rationale"] == "sss 1\nsecond line"


def test_typing_into_a_drawn_box_description_changes_nothing_else(page, live_server):
    open_task(page, live_server, "visual_argument")
    image = page.locator("#va-image")
    expect(image).to_have_js_property("complete", True)
    box = image.bounding_box()
    drag(page, (box["x"] + 40, box["y"] + 30), (box["x"] + 140, box["y"] + 90))
    description = page.get_by_label("VP1 text")
    expect(description).to_be_focused()
    page.keyboard.type("bcl r x")
    page.keyboard.press("Backspace")
    page.keyboard.press("Space")
    page.keyboard.press("Delete")
    expect(description).to_have_value("bcl r  ")
    expect(page.locator(".va-box")).to_have_count(1)
    expect(page.locator("#va-commonsense li")).to_have_count(0)
    expect(page.locator("#va-steps li")).to_have_count(0)
    expect(page.locator("#va-message")).not_to_contain_text("resize")
    expect(page.locator(".va-box")).to_have_attribute(
        "aria-label", "Box VP1 at 40,30, 100 by 60 pixels"
    )


def test_tom_confidence_rates_the_question_just_answered(page, live_server):
    _, annotator = open_task(page, live_server, "tom")
    first = assignment_id(page)
    page.keyboard.press("a")  # answers question 1; question 2 is highlighted now
    expect(page.locator(".tom-question").nth(1)).to_have_class("card tom-question current")
    page.keyboard.press("Shift+Digit5")
    expect(page.locator('input[name="confidence:aware"][value="5"]')).to_be_checked()
    expect(page.locator('input[name="confidence:action"]:checked')).to_have_count(0)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowDown")  # moved on: confidence now rates the highlighted question
    page.keyboard.press("Shift+Digit2")
    expect(page.locator('input[name="confidence:action"][value="2"]')).to_be_checked()
    for key in ("b", "a"):
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    wait_until_done(page, 1, first)
    value = Annotation.objects.get(annotator=annotator).value
    assert value["confidence"] == {"aware": 5, "action": 2}


def test_question_mark_lists_every_shortcut_of_the_page_and_escape_closes_it(page, live_server):
    open_task(page, live_server, "derailment")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_hidden()
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    for text in ("submit the item", "skip the item", "never derails", "toggle a tone"):
        expect(dialog).to_contain_text(text)
    page.keyboard.press("j")  # keys go to the dialog while it is open
    expect(page.locator("#comment-1")).to_have_class("comment card current")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Shortcuts").click()
    expect(dialog).to_be_visible()

"""Touch and small screens, in headless Chromium: a finger draws a box at a 375 px viewport; the
preference labels say Top/Bottom when the responses stack; keyboard hints are hidden on touch
devices; the submit bar stays in view on a long item."""

import pytest
from playwright.sync_api import expect

from tests.annotate.browser.test_workbench_pages import SETUPS
from tests.typebrowser import PASSWORD, PHONE, log_in_and_open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def open_on_phone(phone, live_server, task_type):
    project, annotator = SETUPS[task_type]()
    phone.goto(f"{live_server.url}/login/")
    phone.get_by_label("Username").fill(annotator.username)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_label("Password").press("Enter")
    expect(phone.get_by_role("heading", name="Your projects")).to_be_visible()
    phone.goto(f"{live_server.url}/p/{project.pk}/annotate/")
    expect(phone.locator("#annotation-form")).to_be_visible()
    close = phone.locator("#instructions").get_by_role("button", name="Close")
    if close.is_visible():  # first visit: the instructions panel covers the item
        close.tap()
    return project, annotator


def touch_drag(page, start, end, steps=6):
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Input.dispatchTouchEvent",
        {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]},
    )
    for n in range(1, steps + 1):
        x = start[0] + (end[0] - start[0]) * n / steps
        y = start[1] + (end[1] - start[1]) * n / steps
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_a_touch_drag_draws_a_box_at_375_px(phone, live_server):
    open_on_phone(phone, live_server, "visual_argument")
    image = phone.locator("#va-image")
    expect(image).to_have_js_property("complete", True)
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    assert box["width"] < 375  # scaled down: screen pixels are no longer image pixels
    per_px = 400 / box["width"]
    touch_drag(phone, (box["x"] + 20, box["y"] + 20), (box["x"] + 120, box["y"] + 70))
    expect(phone.locator(".va-box")).to_have_count(1)
    drawn = phone.evaluate("JSON.parse(document.getElementById('va-value').value)")
    region = drawn["visual_premises"][0]["box"]
    assert abs(region["x"] - 20 * per_px) <= 2 and abs(region["w"] - 100 * per_px) <= 2
    assert abs(region["y"] - 20 * per_px) <= 2 and abs(region["h"] - 50 * per_px) <= 2
    # The box moves with a finger too.
    touch_drag(phone, (box["x"] + 60, box["y"] + 40), (box["x"] + 80, box["y"] + 40))
    moved = phone.evaluate("JSON.parse(document.getElementById('va-value').value)")
    assert abs(moved["visual_premises"][0]["box"]["x"] - 40 * per_px) <= 2


def test_preference_labels_say_top_and_bottom_when_the_responses_stack(page, phone, live_server):
    project, annotator = open_on_phone(phone, live_server, "preference_pair")
    assert phone.locator("#response-left h3").inner_text() == "Top"
    assert phone.locator("#response-right h3").inner_text() == "Bottom"
    first = phone.locator(".scale label").first.inner_text()
    last = phone.locator(".scale label").last.inner_text()
    assert (first.strip(), last.strip()) == ("Top much better", "Bottom much better")
    log_in_and_open(page, live_server.url, project, annotator.username)  # a wide screen
    assert page.locator("#response-left h3").inner_text() == "Left"
    assert page.locator(".scale label").first.inner_text().strip() == "1 Left much better"


def test_key_hints_are_hidden_on_a_touch_device(phone, live_server):
    open_on_phone(phone, live_server, "derailment")
    assert phone.evaluate("matchMedia('(hover: none) and (pointer: coarse)').matches")
    expect(phone.locator("[data-keys]")).to_be_hidden()
    expect(phone.locator("kbd").first).to_be_hidden()
    expect(phone.get_by_role("button", name="Submit")).to_be_visible()


def test_the_submit_bar_stays_in_view_on_a_long_item(phone, live_server):
    open_on_phone(phone, live_server, "derailment")
    assert phone.evaluate("document.documentElement.scrollHeight") > 1.5 * PHONE["height"]
    bar = phone.locator("#submit-bar").bounding_box()
    assert bar["y"] + bar["height"] <= PHONE["height"] + 1
    phone.evaluate("window.scrollTo(0, 600)")
    bar = phone.locator("#submit-bar").bounding_box()
    assert bar["y"] >= 0 and bar["y"] + bar["height"] <= PHONE["height"] + 1

"""Visual arguments in headless Chromium: boxes drawn by mouse drag, moved with the keyboard,
resized by their handle, deleted; premises written, a step linked to C; the stored boxes are in
image pixels. Identification mode: an option picked with a digit key."""

import io
import math

import pytest
from playwright.sync_api import expect

from annotate import services
from annotate.models import Annotation, Membership
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.typebrowser import assignment_id, log_in_and_open, wait_until_done
from tests.typedata import jsonl_bytes, png_bytes, zip_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPTIONS = [
    {"id": "A", "text": "A red square"},
    {"id": "B", "text": "A blue sky"},
    {"id": "C", "text": "A green field"},
]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def setup_project(config=None):
    lead = UserFactory(username="lead")
    project = ProjectFactory(
        created_by=lead, overlap=1, task_type="visual_argument", config=config or {}
    )
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    manifest = jsonl_bytes(
        [
            {
                "external_id": f"img-{n}",
                "image": f"img-{n}.png",
                "conclusion": "Buy it.",
                "premise_options": OPTIONS,
                "answer": "A",
            }
            for n in range(2)
        ]
    )
    files = {
        "manifest.jsonl": manifest,
        "img-0.png": png_bytes(400, 200),
        "img-1.png": png_bytes(400, 200, color=(20, 20, 200)),
    }
    services.items_import(project=project, stream=io.BytesIO(zip_bytes(files)))
    annotator = UserFactory(username="annie")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    return project, annotator


def drag(page, start, end):
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()


def test_annotator_draws_boxes_and_links_a_step_on_two_images(page, live_server):
    project, annotator = setup_project()
    log_in_and_open(page, live_server.url, project, annotator.username)
    image = page.locator("#va-image")
    expect(image).to_have_js_property("complete", True)
    box = image.bounding_box()
    assert round(box["width"]) == 400  # shown at natural size: screen pixels are image pixels
    left, top = box["x"], box["y"]

    # Item 1: draw a box, move it 10 px right with Shift+ArrowRight, describe it, one step to C.
    first = assignment_id(page)
    drag(page, (left + 40, top + 30), (left + 140, top + 90))
    expect(page.locator(".va-box")).to_have_count(1)
    expect(page.get_by_label("VP1 text")).to_be_focused()  # a drawn box asks for its description
    page.keyboard.press("Escape")  # leave the description: the arrows move the box again
    page.keyboard.press("Shift+ArrowRight")
    page.get_by_label("VP1 text").fill("A red square")
    page.keyboard.press("Escape")
    page.keyboard.press("l")
    page.get_by_label("step 1 uses VP1").check()
    page.get_by_label("step 1 text").fill("Red sells.")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    wait_until_done(page, 1, first)

    # Item 2: draw two boxes, delete the second, resize the first by its handle, add CP1.
    second = assignment_id(page)
    expect(page.locator(".va-box")).to_have_count(0)
    box = page.locator("#va-image").bounding_box()
    left, top = box["x"], box["y"]
    drag(page, (left + 200, top + 20), (left + 260, top + 70))
    drag(page, (left + 10, top + 150), (left + 60, top + 190))
    expect(page.locator(".va-box")).to_have_count(2)
    page.keyboard.press("Escape")
    page.keyboard.press("Delete")
    expect(page.locator(".va-box")).to_have_count(1)
    handle = page.locator(".va-handle").bounding_box()
    grab = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    drag(page, grab, (grab[0] + 30, grab[1] + 20))
    # The page rounds as JavaScript does (half up); pointer events carry fractional pixels.
    expected_w = math.floor(grab[0] + 30 - left - 200 + 0.5)
    expected_h = math.floor(grab[1] + 20 - top - 20 + 0.5)
    page.get_by_label("VP1 text").fill("A blue square")
    page.keyboard.press("Escape")
    page.keyboard.press("c")
    page.get_by_label("CP1 text").fill("Blue calms.")
    page.keyboard.press("Escape")
    page.keyboard.press("l")
    page.get_by_label("step 1 uses VP1").check()
    page.get_by_label("step 1 uses CP1").check()
    page.keyboard.press("Enter")
    wait_until_done(page, 2, second)
    expect(page.locator("#all-done")).to_be_visible()

    stored = {a.assignment_id: a.value for a in Annotation.objects.filter(annotator=annotator)}
    assert stored[first] == {
        "visual_premises": [
            {"id": "VP1", "text": "A red square", "box": {"x": 50, "y": 30, "w": 100, "h": 60}}
        ],
        "commonsense_premises": [],
        "reasoning_steps": [{"from": ["VP1"], "to": "C", "text": "Red sells."}],
        "conclusion": "Buy it.",
    }
    assert stored[second] == {
        "visual_premises": [
            {
                "id": "VP1",
                "text": "A blue square",
                "box": {"x": 200, "y": 20, "w": expected_w, "h": expected_h},
            }
        ],
        "commonsense_premises": [{"id": "CP1", "text": "Blue calms."}],
        "reasoning_steps": [{"from": ["VP1", "CP1"], "to": "C", "text": ""}],
        "conclusion": "Buy it.",
    }
    assert 85 <= expected_w <= 95 and 65 <= expected_h <= 75


def test_box_drawn_past_the_edge_stays_inside_the_image(page, live_server):
    project, annotator = setup_project()
    log_in_and_open(page, live_server.url, project, annotator.username)
    box = page.locator("#va-image").bounding_box()
    drag(page, (box["x"] + 350, box["y"] + 150), (box["x"] + 480, box["y"] + 260))
    page.get_by_label("VP1 text").fill("Corner")
    page.keyboard.press("Escape")
    page.keyboard.press("l")
    page.get_by_label("step 1 uses VP1").check()
    first = assignment_id(page)
    page.keyboard.press("Enter")
    wait_until_done(page, 1, first)
    value = Annotation.objects.get(annotator=annotator).value
    assert value["visual_premises"][0]["box"] == {"x": 350, "y": 150, "w": 50, "h": 50}


def test_identification_mode_picks_an_option_with_a_digit(page, live_server):
    project, annotator = setup_project({"mode": "identification"})
    log_in_and_open(page, live_server.url, project, annotator.username)
    expect(page.locator(".va-options label")).to_have_count(3)
    picked = {}
    for done in (1, 2):
        current = assignment_id(page)
        page.keyboard.press("2")
        picked[current] = page.locator('input[name="choice"][data-key="2"]').get_attribute("value")
        page.keyboard.press("Enter")
        wait_until_done(page, done, current)
    for annotation in Annotation.objects.filter(annotator=annotator):
        assert annotation.value == {"choice": picked[annotation.assignment_id]}
        assert annotation.value["choice"] == annotation.shown_order["options"][1]

"""Every task type's annotator page in headless Chromium: under 100 KB of HTML, CSS and JS
(SPEC 8), and screenshots at 1280 px and 375 px when SHOTS_DIR is set (to look at them). Also
the dashboard's forest plot, which must not print "undefined" for a missing alpha."""

import io
import os

import pytest
from playwright.sync_api import expect

from analysis import charts
from annotate import services
from annotate.models import Membership
from tests.annotate.browser import test_browser_derailment as derailment
from tests.annotate.browser import test_browser_visual_argument as visual_argument
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record
from tests.typebrowser import log_in_and_open
from tests.typedata import jsonl_bytes, tom_record

PAGE_BUDGET = 100_000  # SPEC 8: HTML + CSS + JS of the annotator page, uncompressed


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def simple_project(task_type: str, records: list[dict]):
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, overlap=1, task_type=task_type)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    services.items_import(project=project, stream=io.BytesIO(jsonl_bytes(records)), fmt="jsonl")
    annotator = UserFactory(username="annie")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    return project, annotator


SETUPS = {
    "preference_pair": lambda: simple_project(
        "preference_pair", [pair_record(n) for n in range(2)]
    ),
    "derailment": derailment.setup_project,
    "tom": lambda: simple_project("tom", [tom_record(0), tom_record(1)]),
    "visual_argument": visual_argument.setup_project,
}


def page_bytes(page, url: str) -> tuple[int, dict[str, int]]:
    sizes: dict[str, int] = {}

    def count(response):
        kind = response.request.resource_type
        if kind in ("document", "stylesheet", "script"):
            sizes[response.url] = len(response.body())

    page.on("response", count)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", count)
    return sum(sizes.values()), sizes


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("task_type", sorted(SETUPS))
def test_annotator_page_stays_under_its_weight_budget(page, live_server, task_type):
    project, annotator = SETUPS[task_type]()
    log_in_and_open(page, live_server.url, project, annotator.username)
    total, sizes = page_bytes(page, f"{live_server.url}/p/{project.pk}/annotate/")
    print(f"\n{task_type}: {total} bytes", {k.rsplit("/", 1)[-1]: v for k, v in sizes.items()})
    assert total < PAGE_BUDGET
    shots = os.environ.get("SHOTS_DIR")
    if shots:
        expect(page.locator("#annotation-form")).to_be_visible()
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=f"{shots}/{task_type}-{width}.png", full_page=True)


def test_forest_plot_explains_a_missing_alpha_instead_of_printing_undefined():
    svg = str(charts.alpha_intervals([("Tone", None, None, None)], title="alpha"))
    assert "undefined" not in svg
    assert "no alpha: see the table" in svg

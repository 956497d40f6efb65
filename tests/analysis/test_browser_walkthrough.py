"""A person's walk through the issue-12 pages (headless Chromium), on a 1280 px desktop and a
375 px touch phone: a lead opens the project page, the analysis dashboard (Dawid-Skene, cohorts,
models, the paper tables), the paper view and the review queue of a preference-pair, a derailment
and a ToM project with imported labels and a prediction run; an annotator opens the annotate page.

Every page must load without a JavaScript error and never scroll sideways at 375 px (wide tables
scroll inside their card). With ``WALKTHROUGH_SHOTS=<dir>`` each page is also saved as a
full-page screenshot there, for a person to look at.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotate import services
from annotate.models import Membership
from annotate.services.labels_import import labels_store
from tests.factories import MembershipFactory, UserFactory
from tests.typedata import jsonl_bytes, simpletom_rows

from ..annotate.tasktypes.test_tom_paper import OUTPUT, import_simpletom_output, label_rows
from ..typebrowser import PASSWORD
from .test_output_golden import preference_project, tone_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("WALKTHROUGH_SHOTS")


def tom_project():
    lead = UserFactory(username="tom-lead")
    project = services.project_create(name="tom", task_type="tom", created_by=lead, overlap=3)
    rows = simpletom_rows("milk_sev1") + simpletom_rows("milk_sev2", story="Other story.")
    services.items_import(
        project=project, stream=io.BytesIO(jsonl_bytes(rows)), fmt="jsonl", adapter="simpletom"
    )
    labels = label_rows("milk_sev1", {"ann": ("B", "A", "B"), "bob": ("A", "A", "A")})
    labels += label_rows("milk_sev2", {"ann": ("B", "B", "B"), "bob": ("B", "A", "B")})
    labels_store(project=project, rows=list(enumerate(labels, start=1)))
    import_simpletom_output(project, OUTPUT)
    annotator = UserFactory(username="tom-ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    return lead, project


def log_in(page, base_url, username):
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


def visit(page, url, name, width):
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    page.wait_for_load_state("networkidle")
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    if width == 375:
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 375, f"{name} scrolls sideways at 375 px ({overflow} px wide)"


LEAD_PAGES = {
    "project": "/p/{}/",
    "dashboard": "/p/{}/analysis/",
    "paper": "/p/{}/analysis/paper/",
    "review": "/p/{}/analysis/review/",
}


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_lead_and_an_annotator_walk_through_every_type(page, phone, live_server, device):
    screen = page if device == "desktop" else phone
    width = 1280 if device == "desktop" else 375
    pairs_lead, pairs, _items = preference_project()
    tone_lead, tones = tone_project()
    tom_lead, tom = tom_project()
    for lead, project, kind in (
        (pairs_lead, pairs, "pairs"),
        (tone_lead, tones, "derailment"),
        (tom_lead, tom, "tom"),
    ):
        screen.context.clear_cookies()
        log_in(screen, live_server.url, lead.username)
        for name, path in LEAD_PAGES.items():
            if name == "review" and kind != "pairs":
                continue  # the review queue is for types with agreement statuses (not linked)
            visit(screen, live_server.url + path.format(project.pk), f"{kind}-{name}", width)
    screen.context.clear_cookies()
    log_in(screen, live_server.url, "tom-ann")
    visit(screen, f"{live_server.url}/p/{tom.pk}/annotate/", "tom-annotate", width)
    expect(screen.locator("#annotation-form")).to_be_visible()

"""A crowd worker in headless Chromium: entry link, instructions, labelling to the quota, code."""

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from annotate import services
from annotate.models import Annotation, CrowdWorker, Membership, WorkerSession
from annotate.services import crowd
from tests.conftest import jsonl
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record
from tests.typebrowser import TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLATFORM = "https://app.prolific.com/submissions/complete"


def crowd_study(*, n_items: int, quota: int):
    lead = UserFactory(username="lead")
    project = ProjectFactory(
        created_by=lead,
        overlap=1,
        instructions_required=True,
        instructions="Compare the two answers and **pick the better one**.",
    )
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    services.items_import(
        project=project, stream=jsonl(pair_record(i) for i in range(n_items)), fmt="jsonl"
    )
    entry = crowd.crowd_entry_update(
        project=project,
        items_per_session=quota,
        completion_code="CMPL42",
        completion_url=PLATFORM + "?cc={code}",
    )
    return project, entry


def test_a_worker_arrives_reads_labels_to_the_quota_and_leaves_with_the_code(page, live_server):
    project, entry = crowd_study(n_items=6, quota=3)
    # The platform is outside the test: answer its completion page here, and record the visit.
    arrivals: list[str] = []

    def platform(route):
        arrivals.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Prolific: submitted</h1>")

    page.route(f"{PLATFORM}**", platform)
    query = urlencode(
        {"PROLIFIC_PID": "60aa1bb2cc3dd4ee5ff60718", "STUDY_ID": "st1", "SESSION_ID": "se1"}
    )

    page.goto(f"{live_server.url}/e/{entry.token}/?{query}")

    # The instructions come first, and Start needs the box ticked.
    expect(page.get_by_role("heading", name="Before you start")).to_be_visible()
    expect(page.locator("#instructions strong")).to_have_text("pick the better one")
    page.locator("#confirm-instructions").click()
    expect(page).to_have_url(re.compile(r"/instructions/$"))  # the browser refused: unticked
    page.get_by_label("I have read and understood the instructions.").check()
    page.locator("#confirm-instructions").click()
    page.wait_for_url(f"{live_server.url}/p/{project.pk}/annotate/")  # and its scripts loaded
    expect(page.locator("#progress")).to_have_text(re.compile(r"^0 done"))

    # Label with the keyboard until the quota ends the session.
    for done in range(3):
        form = page.locator("#annotation-form")
        expect(form).to_be_visible()
        assignment_id = form.get_attribute("data-assignment")
        page.keyboard.press("4")
        expect(form.locator('input[name="preference"][data-key="4"]')).to_be_checked()
        page.keyboard.press("Enter")
        if done < 2:  # the next item replaces this one; after the third, the end page comes
            expect(page.locator("#progress")).to_have_text(re.compile(rf"^{done + 1} done\b"))
            gone = page.locator(f'#annotation-form[data-assignment="{assignment_id}"]')
            expect(gone).to_have_count(0)

    expect(page.locator("#completion-code")).to_have_text("CMPL42")
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert page.url == f"{live_server.url}/p/{project.pk}/annotate/end/"
    # A few seconds later the worker is back on the platform with the code.
    expect(page.get_by_role("heading", name="Prolific: submitted")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    assert arrivals == [f"{PLATFORM}?cc=CMPL42"]

    worker = CrowdWorker.objects.get(project=project)
    assert worker.worker_id == "60aa1bb2cc3dd4ee5ff60718"
    assert Annotation.objects.filter(annotator=worker.user).count() == 3
    session = WorkerSession.objects.get(worker=worker)
    assert (session.study_id, session.session_id, session.status) == ("st1", "se1", "completed")

"""Headless Chromium for every browser test: the ``page`` fixture (exposed by tests/conftest.py)
and helpers for the annotate page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "pw-for-tests-123"  # UserFactory's password
TIMEOUT_MS = 20_000  # generous: CI machines have 2 cores shared with the server and PostgreSQL


@pytest.fixture(name="page")
def chromium_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a
    # thread with a running loop unless told that this is deliberate.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
            assert errors == [], f"JavaScript errors on the page: {errors}"
        finally:
            # While Playwright's loop runs, Django keeps this thread's connection in a
            # context-local slot that pytest-django never sees; left open, it would stop the test
            # database from being dropped at the end of the session.
            connections.close_all()
            browser.close()


PHONE = {"width": 375, "height": 740}


@pytest.fixture(name="phone")
def phone_page(page):
    """A second page in the same browser that behaves like a phone: touch, no hover, 375 px."""
    context = page.context.browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    context.set_default_timeout(TIMEOUT_MS)
    phone = context.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    yield phone
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def log_in_and_open(page: Page, base_url: str, project, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()
    page.goto(f"{base_url}/p/{project.pk}/annotate/")
    expect(page.locator("#progress")).to_have_text(re.compile(r"^0 done"))


def assignment_id(page: Page) -> int:
    return int(page.locator("#annotation-form").get_attribute("data-assignment"))


def wait_until_done(page: Page, done: int, previous_assignment: int) -> None:
    expect(page.locator("#progress")).to_have_text(re.compile(rf"^{done} done\b"))
    expect(
        page.locator(f'#annotation-form[data-assignment="{previous_assignment}"]')
    ).to_have_count(0)


def project_with_annotator(n_pairs: int):
    """A preference-pair project (overlap 1) of ``n_pairs`` items, its lead ``lead`` and one
    annotator ``annie``."""
    from annotate import services
    from annotate.models import Membership
    from tests.conftest import jsonl
    from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, overlap=1)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    services.items_import(
        project=project, stream=jsonl(pair_record(i) for i in range(n_pairs)), fmt="jsonl"
    )
    annotator = UserFactory(username="annie")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    return project, annotator

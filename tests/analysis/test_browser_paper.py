"""A lead opens the paper view from the dashboard, reads the tables, copies a table's LaTeX and
downloads the CSV (headless Chromium), on a desktop and on a 375 px phone."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..typebrowser import PASSWORD
from .test_agreement import VOTES
from .test_models_vs_humans import predict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base_url, username):
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()


def test_lead_reads_copies_and_downloads_the_paper_tables(page, live_server, voted_project):
    project = voted_project["project"]
    items = voted_project["votes"](VOTES)
    predict(project, items)
    log_in(page, live_server.url, "lead")
    page.goto(f"{live_server.url}/p/{project.pk}/analysis/")
    page.get_by_role("link", name="Paper view").first.click()  # the toolbar's; each table links too
    expect(page.get_by_role("heading", name="Paper view")).to_be_visible()
    statuses = page.locator("#paper-statuses")
    expect(statuses.get_by_role("row", name="High agreement preference 2 0.2857")).to_be_visible()
    expect(page.locator("#paper-models tbody tr").first).to_contain_text("judge")
    expect(page.locator("#paper-models tbody tr").first).to_contain_text("0.8750")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    statuses.locator("summary", has_text="LaTeX").click()
    statuses.get_by_role("button", name="Copy LaTeX").click()
    expect(statuses.locator(".copied")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert r"\begin{tabular}" in copied and "High agreement preference & 2 & 0.2857" in copied

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    text = Path(download_info.value.path()).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Agreement statuses"] and ["Do models know?"] in rows


def test_the_paper_view_fits_a_phone(phone, live_server, voted_project):
    project = voted_project["project"]
    items = voted_project["votes"](VOTES)
    predict(project, items)
    log_in(phone, live_server.url, "lead")
    phone.goto(f"{live_server.url}/p/{project.pk}/analysis/paper/")
    expect(phone.locator("#paper-statuses")).to_be_visible()
    # The wide models table scrolls inside its card; the page itself does not scroll sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    statuses = phone.locator("#paper-statuses")
    statuses.locator("summary", has_text="LaTeX").tap()
    expect(statuses.locator("pre.latex")).to_be_visible()

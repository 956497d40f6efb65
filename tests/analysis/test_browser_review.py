"""A lead tags diverging items in the review queue with the keyboard only (headless Chromium)."""

import pytest
from playwright.sync_api import expect

from analysis.models import DivergenceTag

from ..typebrowser import PASSWORD
from .conftest import add_vote, make_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def diverging_project():
    from annotate.models import Membership

    from ..factories import MembershipFactory, ProjectFactory, UserFactory

    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, overlap=2)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    for user in (ann, bob):
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
    long_b = "This answer goes on and on, with far more words than it needs to. " * 8
    first = make_item(project, 1, response_b=long_b)
    second = make_item(project, 2)
    agreed = make_item(project, 3)
    for item, votes in ((first, (-1, 2)), (second, (1, -1)), (agreed, (1, 1))):
        add_vote(item, ann, votes[0])
        add_vote(item, bob, votes[1])
    return project, first, second


def test_lead_tags_a_diverging_item_with_the_keyboard(page, live_server):
    project, first, second = diverging_project()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.goto(f"{live_server.url}/p/{project.pk}/analysis/")
    expect(page.locator("#divergence")).to_contain_text("2 diverging items")
    page.get_by_role("link", name="Review diverging items").click()
    expect(page.locator("#review-position")).to_have_text("1 of 2")
    expect(page.locator("html[data-review-keys=on]")).to_have_count(1)
    expect(page.locator(".review-item")).to_contain_text(first.external_id)
    expect(page.locator("#suggestions")).to_contain_text("Verbosity")
    page.keyboard.press("2")  # Response style / Verbosity
    page.keyboard.press("3")  # Format
    page.keyboard.press("3")  # ... and off again
    page.keyboard.press("4")  # Complexity
    page.keyboard.press("n")
    page.keyboard.type("B pads its answer")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(page.locator("#review-saved")).to_be_visible()
    expect(page.locator(".review-item")).to_contain_text(second.external_id)
    expect(page.locator("#review-position")).to_have_text("1 of 1")  # first left "untagged"
    expect(page.locator("#tag-note")).to_have_value("")
    tag = DivergenceTag.objects.get(item=first)
    assert {c.name for c in tag.categories.all()} == {"Verbosity", "Complexity"}
    assert tag.note == "B pads its answer"

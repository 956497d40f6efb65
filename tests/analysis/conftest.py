"""Hand-made projects with known votes, written as rows (the analysis reads rows, not the flow)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.models import Annotation, Assignment, Item, Membership

from ..factories import MembershipFactory, ProjectFactory, UserFactory


def make_item(project, n: int, **payload_overrides) -> Item:
    payload = {
        "prompt": f"Question {n}?",
        "context": [],
        "response_a": f"Answer A to {n}.",
        "response_b": f"Answer B to {n}.",
        "metadata": {},
    }
    payload.update(payload_overrides)
    return Item.objects.create(project=project, external_id=f"pair-{n}", payload=payload)


def add_vote(
    item, annotator, preference, *, left="a", aspects=None, seconds=10.0, when=None
) -> Annotation:
    value = {"preference": preference, "aspects": aspects or {}, "rationale": "", "flags": []}
    shown = {"left": left, "right": "b" if left == "a" else "a"}
    return add_value(item, annotator, value, shown=shown, seconds=seconds, when=when)


def add_value(item, annotator, value, *, shown=None, seconds=10.0, when=None) -> Annotation:
    """One submitted annotation of any task type, as rows."""
    now = when or timezone.now()
    shown = shown or {}
    assignment = Assignment.objects.create(
        project=item.project,
        item=item,
        annotator=annotator,
        status="submitted",
        shown_order=shown,
        reserved_at=now,
        expires_at=now + timedelta(minutes=30),
        finished_at=now,
    )
    annotation = Annotation.objects.create(
        assignment=assignment,
        project=item.project,
        item=item,
        annotator=annotator,
        value=value,
        shown_order=shown,
        time_spent_ms=int(seconds * 1000),
    )
    Item.objects.filter(pk=item.pk).update(n_submitted=item.annotations.count())
    if when is not None:
        Annotation.objects.filter(pk=annotation.pk).update(created_at=when)
    return annotation


@pytest.fixture
def voted_project(db):
    """A lead, three annotators, and a function to set the votes: ``votes[item][annotator]``."""
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, overlap=3)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    annotators = []
    for name in ("ann", "bob", "cat"):
        user = UserFactory(username=name)
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        annotators.append(user)

    def with_votes(table, payloads=None):
        """``table``: list of rows, one per item, each a list of votes (None = no vote);
        ``payloads``: item index -> payload fields to override."""
        payloads = payloads or {}
        items = []
        for n, row in enumerate(table):
            item = make_item(project, n, **payloads.get(n, {}))
            items.append(item)
            for user, vote in zip(annotators, row, strict=False):
                if vote is not None:
                    add_vote(item, user, vote)
        return items

    return {"lead": lead, "project": project, "annotators": annotators, "votes": with_votes}

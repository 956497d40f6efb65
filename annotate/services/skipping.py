"""Skipping an item, and taking the skip back within a few seconds (issue 10, point 2).

The locks follow ``annotate.services.assignment``: membership, then item, then assignment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotate.models import Assignment, Item, Membership
from annotate.services.assignment import _others_live, _own_assignment, item_target
from core.errors import Conflict

UNSKIP_SECONDS = 15
"""How long after a skip the annotator can take it back ("Undo")."""


def assignment_skip(
    *, assignment_id: int, annotator: User, now: datetime | None = None
) -> Assignment:
    """Give the item back; the annotator will not be offered it again (unless they undo the
    skip within ``UNSKIP_SECONDS``, ``assignment_unskip``)."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment = _own_assignment(assignment_id=assignment_id, annotator=annotator)
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.status == Assignment.Status.SUBMITTED:
            raise Conflict("this assignment is already submitted; it cannot be skipped")
        if assignment.status == Assignment.Status.RESERVED:
            assignment.status = Assignment.Status.SKIPPED
            assignment.finished_at = now
            assignment.save(update_fields=["status", "finished_at"])
        return assignment


def assignment_unskip(
    *, assignment_id: int, annotator: User, now: datetime | None = None
) -> Assignment:
    """Take a skip back within ``UNSKIP_SECONDS``: the item is reserved for the annotator again.

    The reservation they were given after the skip is released (an annotator never holds two
    live reservations). Refused (``Conflict``) when the skip is older than the window, when the
    assignment was not skipped, or when the item has meanwhile got the annotations it needs
    (counting others' live reservations).
    """
    now = now or timezone.now()
    assignment = _own_assignment(assignment_id=assignment_id, annotator=annotator)
    project = assignment.project
    with transaction.atomic():
        Membership.objects.select_for_update().filter(project=project, user=annotator).first()
        item = Item.objects.select_for_update().get(pk=assignment.item_id)
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.status != Assignment.Status.SKIPPED:
            raise Conflict("this item was not skipped, so there is nothing to undo")
        if assignment.finished_at is None or now - assignment.finished_at > timedelta(
            seconds=UNSKIP_SECONDS
        ):
            raise Conflict(f"too late to undo: a skip can be undone for {UNSKIP_SECONDS} seconds")
        others_live = _others_live(item=item, annotator=annotator, now=now)
        if not item.is_gold and item.n_submitted + others_live >= item_target(
            project=project, item=item
        ):
            raise Conflict("too late to undo: the item has been taken by others meanwhile")
        Assignment.objects.filter(
            project=project,
            annotator=annotator,
            status=Assignment.Status.RESERVED,
            expires_at__gt=now,
        ).exclude(pk=assignment.pk).update(expires_at=now)
        assignment.status = Assignment.Status.RESERVED
        assignment.finished_at = None
        assignment.expires_at = now + timedelta(seconds=project.reservation_seconds)
        assignment.save(update_fields=["status", "finished_at", "expires_at"])
        return assignment

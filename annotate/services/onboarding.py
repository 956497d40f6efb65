"""Onboarding and the gate in front of ``next`` (SPEC 5): instructions, qualification, pausing.

``annotator_stop`` and ``qualification_next`` run inside ``assignment_reserve_next`` under the
lock on the annotator's membership, so these rules hold in one place for the browser and the API:

- a paused annotator gets nothing (``AnnotatorPaused``, 403);
- where the project requires it, nothing before the instructions are confirmed
  (``InstructionsNotConfirmed``, 409);
- where the project has qualification items, those come first; once all are answered the share
  answered right is compared with the project's pass mark, and a failure ends the work
  (``NotQualified``, 403).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotate.models import Annotation, Assignment, Item, Membership, Project
from annotate.services.gold import gold_score, task_type_agrees
from core.errors import Conflict, Forbidden, NotFound, ServiceError


class AnnotatorPaused(Forbidden):
    code = "paused"


class InstructionsNotConfirmed(Conflict):
    code = "instructions_not_confirmed"


class NotQualified(Forbidden):
    code = "not_qualified"


def annotator_stop(*, membership: Membership, project: Project) -> ServiceError | None:
    """Why the annotator may not get items now (from the membership alone); ``None`` if none."""
    if membership.status == Membership.Status.PAUSED:
        return AnnotatorPaused(
            "your work on this project is paused; the project lead will review it"
        )
    if project.instructions_required and membership.instructions_confirmed_at is None:
        return InstructionsNotConfirmed(
            "please read and confirm the instructions before the first item"
        )
    if membership.qualification == Membership.Qualification.FAILED:
        return NotQualified("you did not pass the qualification for this project")
    return None


def qualification_next(
    *, membership: Membership, project: Project
) -> tuple[Item | None, ServiceError | None]:
    """The next qualification item for a not yet qualified annotator, or the verdict.

    Returns ``(item, None)`` while qualification items are left to answer, ``(None, None)`` when
    the annotator may go on to real work, and ``(None, NotQualified)`` when they failed. The
    verdict is saved on the (locked) membership in the caller's transaction; the caller raises
    the error only after committing it.
    """
    if membership.qualification != Membership.Qualification.PENDING:
        return None, None
    answered_by_me = Assignment.objects.filter(
        item=OuterRef("pk"), annotator=membership.user_id
    ).exclude(status=Assignment.Status.RESERVED)
    quals = list(
        Item.objects.filter(project=project, is_gold=True, is_qualification=True)
        .annotate(answered=Exists(answered_by_me))
        .order_by("rank", "pk")
    )
    if not quals:
        return None, None  # the project has no qualification: nothing to pass
    for item in quals:
        if not item.answered:
            return item, None
    pairs = Annotation.objects.filter(
        project=project, annotator=membership.user_id, item__in=[item.pk for item in quals]
    ).values_list("value", "item__gold_value")
    score = gold_score(list(pairs), agrees=task_type_agrees(project))
    # A skipped qualification item counts as wrong: the denominator is every qualification item.
    # Divided, not multiplied: 7 / 10 is exactly the float 0.7; 0.7 * 10 is not exactly 7.
    passed = score.n_correct / len(quals) >= project.qualification_pass_mark
    membership.qualification = (
        Membership.Qualification.PASSED if passed else Membership.Qualification.FAILED
    )
    membership.save(update_fields=["qualification"])
    if not passed:
        return None, NotQualified("you did not pass the qualification for this project")
    return None, None


def instructions_confirm(
    *, project: Project, annotator: User, now: datetime | None = None
) -> Membership:
    """Record that ``annotator`` opened and confirmed the project's instructions (once)."""
    now = now or timezone.now()
    membership = Membership.objects.filter(
        project=project, user=annotator, role=Membership.Role.ANNOTATOR
    ).first()
    if membership is None:
        raise NotFound("you are not an annotator of this project")
    if membership.instructions_confirmed_at is None:
        Membership.objects.filter(pk=membership.pk, instructions_confirmed_at=None).update(
            instructions_confirmed_at=now
        )
        membership.refresh_from_db(fields=["instructions_confirmed_at"])
    return membership

"""Gold items and annotator quality control (SPEC 3, last point).

Decisions:
- Gold items leave the ordinary pool. ``next`` serves one with probability ``project.gold_rate``
  (when the annotator has one left that they have not seen and ordinary work remains); they are
  shown like any other item and never count toward the overlap, so every annotator can get every
  gold item.
- Qualification items are gold items flagged ``is_qualification``; they are served before real
  work (``annotate.services.onboarding``) and count only toward the qualification, not toward
  gold accuracy.
- Gold accuracy is the share of an annotator's answers on (non-qualification) gold items that
  the task type's ``gold_agrees`` accepts. Once an annotator has ``project.gold_min_answers`` gold
  answers and their accuracy is below ``project.gold_min_accuracy`` (0 turns this off), they are
  paused and flagged: ``next`` refuses them, and their annotations leave exports and aggregates.
  A lead may reinstate them, which unflags them and restarts the count from that moment.
- Flagged annotations still count toward their items' overlap (items are not reopened).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotate.models import Annotation, Assignment, Item, Membership, Project
from annotate.tasktypes import get_task_type
from core.errors import FieldError, InvalidInput, NotFound, SchemaError

Agrees = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]


@dataclass(frozen=True)
class GoldScore:
    n_answers: int
    n_correct: int

    @property
    def accuracy(self) -> float | None:
        return self.n_correct / self.n_answers if self.n_answers else None


def gold_score(
    pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any] | None]], *, agrees: Agrees
) -> GoldScore:
    """Score ``(annotation value, gold value)`` pairs; pairs without a gold value are ignored."""
    n_answers = n_correct = 0
    for value, gold_value in pairs:
        if gold_value is None:
            continue
        n_answers += 1
        n_correct += bool(agrees(value, gold_value))
    return GoldScore(n_answers=n_answers, n_correct=n_correct)


def below_threshold(score: GoldScore, *, min_answers: int, min_accuracy: float) -> bool:
    """Whether a score is bad enough to pause: enough answers, and accuracy under the bar."""
    if min_accuracy <= 0 or score.n_answers < max(1, min_answers):
        return False
    return score.n_correct / score.n_answers < min_accuracy


def task_type_agrees(project: Project) -> Agrees:
    return get_task_type(project.task_type).gold_agrees


def gold_pick(*, project: Project, annotator: User, rng: random.Random) -> Item | None:
    """A random gold item (not a qualification item) that ``annotator`` has never been given."""
    given_to_me = Assignment.objects.filter(item=OuterRef("pk"), annotator=annotator)
    ids = list(
        Item.objects.filter(project=project, is_gold=True, is_qualification=False)
        .filter(~Exists(given_to_me))
        .order_by("rank", "pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return None
    return Item.objects.get(pk=rng.choice(ids))


def annotator_gold_score(
    *, project: Project, annotator: User, since: datetime | None = None
) -> GoldScore:
    """The annotator's score on the project's gold items (qualification items left out)."""
    annotations = Annotation.objects.filter(
        project=project, annotator=annotator, item__is_gold=True, item__is_qualification=False
    )
    if since is not None:
        annotations = annotations.filter(created_at__gte=since)
    pairs = annotations.values_list("value", "item__gold_value")
    return gold_score(pairs.iterator(), agrees=task_type_agrees(project))


def annotator_gold_review(
    *, project: Project, annotator: User, now: datetime | None = None
) -> bool:
    """Pause and flag ``annotator`` if their gold accuracy is under the project's threshold.

    Called after each gold answer, outside the submit's transaction (so it never waits on an item
    lock while holding the membership, the order ``next`` uses). Returns whether it paused them.
    """
    if project.gold_min_accuracy <= 0:
        return False
    membership = Membership.objects.filter(
        project=project,
        user=annotator,
        role=Membership.Role.ANNOTATOR,
        status=Membership.Status.ACTIVE,
    ).first()
    if membership is None:
        return False
    score = annotator_gold_score(
        project=project, annotator=annotator, since=membership.gold_window_start
    )
    if not below_threshold(
        score, min_answers=project.gold_min_answers, min_accuracy=project.gold_min_accuracy
    ):
        return False
    reason = (
        f"gold accuracy {score.n_correct}/{score.n_answers} is under "
        f"{project.gold_min_accuracy:.0%}"
    )
    changed = Membership.objects.filter(pk=membership.pk, status=Membership.Status.ACTIVE).update(
        status=Membership.Status.PAUSED,
        flagged=True,
        status_reason=reason,
        status_changed_at=now or timezone.now(),
    )
    return bool(changed)


def _annotator_membership(*, project: Project, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(pk=membership_id, project=project, role=Membership.Role.ANNOTATOR)
        .first()
    )
    if membership is None:
        raise NotFound("no such annotator in this project")
    return membership


@transaction.atomic
def membership_pause(
    *, project: Project, membership_id: int, by: User, now: datetime | None = None
) -> Membership:
    """A lead pauses an annotator: no more items, and their annotations are flagged."""
    membership = _annotator_membership(project=project, membership_id=membership_id)
    membership.status = Membership.Status.PAUSED
    membership.flagged = True
    membership.status_reason = f"paused by {by.username}"
    membership.status_changed_at = now or timezone.now()
    membership.save(update_fields=["status", "flagged", "status_reason", "status_changed_at"])
    return membership


@transaction.atomic
def membership_reinstate(
    *, project: Project, membership_id: int, by: User, now: datetime | None = None
) -> Membership:
    """A lead reinstates an annotator: active, unflagged, qualified; gold counting restarts."""
    now = now or timezone.now()
    membership = _annotator_membership(project=project, membership_id=membership_id)
    membership.status = Membership.Status.ACTIVE
    membership.flagged = False
    membership.status_reason = f"reinstated by {by.username}"
    membership.status_changed_at = now
    membership.gold_window_start = now
    if membership.qualification == Membership.Qualification.FAILED:
        membership.qualification = Membership.Qualification.PASSED
    membership.save(
        update_fields=[
            "status",
            "flagged",
            "status_reason",
            "status_changed_at",
            "gold_window_start",
            "qualification",
        ]
    )
    return membership


def item_gold_set(
    *, project: Project, external_id: str, gold: Any, qualification: bool = False
) -> Item:
    """Mark an item gold with its answer (validated by the task type), or a qualification item."""
    item = Item.objects.filter(project=project, external_id=external_id.strip()).first()
    if item is None:
        raise InvalidInput(
            "no such item", detail=[FieldError("external_id", f"no item {external_id!r}")]
        )
    plugin = get_task_type(project.task_type)
    try:
        gold_value = plugin.validate_annotation(gold, config=project.config, payload=item.payload)
    except SchemaError as exc:
        raise InvalidInput(
            "the gold answer does not fit the schema",
            detail=[
                FieldError("gold." + e.field.removeprefix("value."), e.message) for e in exc.errors
            ],
        ) from None
    item.is_gold = True
    item.gold_value = gold_value
    item.is_qualification = qualification
    item.save(update_fields=["is_gold", "gold_value", "is_qualification", "updated_at"])
    return item


def item_gold_clear(*, project: Project, item_id: int) -> Item:
    """Make a gold (or qualification) item an ordinary item again."""
    item = Item.objects.filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound("no such item in this project")
    item.is_gold = False
    item.gold_value = None
    item.is_qualification = False
    item.save(update_fields=["is_gold", "gold_value", "is_qualification", "updated_at"])
    return item

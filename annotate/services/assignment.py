"""Reservation and submission (SPEC 3): one concept, the locks below, kept in one module;
skipping and its undo are in ``annotate.services.skipping``.

Concurrency rules, all enforced by PostgreSQL:
- one annotator's ``next`` calls are serialised by a row lock on their membership, so they never
  hold two live reservations;
- a candidate item is taken with ``FOR UPDATE SKIP LOCKED``; every reservation of an item happens
  under that item's row lock, so the live-reservation count read after taking the lock is exact;
- a submit takes a blocking lock on the item and checks ``n_submitted`` against the item's target
  (``project.overlap + item.extra_overlap``), so no item ever gets more annotations than its target;
- a submit first takes the annotator's membership lock (the same order as ``next``: membership,
  then item), so a crowd worker's quota, checked at hand-out and again at submit, is exact;
- unique constraints: one assignment per (item, annotator), one annotation per assignment.

How many open items a project has, and the most annotations an open item has, come from the
project's tally on PostgreSQL (``annotate.models.ItemTally``, kept by triggers), not from a
count over its items: ``n_left_sql``, ``open_items_top``.

``annotate.services.hot_path`` serves the common case of the API's two hot endpoints with these
same locks, in the same order, in fewer statements; every other case goes the full way here.
"""

from __future__ import annotations

import random
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotate import hooks
from annotate.models import Annotation, Assignment, Item, ItemTally, Membership, Project
from annotate.services.adaptive import adaptive_extend
from annotate.services.crowd import quota_check_submit, quota_reached
from annotate.services.gold import annotator_gold_review, gold_pick
from annotate.services.onboarding import annotator_stop, qualification_next
from annotate.tasktypes import get_task_type
from core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    SchemaError,
    ServiceError,
)

MAX_CANDIDATES_PER_CALL = 50
"""Candidates examined in one ``next`` before giving up; each one was full under its lock."""

MAX_LOCK_WAITS = 200
LOCK_WAIT_SECONDS = 0.005
"""When every open candidate is locked by a concurrent call, ``next`` polls for up to about
``MAX_LOCK_WAITS * LOCK_WAIT_SECONDS`` before answering that nothing is left."""

MAX_TIME_SPENT_MS = 24 * 3600 * 1000
"""Time spent on one answer is at most a day: a longer timer is a tab left open. The one cap:
a value sent above it is counted as the cap; a value measured from the reservation is capped
the same way."""


class StaleVersion(Conflict):
    """A submit based on an outdated version of the annotation (two tabs, one item)."""

    code = "stale_version"

    def __init__(self, message: str, *, current_version: int):
        super().__init__(message)
        self.current_version = current_version

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "current_version": self.current_version}


class AnswerLocked(Conflict):
    """A gold or qualification answer, once scored, cannot be changed."""

    code = "answer_locked"


_RNG = random.SystemRandom()
"""Draws whether ``next`` serves a gold item; tests pass a seeded ``random.Random``."""


def _live_reservations(*, now: datetime) -> Any:
    counted = (
        Assignment.objects.filter(
            item=OuterRef("pk"), status=Assignment.Status.RESERVED, expires_at__gt=now
        )
        .order_by()
        .values("item")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _others_live(*, item: Item, annotator: User, now: datetime) -> int:
    """Live reservations of ``item`` by other annotators (exact under the item's row lock)."""
    return (
        Assignment.objects.filter(item=item, status=Assignment.Status.RESERVED, expires_at__gt=now)
        .exclude(annotator=annotator)
        .count()
    )


def _lock_membership(*, project: Project, annotator: User) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .filter(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
        .first()
    )
    if membership is None:
        raise Forbidden("you are not an annotator of this project")
    return membership


def assignment_reserve_next(
    *,
    project: Project,
    annotator: User,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Assignment | None:
    """Reserve the next item for ``annotator``; ``None`` when nothing is left for them.

    An annotator with a live reservation gets it back. A paused annotator, one who has not yet
    confirmed required instructions, or one who failed the qualification is refused (the errors
    of ``annotate.services.onboarding``); qualification items come before real work; a crowd
    worker whose session quota is reached gets ``None``. Otherwise, with probability
    ``project.gold_rate`` (drawn from ``rng``), a gold item they have not seen, else the item
    chosen is one they have not submitted or skipped, that still needs annotations counting live
    reservations, closest to done first, then in a stable random order. Gold items are served
    only while ordinary work remains.
    """
    now = now or timezone.now()
    with transaction.atomic():
        membership = _lock_membership(project=project, annotator=annotator)
        stop = annotator_stop(membership=membership, project=project)
        if stop is None:
            outcome = _reserve_for(
                membership=membership,
                project=project,
                annotator=annotator,
                now=now,
                rng=rng or _RNG,
            )
    # Raised outside the transaction, so that what the gate recorded (a failed qualification)
    # is committed.
    if stop is not None:
        raise stop
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def _reserve_for(
    *,
    membership: Membership,
    project: Project,
    annotator: User,
    now: datetime,
    rng: random.Random,
) -> Assignment | ServiceError | None:
    live = (
        Assignment.objects.select_related("item")
        .filter(
            project=project,
            annotator=annotator,
            status=Assignment.Status.RESERVED,
            expires_at__gt=now,
        )
        .order_by("reserved_at")
        .first()
    )
    if live is not None:
        return live

    qualification_item, failed = qualification_next(membership=membership, project=project)
    if failed is not None:
        return failed
    if qualification_item is not None:
        return _reserve(project=project, item=qualification_item, annotator=annotator, now=now)
    if quota_reached(project=project, annotator=annotator):
        return None

    candidates = (
        open_items_for(project=project, annotator=annotator)
        .alias(live=_live_reservations(now=now))
        .filter(n_submitted__lt=project.overlap + F("extra_overlap") - F("live"))
        .order_by("-n_submitted", "rank")
    )
    if project.gold_rate > 0 and rng.random() < project.gold_rate and candidates.exists():
        gold = gold_pick(project=project, annotator=annotator, rng=rng)
        if gold is not None:
            return _reserve(project=project, item=gold, annotator=annotator, now=now)
    tried: list[int] = []
    waits = 0
    while len(tried) < MAX_CANDIDATES_PER_CALL:
        remaining = candidates.exclude(pk__in=tried)
        item = remaining.select_for_update(skip_locked=True, of=("self",)).first()
        if item is None:
            # Every candidate left is locked by another reserve or submit, which ends in
            # milliseconds: wait and look again rather than say nothing is left. Polling,
            # not a blocking lock, so two reserves can never deadlock on each other.
            if waits < MAX_LOCK_WAITS and remaining.exists():
                waits += 1
                time.sleep(LOCK_WAIT_SECONDS)
                continue
            return None
        # Exact now: every reservation of this item is made under the lock we hold.
        others_live = _others_live(item=item, annotator=annotator, now=now)
        if item.n_submitted + others_live < item_target(project=project, item=item):
            return _reserve(project=project, item=item, annotator=annotator, now=now)
        tried.append(item.pk)
    return None


# A project's open items from its tally (annotate.models.ItemTally, kept by triggers on
# PostgreSQL): how many there are, and the most annotations an open item has (NULL: none
# open), so that a walk of the items closest to done first starts past the full ones instead
# of stepping over every one of them. Each a sum over a few rows, whatever the project's size.
OPEN_COUNT_SQL = (
    f"SELECT coalesce(sum(t.delta), 0)::bigint FROM {ItemTally._meta.db_table} t"
    " WHERE t.project_id = {project} AND t.n_submitted < {overlap} + t.extra_overlap"
)
OPEN_TOP_SQL = (
    f"SELECT max(b.n_submitted) FROM (SELECT t.n_submitted FROM {ItemTally._meta.db_table} t"
    " WHERE t.project_id = {project} AND t.n_submitted < {overlap} + t.extra_overlap"
    " GROUP BY t.n_submitted, t.extra_overlap HAVING sum(t.delta) > 0) b"
)


# The items ``annotator`` finished (submitted or skipped) that are still open, the part of
# ``n_left`` that is theirs, counted from whichever side is smaller: the open items already
# started (the tally says how many; the same walk as above), or the annotator's own finished
# assignments (as many as their answers, ``n_done``). An answered ordinary item has
# ``n_submitted`` >= 1, so an open item with none can only be one they skipped.
_TALLY, _ITEM, _ASSIGNMENT = (m._meta.db_table for m in (ItemTally, Item, Assignment))
FINISHED_OPEN_SQL = (
    f"CASE WHEN (SELECT coalesce(sum(t.delta), 0) FROM {_TALLY} t"
    f" WHERE t.project_id = {{project}} AND t.n_submitted >= 1"
    f" AND t.n_submitted < {{overlap}} + t.extra_overlap) <= {{n_done}}"
    f" THEN (SELECT count(*) FROM {_ITEM} i WHERE i.project_id = {{project}} AND NOT i.is_gold"
    f" AND i.n_submitted >= 1 AND i.n_submitted <= ({OPEN_TOP_SQL})"
    f" AND i.n_submitted < {{overlap}} + i.extra_overlap"
    f" AND EXISTS (SELECT 1 FROM {_ASSIGNMENT} f WHERE f.item_id = i.id"
    f" AND f.annotator_id = {{annotator}} AND f.status <> 'reserved'))"
    f" + (SELECT count(*) FROM {_ASSIGNMENT} f JOIN {_ITEM} o ON o.id = f.item_id"
    f" WHERE f.annotator_id = {{annotator}} AND f.project_id = {{project}}"
    f" AND f.status = 'skipped' AND o.n_submitted = 0 AND NOT o.is_gold"
    f" AND 0 < {{overlap}} + o.extra_overlap)"
    f" ELSE (SELECT count(*) FROM {_ASSIGNMENT} f JOIN {_ITEM} o ON o.id = f.item_id"
    f" WHERE f.annotator_id = {{annotator}} AND f.project_id = {{project}}"
    f" AND f.status <> 'reserved' AND NOT o.is_gold"
    f" AND o.n_submitted < {{overlap}} + o.extra_overlap) END"
)


def n_left_sql(*, project: str, overlap: str, annotator: str, n_done: str) -> str:
    """SQL for an annotator's ``n_left`` (before a crowd quota): the project's open ordinary
    items less those the annotator finished; the arguments are SQL (placeholders, columns)."""
    n_open = OPEN_COUNT_SQL.format(project=project, overlap=overlap)
    finished = FINISHED_OPEN_SQL.format(
        project=project, overlap=overlap, annotator=annotator, n_done=n_done
    )
    return f"({n_open}) - ({finished})"


def open_items_tallied() -> bool:
    """Whether open items are tallied (PostgreSQL), so that ``n_left_sql`` and
    ``open_items_top`` answer; elsewhere they are counted from the items."""
    return connection.vendor == "postgresql"


def open_items_top(*, project: Project) -> Any:
    """The most annotations an open ordinary item of ``project`` has (NULL when none is open),
    from the tally: an expression for a query (PostgreSQL)."""
    sql = OPEN_TOP_SQL.format(project="%s", overlap="%s")
    return RawSQL(f"({sql})", [project.pk, project.overlap], output_field=IntegerField())


def open_items_for(*, project: Project, annotator: User) -> Any:
    """Ordinary items that still need annotations and that ``annotator`` has not submitted or
    skipped, whether or not others hold them reserved now."""
    finished_by_me = Assignment.objects.filter(item=OuterRef("pk"), annotator=annotator).exclude(
        status=Assignment.Status.RESERVED
    )
    items = Item.objects.filter(
        project=project, n_submitted__lt=project.overlap + F("extra_overlap"), is_gold=False
    )
    if open_items_tallied():  # a walk starts past the full items
        items = items.filter(n_submitted__lte=open_items_top(project=project))
    return items.filter(~Exists(finished_by_me))


def item_target(*, project: Project, item: Item) -> int:
    """How many annotations ``item`` wants: the project's overlap plus adaptive overlap's extra."""
    return project.overlap + item.extra_overlap


def _reserve(*, project: Project, item: Item, annotator: User, now: datetime) -> Assignment:
    expires_at = now + timedelta(seconds=project.reservation_seconds)
    expired = Assignment.objects.filter(item=item, annotator=annotator).first()
    if expired is not None:  # the annotator's own reservation of this item ran out: renew it
        expired.reserved_at = now
        expired.expires_at = expires_at
        expired.save(update_fields=["reserved_at", "expires_at"])
        expired.item = item
        return expired
    plugin = get_task_type(project.task_type)
    shown_order = plugin.shown_order(item.payload, random.Random(secrets.randbits(64)))
    return Assignment.objects.create(
        project=project,
        item=item,
        annotator=annotator,
        shown_order=shown_order,
        reserved_at=now,
        expires_at=expires_at,
    )


def _own_assignment(*, assignment_id: int, annotator: User) -> Assignment:
    assignment = (
        Assignment.objects.select_related("project")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None:
        raise NotFound("no such assignment for you")
    return assignment


def annotation_submit(
    *,
    assignment_id: int,
    annotator: User,
    value: Any,
    time_spent_ms: int | None = None,
    base_version: int | None = None,
    now: datetime | None = None,
) -> tuple[Annotation, bool]:
    """Store the annotator's label for an assignment; returns ``(annotation, created)``.

    Resubmitting updates the annotation in place and keeps the earlier version in history. A
    submit after the reservation expired (or after a skip) is accepted only if the item still
    needs it, counting other annotators' live reservations; otherwise ``Conflict`` says why. A
    crowd worker's new answer past their quota (or after their session ended) is refused
    (``QuotaReached``, 409). ``time_spent_ms`` above ``MAX_TIME_SPENT_MS`` counts as the cap.
    An answer on a gold item is always accepted, and then the annotator's gold accuracy is
    reviewed (``annotate.services.gold``), which may pause them; a gold or qualification answer,
    once scored, cannot be changed (``AnswerLocked``, 409).

    ``base_version`` is the version the annotator's form was based on (0: no answer yet). When
    given and the stored annotation is at another version (a second tab submitted meanwhile),
    nothing is stored: ``StaleVersion`` (409, ``stale_version``) names the current version.
    """
    now = now or timezone.now()
    annotation, created, is_gold = _store_annotation(
        assignment_id=assignment_id,
        annotator=annotator,
        value=value,
        time_spent_ms=time_spent_ms,
        base_version=base_version,
        now=now,
    )
    if is_gold:
        annotator_gold_review(project=annotation.project, annotator=annotator, now=now)
    else:
        # The analysis figures are out of date (the analysis app refreshes a big project's).
        hooks.annotations_changed(project_id=annotation.project_id)
    return annotation, created


def _store_annotation(
    *,
    assignment_id: int,
    annotator: User,
    value: Any,
    time_spent_ms: int | None,
    base_version: int | None,
    now: datetime,
) -> tuple[Annotation, bool, bool]:
    if time_spent_ms is not None and time_spent_ms < 0:
        raise InvalidInput(
            "time_spent_ms out of range",
            detail=[FieldError("time_spent_ms", "must be 0 or more")],
        )
    assignment = _own_assignment(assignment_id=assignment_id, annotator=annotator)
    project = assignment.project
    plugin = get_task_type(project.task_type)
    with transaction.atomic():
        Membership.objects.select_for_update().filter(project=project, user=annotator).first()
        item = Item.objects.select_for_update().get(pk=assignment.item_id)
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        try:
            cleaned = plugin.validate_annotation(value, config=project.config, payload=item.payload)
        except SchemaError as exc:
            raise InvalidInput(
                "the annotation does not fit the schema", detail=exc.as_list()
            ) from None
        if time_spent_ms is None:
            time_spent_ms = int((now - assignment.reserved_at).total_seconds() * 1000)
        time_spent_ms = min(time_spent_ms, MAX_TIME_SPENT_MS)

        existing = Annotation.objects.filter(assignment=assignment).first()
        _check_base_version(existing, base_version)
        if existing is not None:
            if (item.is_gold or item.is_qualification) and existing.value != cleaned:
                raise AnswerLocked(
                    "not stored: this was a check item and your answer has already been "
                    "scored, so it cannot be changed"
                )
            resubmitted = _resubmit(existing, cleaned, time_spent_ms=time_spent_ms, now=now)
            return resubmitted, False, item.is_gold

        if not item.is_qualification:
            quota_check_submit(project=project, annotator=annotator)
        on_time = assignment.status == Assignment.Status.RESERVED and assignment.expires_at > now
        if item.is_gold:
            still_needed = True  # gold items are for everyone: no overlap to respect
        elif on_time:
            still_needed = item.n_submitted < item_target(project=project, item=item)
        else:
            others_live = _others_live(item=item, annotator=annotator, now=now)
            still_needed = item.n_submitted + others_live < item_target(project=project, item=item)
        if not still_needed:
            why = (
                "was skipped"
                if assignment.status == Assignment.Status.SKIPPED
                else (f"expired at {assignment.expires_at.isoformat()}")
            )
            raise Conflict(
                f"not stored: your reservation {why} and the item already has the "
                f"{item_target(project=project, item=item)} annotations it needs (or they are "
                "reserved by others)"
            )

        annotation = Annotation.objects.create(
            assignment=assignment,
            project=project,
            item=item,
            annotator=annotator,
            value=cleaned,
            shown_order=assignment.shown_order,
            time_spent_ms=time_spent_ms,
        )
        assignment.status = Assignment.Status.SUBMITTED
        assignment.finished_at = now
        assignment.save(update_fields=["status", "finished_at"])
        Item.objects.filter(pk=item.pk).update(n_submitted=F("n_submitted") + 1)
        if not (item.is_gold or item.is_qualification):
            adaptive_extend(project=project, item_id=item.pk)
        return annotation, True, item.is_gold


def _check_base_version(existing: Annotation | None, base_version: int | None) -> None:
    current = existing.version if existing is not None else 0
    if base_version is None or base_version == current:
        return
    if current == 0:
        message = (
            "not stored: your answer was based on a version of this item that no longer "
            "exists; reload to see its current state"
        )
    else:
        message = (
            f"not stored: this answer was changed elsewhere (another tab or device) and is now "
            f"at version {current}; your form was based on version {base_version}. Reload the "
            f"item to see the current answer, then change it again if needed."
        )
    raise StaleVersion(message, current_version=current)


def _resubmit(
    annotation: Annotation, value: dict[str, Any], *, time_spent_ms: int, now: datetime
) -> Annotation:
    if annotation.value == value:
        return annotation  # a double click or a retried request: nothing new to keep
    annotation.superseded().save()
    annotation.value = value
    annotation.version += 1
    annotation.time_spent_ms = time_spent_ms
    annotation.save(update_fields=["value", "version", "time_spent_ms", "updated_at"])
    return annotation

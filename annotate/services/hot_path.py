"""The hot path of the API's ``next`` and ``submit`` (issue 11): the common case (an ordinary
annotator, an ordinary item, a live reservation, a first answer) in a few round trips, with the
locks of ``annotate.services.assignment`` taken in the same order; ``None`` sends a call the full
way. PostgreSQL only: elsewhere (the SQLite demo) every call goes the full way."""

from __future__ import annotations

import contextlib
import json
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from annotate import hooks
from annotate.models import Annotation, Assignment, Item, Membership, Project
from annotate.services.adaptive import adaptive_extend
from annotate.services.assignment import MAX_TIME_SPENT_MS, OPEN_TOP_SQL, n_left_sql
from annotate.tasktypes import get_task_type
from core.errors import (
    InvalidInput,
    SchemaError,
)

# --- The hot path (issue 11): next and submit in a few round trips, for the common case.
#
# ``hot_next`` and ``hot_submit`` serve an ordinary annotator on an ordinary item with the same
# rules and locks as above, in fewer statements; each returns ``None`` when the case is not the
# common one, and the caller then takes the full path above (which also words every refusal):
#
# - next, common case: BEGIN; one statement locks the membership (then, in the same statement,
#   reads the project and the annotator's state, and takes a candidate item with
#   ``FOR UPDATE SKIP LOCKED``); a second statement, with a fresh snapshot taken under both
#   locks, counts the others' live reservations of the item exactly, reserves it (or renews the
#   annotator's expired reservation of it) and counts the annotator's progress; COMMIT.
#   The full path instead: no membership row (not an annotator, or no such project), staff,
#   paused, instructions not confirmed, qualification pending with qualification items or
#   failed, a crowd worker (quota), a project with a gold rate, no candidate left unlocked, and
#   a candidate found full under its lock.
# - submit, common case: one read (assignment, project, item, whether answered), the schema
#   check in Python, then one statement that locks the item, then the assignment (still
#   reserved and live; the order of the full path and of undoing a skip),
#   bumps the item's counter only while under its target (the blocking row lock and PostgreSQL's
#   re-check of the newest row version make that exact), marks the assignment submitted and
#   stores the annotation, all or nothing. The full path instead: a resubmit, an expired or
#   skipped reservation, a gold or qualification item, a crowd worker, a ``base_version`` other
#   than 0, and whatever the statement did not store (a concurrent submit or skip won).
#   A project with adaptive overlap runs the statement and ``adaptive_extend`` in one
#   transaction.
#
# Neither statement's cost grows with the project (issue 11, 1,000,000 items): the open items
# (``n_left``) are a sum over the project's tally (``annotate.models.ItemTally``, kept by
# triggers), and the candidate walk, closest to done first, starts at the most annotations an
# open item has (the same tally), not at the head of the full items. The annotator's own part
# of ``n_left`` (their finished items still open) is counted from the smaller side (the open
# items already started, or their own finished assignments: ``n_left_sql``); their own
# ``n_done`` still counts their answers in the project.
#
# The statements go through a server-side binding cursor, so that psycopg prepares them after
# ``prepare_threshold`` executions (config.settings: DATABASES OPTIONS).

_T = {
    "membership": Membership._meta.db_table,
    "project": Project._meta.db_table,
    "item": Item._meta.db_table,
    "assignment": Assignment._meta.db_table,
    "annotation": Annotation._meta.db_table,
    "crowdworker": "annotate_crowdworker",
}

_HOT_NEXT_LOCK = """
WITH mem AS (
    SELECT m.id, m.status, m.instructions_confirmed_at IS NOT NULL AS confirmed,
           m.qualification, p.overlap, p.reservation_seconds, p.gold_rate,
           p.instructions_required, p.task_type,
           EXISTS (SELECT 1 FROM {crowdworker} w
                   WHERE w.project_id = m.project_id AND w.user_id = m.user_id) AS crowd,
           EXISTS (SELECT 1 FROM {item} q WHERE q.project_id = m.project_id
                   AND q.is_gold AND q.is_qualification) AS has_quals,
           ({top}) AS top
    FROM {membership} m JOIN {project} p ON p.id = m.project_id
    WHERE m.project_id = %(p)s AND m.user_id = %(u)s AND m.role = 'annotator'
    FOR UPDATE OF m
), ok AS (
    SELECT mem.*,
           mem.status = 'active' AND (mem.confirmed OR NOT mem.instructions_required)
           AND mem.qualification <> 'failed'
           AND NOT (mem.qualification = 'pending' AND mem.has_quals)
           AND NOT mem.crowd AND mem.gold_rate = 0 AS plain
    FROM mem
)
SELECT ok.plain, ok.overlap, ok.reservation_seconds, ok.task_type,
       live.id, cand.id, cand.external_id, cand.payload
FROM ok
LEFT JOIN LATERAL (
    SELECT a.id FROM {assignment} a
    WHERE ok.plain AND a.project_id = %(p)s AND a.annotator_id = %(u)s
      AND a.status = 'reserved' AND a.expires_at > %(now)s
    ORDER BY a.reserved_at LIMIT 1
) live ON true
LEFT JOIN LATERAL (
    SELECT i.id, i.external_id, i.payload FROM {item} i
    WHERE ok.plain AND live.id IS NULL
      AND i.project_id = %(p)s AND NOT i.is_gold
      AND i.n_submitted <= ok.top AND i.n_submitted < ok.overlap + i.extra_overlap
      AND i.n_submitted + (
          SELECT count(*) FROM {assignment} r
          WHERE r.item_id = i.id AND r.status = 'reserved' AND r.expires_at > %(now)s
      ) < ok.overlap + i.extra_overlap
      AND NOT EXISTS (
          SELECT 1 FROM {assignment} f
          WHERE f.item_id = i.id AND f.annotator_id = %(u)s AND f.status <> 'reserved'
      )
    ORDER BY i.n_submitted DESC, i.rank
    LIMIT 1
    FOR UPDATE OF i SKIP LOCKED
) cand ON true
""".format(top=OPEN_TOP_SQL.format(project="m.project_id", overlap="p.overlap"), **_T)

_HOT_NEXT_RESERVE = """
WITH mine AS (
    SELECT a.id, a.status, a.shown_order, a.reserved_at, a.expires_at,
           i.id AS item_id, i.external_id, i.payload
    FROM {assignment} a JOIN {item} i ON i.id = a.item_id
    WHERE a.project_id = %(p)s AND a.annotator_id = %(u)s
      AND a.status = 'reserved' AND a.expires_at > %(now)s
    ORDER BY a.reserved_at LIMIT 1
), room AS (
    SELECT i.id FROM {item} i
    WHERE i.id = %(item)s AND NOT EXISTS (SELECT 1 FROM mine)
      AND i.n_submitted + (
          SELECT count(*) FROM {assignment} r
          WHERE r.item_id = i.id AND r.status = 'reserved' AND r.expires_at > %(now)s
            AND r.annotator_id <> %(u)s
      ) < %(overlap)s + i.extra_overlap
), reserved AS (
    INSERT INTO {assignment}
        (project_id, item_id, annotator_id, status, shown_order, reserved_at, expires_at)
    SELECT %(p)s, room.id, %(u)s, 'reserved', %(shown)s::jsonb, %(now)s, %(expires)s FROM room
    ON CONFLICT (item_id, annotator_id) DO UPDATE
        SET reserved_at = EXCLUDED.reserved_at, expires_at = EXCLUDED.expires_at
        WHERE {assignment}.status = 'reserved'
    RETURNING id, status, shown_order, reserved_at, expires_at
), done AS MATERIALIZED (
    SELECT count(*) AS n FROM {annotation} n WHERE n.annotator_id = %(u)s AND n.project_id = %(p)s
)
SELECT r.id, r.status, r.shown_order, r.reserved_at, r.expires_at,
       mine.id, mine.status, mine.shown_order, mine.reserved_at, mine.expires_at,
       mine.item_id, mine.external_id, mine.payload,
       done.n, {n_left}
FROM done LEFT JOIN reserved r ON true LEFT JOIN mine ON true
""".format(
    n_left=n_left_sql(project="%(p)s", overlap="%(overlap)s", annotator="%(u)s", n_done="done.n"),
    **_T,
)


@dataclass(frozen=True)
class HotNext:
    """A reservation made on the hot path, with its item and the annotator's progress."""

    assignment: Assignment  # ``item`` set: id, external_id, payload
    task_type: str
    n_done: int
    n_left: int


@contextlib.contextmanager
def _checked_connection() -> Iterator[None]:
    """Django's connection, looked after as Django's own cursors would: health-checked first where
    a check is due (a connection the server dropped is replaced before this request uses it),
    and marked for Django's end-of-request check when psycopg reports it broken. The hot path's
    statements go around Django's cursor, which does both."""
    connection.close_if_health_check_failed()
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError):
        connection.errors_occurred = True
        raise


def _hot_cursor() -> Any:
    """A psycopg cursor with server-side binding on Django's connection (prepared statements)."""
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    return psycopg.Cursor(raw)


def _json(value: Any) -> Any:
    """jsonb as Django's connection loads it: text, decoded here."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def hot_next(*, project_id: int, annotator: User, now: datetime | None = None) -> HotNext | None:
    """Reserve the next item for an ordinary annotator in the fewest statements (see above);
    ``None`` when the full path (``annotator_next``) must answer."""
    if annotator.is_staff or not annotator.is_active or connection.vendor != "postgresql":
        return None  # the SQLite demo takes the full path
    now = now or timezone.now()
    with _checked_connection(), transaction.atomic(), _hot_cursor() as cursor:
        params: dict[str, Any] = {"p": project_id, "u": annotator.pk, "now": now}
        cursor.execute(_HOT_NEXT_LOCK, params)
        row = cursor.fetchone()
        if row is None or not row[0]:
            return None
        _, overlap, reservation_seconds, task_type, live_id, item_id, external_id, payload = row
        item = None
        shown: dict[str, Any] = {}
        if live_id is None:
            if item_id is None:
                return None  # none free, or all locked now: the full path waits and words it
            payload = _json(payload)
            item = Item(id=item_id, project_id=project_id, external_id=external_id, payload=payload)
            plugin = get_task_type(task_type)
            shown = plugin.shown_order(payload, random.Random(secrets.randbits(64)))
        params.update(
            item=item_id if live_id is None else None,
            overlap=overlap,
            shown=json.dumps(shown),
            expires=now + timedelta(seconds=reservation_seconds),
        )
        cursor.execute(_HOT_NEXT_RESERVE, params)
        got = cursor.fetchone()
        assert got is not None
        new_id, status, shown_order, reserved_at, expires_at = got[:5]
        n_done, n_left = got[13:15]
        if new_id is None:
            if got[5] is None:
                return None  # the candidate was full under its lock
            # A live reservation the first statement could not see yet: hand it back.
            new_id, status, shown_order, reserved_at, expires_at = got[5:10]
            item = Item(
                id=got[10], project_id=project_id, external_id=got[11], payload=_json(got[12])
            )
    assert item is not None
    assignment = Assignment(
        id=new_id,
        project_id=project_id,
        item=item,
        annotator=annotator,
        status=status,
        shown_order=_json(shown_order),
        reserved_at=reserved_at,
        expires_at=expires_at,
    )
    return HotNext(assignment=assignment, task_type=task_type, n_done=n_done, n_left=max(n_left, 0))


_HOT_SUBMIT_READ = """
SELECT a.project_id, a.item_id, a.status = 'reserved' AND a.expires_at > %(now)s,
       a.reserved_at, p.task_type, p.config, p.overlap, {adaptive},
       i.payload, i.external_id, i.is_gold OR i.is_qualification,
       EXISTS (SELECT 1 FROM {annotation} n WHERE n.assignment_id = a.id),
       EXISTS (SELECT 1 FROM {crowdworker} w
               WHERE w.project_id = a.project_id AND w.user_id = a.annotator_id)
FROM {assignment} a
JOIN {project} p ON p.id = a.project_id
JOIN {item} i ON i.id = a.item_id
WHERE a.id = %(a)s AND a.annotator_id = %(u)s
"""

_HOT_SUBMIT_WRITE = """
WITH locked AS (  -- the item first, then the assignment: the order of every other writer
    SELECT i.id FROM {item} i WHERE i.id = %(item)s FOR UPDATE
), mine AS (
    SELECT a.id, a.project_id, a.item_id, a.shown_order FROM {assignment} a
    JOIN locked ON locked.id = a.item_id
    WHERE a.id = %(a)s AND a.annotator_id = %(u)s
      AND a.status = 'reserved' AND a.expires_at > %(now)s
    FOR UPDATE OF a
), counted AS (
    UPDATE {item} i SET n_submitted = i.n_submitted + 1
    FROM mine
    WHERE i.id = mine.item_id AND NOT i.is_gold AND NOT i.is_qualification
      AND i.n_submitted < %(overlap)s + i.extra_overlap
    RETURNING i.id
), done AS (
    UPDATE {assignment} s SET status = 'submitted', finished_at = %(now)s
    FROM counted
    WHERE s.id = %(a)s
    RETURNING s.id
)
INSERT INTO {annotation}
    (assignment_id, project_id, item_id, annotator_id, value, shown_order, time_spent_ms,
     metadata, version, created_at, updated_at)
SELECT mine.id, mine.project_id, mine.item_id, %(u)s, %(value)s::jsonb, mine.shown_order,
       %(spent)s, '{{}}'::jsonb, 1, %(stamp)s, %(stamp)s
FROM mine JOIN done ON done.id = mine.id
RETURNING id, shown_order, created_at, updated_at
""".format(**_T)


def _hot_submit_read_sql() -> str:
    # Adaptive overlap's option, where the project has it (a column added by its migration).
    fields = {f.name for f in Project._meta.get_fields()}
    adaptive = "p.adaptive_extra" if "adaptive_extra" in fields else "0"
    return _HOT_SUBMIT_READ.format(adaptive=adaptive, **_T)


def hot_submit(
    *,
    assignment_id: int,
    annotator: User,
    value: Any,
    time_spent_ms: int | None = None,
    base_version: int | None = None,
    now: datetime | None = None,
) -> tuple[Annotation, bool] | None:
    """Store a first answer on an ordinary, live reservation in the fewest statements (see
    above); ``None`` when the full path (``annotation_submit``) must answer. Raises
    ``InvalidInput`` as that does, for a bad ``time_spent_ms`` or an answer off the schema."""
    if time_spent_ms is not None and time_spent_ms < 0:
        return None  # the full path words the refusal
    if base_version not in (None, 0) or connection.vendor != "postgresql":
        return None
    now = now or timezone.now()
    params: dict[str, Any] = {"a": assignment_id, "u": annotator.pk, "now": now}
    with _checked_connection(), _hot_cursor() as cursor:
        cursor.execute(_hot_submit_read_sql(), params)
        row = cursor.fetchone()
        if row is None:
            return None
        (project_id, item_id, live, reserved_at, task_type, config, overlap, adaptive,
         payload, external_id, check_item, answered, crowd) = row  # fmt: skip
        if not live or check_item or answered or crowd:
            return None
        plugin = get_task_type(task_type)
        try:
            cleaned = plugin.validate_annotation(
                value, config=_json(config), payload=_json(payload)
            )
        except SchemaError as exc:
            raise InvalidInput(
                "the annotation does not fit the schema", detail=exc.as_list()
            ) from None
        if time_spent_ms is None:
            time_spent_ms = int((now - reserved_at).total_seconds() * 1000)
        params.update(
            item=item_id,
            overlap=overlap,
            value=json.dumps(cleaned),
            spent=min(time_spent_ms, MAX_TIME_SPENT_MS),
            stamp=timezone.now(),
        )
        # Adaptive overlap decides in the same transaction, the item row still locked.
        atomic = transaction.atomic() if adaptive else contextlib.nullcontext()
        try:
            with atomic:
                cursor.execute(_HOT_SUBMIT_WRITE, params)
                stored = cursor.fetchone()
                if stored is not None and adaptive:
                    project = Project.objects.get(pk=project_id)
                    adaptive_extend(project=project, item_id=item_id)
        except psycopg.errors.UniqueViolation:
            # Not expected (the lock on the reservation serialises submits of it); the full
            # path answers, unless the caller's transaction is now unusable.
            if connection.in_atomic_block and not adaptive:
                raise
            return None
        if stored is None:
            return None
    annotation_id, shown_order, created_at, updated_at = stored
    annotation = Annotation(
        id=annotation_id,
        assignment_id=assignment_id,
        project_id=project_id,
        item=Item(id=item_id, project_id=project_id, external_id=external_id),
        annotator=annotator,
        value=cleaned,
        shown_order=_json(shown_order),
        time_spent_ms=params["spent"],
        version=1,
        created_at=created_at,
        updated_at=updated_at,
    )
    # The analysis figures are out of date (the analysis app refreshes a big project's).
    hooks.annotations_changed(project_id=project_id)
    return annotation, True

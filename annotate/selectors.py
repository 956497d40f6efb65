"""Reads: every query the interfaces need, scoped to what the caller may see."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Now

from annotate.models import (
    Annotation,
    Assignment,
    CrowdEntry,
    CrowdWorker,
    Item,
    Membership,
    Project,
    WorkerSession,
)
from annotate.services.assignment import n_left_sql, open_items_tallied
from annotate.services.crowd import crowd_work_since, quota_used, worker_session_current
from annotate.services.gold import GoldScore, gold_score, task_type_agrees
from core.errors import Forbidden, NotFound

ITEM_STATUSES = ("open", "in_progress", "done")


def project_role(*, project: Project, user: User) -> str | None:
    """``lead``, ``annotator`` or ``None``; staff count as leads everywhere."""
    if not user.is_authenticated:
        return None
    if user.is_staff:
        return Membership.Role.LEAD
    return (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )


def projects_for_user(*, user: User) -> QuerySet[Project]:
    if user.is_staff:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user).distinct()


def projects_with_progress(*, user: User) -> QuerySet[Project]:
    """The user's projects, each with ``n_items``, ``n_items_done`` and ``n_annotations_made``
    (gold items left out, as in ``project_progress``), in one query."""
    work = Item.objects.filter(project=OuterRef("pk"), is_gold=False).order_by().values("project")

    def counted(queryset: Any, aggregate: Any) -> Any:
        return Coalesce(
            Subquery(queryset.annotate(n=aggregate).values("n"), output_field=IntegerField()),
            Value(0),
        )

    return projects_for_user(user=user).annotate(
        n_items=counted(work, Count("id")),
        n_items_done=counted(
            work.filter(n_submitted__gte=OuterRef("overlap") + F("extra_overlap")), Count("id")
        ),
        n_annotations_made=counted(work, Sum("n_submitted")),
    )


def project_get(*, project_id: int, user: User, role: str | None = None) -> Project:
    """The project if ``user`` may see it (in ``role``, when given), else NotFound or Forbidden.

    Non-members get ``NotFound`` so that project ids do not leak.
    """
    project = Project.objects.filter(pk=project_id).first()
    user_role = project_role(project=project, user=user) if project else None
    if project is None or user_role is None:
        raise NotFound("no such project")
    if role is not None and user_role != role:
        raise Forbidden(f"this needs the {role} role in the project")
    return project


@dataclass
class ProjectProgress:
    n_items: int
    n_done: int
    n_in_progress: int
    n_open: int
    n_annotations: int
    n_annotations_wanted: int
    # Items adaptive overlap gave more annotations (their first labels disagreed).
    n_extended: int = 0

    def as_dict(self) -> dict[str, int]:
        return self.__dict__.copy()


def project_progress(*, project: Project) -> ProjectProgress:
    # Gold items are checks on the annotators, not work: they are not part of the progress.
    counts = Item.objects.filter(project=project, is_gold=False).aggregate(
        n_items=Count("id"),
        n_done=Count("id", filter=Q(n_submitted__gte=project.overlap + F("extra_overlap"))),
        n_started=Count("id", filter=Q(n_submitted__gt=0)),
        n_annotations=Sum("n_submitted"),
        n_extra=Sum("extra_overlap"),
        n_extended=Count("id", filter=Q(extra_overlap__gt=0)),
    )
    n_items = counts["n_items"] or 0
    n_done = counts["n_done"] or 0
    n_in_progress = (counts["n_started"] or 0) - n_done
    return ProjectProgress(
        n_items=n_items,
        n_done=n_done,
        n_in_progress=n_in_progress,
        n_open=n_items - n_done - n_in_progress,
        n_annotations=counts["n_annotations"] or 0,
        n_annotations_wanted=n_items * project.overlap + (counts["n_extra"] or 0),
        n_extended=counts["n_extended"] or 0,
    )


@dataclass
class AnnotatorProgress:
    n_done: int
    n_left: int


def annotator_progress(*, project: Project, annotator: User) -> AnnotatorProgress:
    """Items this annotator submitted, and the work really left to them: the items still open
    to them, and for a crowd worker never more than what their quota still allows (nothing once
    their session is over)."""
    n_done = Annotation.objects.filter(project=project, annotator=annotator).count()
    if open_items_tallied():
        # The project's open items from its tally, less those this annotator finished.
        sql = n_left_sql(
            project="%(p)s", overlap="%(overlap)s", annotator="%(u)s", n_done="%(done)s"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {sql}",
                {"p": project.pk, "overlap": project.overlap, "u": annotator.pk, "done": n_done},
            )
            n_left = int(cursor.fetchone()[0])
    else:
        finished_by_me = Assignment.objects.filter(
            item=OuterRef("pk"), annotator=annotator
        ).exclude(status=Assignment.Status.RESERVED)
        n_left = (
            Item.objects.filter(
                project=project,
                n_submitted__lt=project.overlap + F("extra_overlap"),
                is_gold=False,
            )
            .filter(~Exists(finished_by_me))
            .count()
        )
    allowed = _quota_left(project=project, annotator=annotator)
    if allowed is not None:
        n_left = min(n_left, allowed)
    return AnnotatorProgress(n_done=n_done, n_left=n_left)


def _quota_left(*, project: Project, annotator: User) -> int | None:
    """What a crowd worker's quota still allows; ``None`` for anyone without a quota."""
    session = worker_session_current(project=project, annotator=annotator)
    if session is None:
        return None
    if session.status != WorkerSession.Status.STARTED:
        return 0
    entry = CrowdEntry.objects.filter(project=project).first()
    if entry is None or entry.items_per_session is None:
        return None
    return max(entry.items_per_session - quota_used(session=session, entry=entry), 0)


def annotator_history(*, project: Project, annotator: User) -> QuerySet[Annotation]:
    """Everything ``annotator`` answered in ``project``, newest first (issue 10: going back)."""
    return (
        Annotation.objects.filter(project=project, annotator=annotator)
        .select_related("item", "assignment")
        .order_by("-created_at", "-id")
    )


def items_list(*, project: Project, status: str | None = None) -> QuerySet[Item]:
    items = Item.objects.filter(project=project)
    if status == "done":
        items = items.filter(n_submitted__gte=project.overlap + F("extra_overlap"))
    elif status == "in_progress":
        items = items.filter(
            n_submitted__gt=0, n_submitted__lt=project.overlap + F("extra_overlap")
        )
    elif status == "open":
        items = items.filter(n_submitted=0)
    return items.order_by("id")


def annotations_list(*, project: Project, user: User) -> QuerySet[Annotation]:
    """Leads see every annotation of the project; annotators only their own."""
    annotations = Annotation.objects.filter(project=project).select_related("item")
    if project_role(project=project, user=user) != Membership.Role.LEAD:
        annotations = annotations.filter(annotator=user)
    return annotations.order_by("id")


def assignment_get(*, assignment_id: int, annotator: User) -> Assignment:
    assignment = (
        Assignment.objects.select_related("item", "project")
        .filter(pk=assignment_id, annotator=annotator)
        .first()
    )
    if assignment is None:
        raise NotFound("no such assignment for you")
    return assignment


def keyset_chunks(queryset: QuerySet[Any], *, chunk_size: int = 2000) -> Iterator[list[Any]]:
    """Walk a queryset in primary-key order, one chunk in memory at a time."""
    last_pk = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last_pk).order_by("pk")[:chunk_size])
        if not chunk:
            return
        yield chunk
        last_pk = chunk[-1].pk


# --- quality control and crowd operations (lead views)


def annotations_for_aggregates(
    *, project: Project, include_flagged: bool = False
) -> QuerySet[Annotation]:
    """The annotations that count in a project's aggregates: flagged annotators' left out."""
    annotations = Annotation.objects.filter(project=project)
    if not include_flagged:
        annotations = annotations.exclude(annotator_id__in=flagged_annotators(project=project))
    return annotations


def flagged_annotators(*, project: Project) -> Any:
    """The flagged annotators' user ids, as a subquery (part of the caller's one query)."""
    return Membership.objects.filter(project=project, flagged=True).values("user_id")


class _Median(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass
class AnnotatorQuality:
    membership: Membership
    worker_id: str | None
    n_done: int
    gold: GoldScore
    median_seconds: float | None
    # Filled in by the analysis app when it computes agreement; shown as "—" until then.
    agreement_with_consensus: float | None = None


def _median_ms_by_annotator(project: Project) -> dict[int, float | None]:
    annotations = Annotation.objects.filter(project=project, time_spent_ms__isnull=False)
    if connection.vendor == "postgresql":
        rows = annotations.order_by().values("annotator_id").annotate(m=_Median("time_spent_ms"))
        return {row["annotator_id"]: row["m"] for row in rows}
    values: dict[int, list[int]] = {}
    for annotator_id, spent in annotations.values_list("annotator_id", "time_spent_ms"):
        if spent is not None:
            values.setdefault(annotator_id, []).append(spent)
    return {annotator_id: float(median(spent)) for annotator_id, spent in values.items()}


def annotator_quality(*, project: Project) -> list[AnnotatorQuality]:
    """Per annotator of the project: items done, gold accuracy, median seconds per item."""
    memberships = list(
        Membership.objects.filter(project=project, role=Membership.Role.ANNOTATOR)
        .select_related("user", "user__crowd_worker")
        .order_by("user__username")
    )
    done = dict(
        Annotation.objects.filter(project=project)
        .order_by()
        .values("annotator_id")
        .annotate(n=Count("id"))
        .values_list("annotator_id", "n")
    )
    medians = _median_ms_by_annotator(project)
    gold_pairs: dict[int, list[tuple[Any, Any]]] = {}
    for annotator_id, value, gold_value in Annotation.objects.filter(
        project=project, item__is_gold=True, item__is_qualification=False
    ).values_list("annotator_id", "value", "item__gold_value"):
        gold_pairs.setdefault(annotator_id, []).append((value, gold_value))
    agrees = task_type_agrees(project)
    rows = []
    for membership in memberships:
        worker = getattr(membership.user, "crowd_worker", None)
        median_ms = medians.get(membership.user_id)
        rows.append(
            AnnotatorQuality(
                membership=membership,
                worker_id=worker.worker_id if worker and worker.project_id == project.pk else None,
                n_done=done.get(membership.user_id, 0),
                gold=gold_score(gold_pairs.get(membership.user_id, []), agrees=agrees),
                median_seconds=median_ms / 1000 if median_ms is not None else None,
            )
        )
    return rows


def gold_items(*, project: Project) -> QuerySet[Item]:
    return Item.objects.filter(project=project, is_gold=True).order_by("-is_qualification", "id")


# --- crowd sessions


def sessions_with_counts(*, project: Project) -> QuerySet[WorkerSession]:
    """The project's worker sessions with ``items_done`` each, in one query."""
    done = (
        crowd_work_since(
            project_id=OuterRef("worker__project_id"),
            annotator_id=OuterRef("worker__user_id"),
            started_at=OuterRef("started_at"),
        )
        .filter(
            created_at__lte=Coalesce(OuterRef("completed_at"), Now(), output_field=DateTimeField())
        )
        .order_by()
        .values("annotator_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        WorkerSession.objects.filter(worker__project=project)
        .select_related("worker")
        .annotate(items_done=Coalesce(Subquery(done, output_field=IntegerField()), Value(0)))
        .order_by("started_at", "pk")
    )


def is_crowd_worker(*, user: User) -> bool:
    """Whether ``user`` is a crowd worker's passwordless account (in any project)."""
    return CrowdWorker.objects.filter(user_id=user.pk).exists()


PAYMENT_COLUMNS = (
    "worker_id",
    "study_id",
    "session_id",
    "status",
    "paused",
    "code_shown",
    "items_done",
    "started_at",
    "completed_at",
)


def sessions_for_payment(*, project: Project) -> Iterator[dict[str, Any]]:
    """One row per worker session, for paying workers: ids, status, code shown, items done."""
    entry = CrowdEntry.objects.filter(project=project).first()
    codes: dict[str, str] = {
        WorkerSession.Status.COMPLETED: entry.completion_code if entry else "",
        WorkerSession.Status.SCREENED_OUT: entry.screenout_code if entry else "",
        WorkerSession.Status.NO_WORK: entry.no_work_code if entry else "",
    }
    paused = set(
        Membership.objects.filter(project=project, status=Membership.Status.PAUSED).values_list(
            "user_id", flat=True
        )
    )
    for session in sessions_with_counts(project=project).iterator(chunk_size=500):
        yield {
            "worker_id": session.worker.worker_id,
            "study_id": session.study_id,
            "session_id": session.session_id,
            "status": session.status,
            "paused": session.worker.user_id in paused,
            "code_shown": codes.get(session.status, ""),
            "items_done": session.items_done,  # type: ignore[attr-defined]
            "started_at": session.started_at.isoformat(),
            "completed_at": session.completed_at.isoformat() if session.completed_at else "",
        }


# --- export (annotate.exporting): rows built by PostgreSQL

ANNOTATION_EXPORT_COLUMNS = (
    "annotation_id",
    "external_id",
    "item_id",
    "annotator",
    "value",
    "shown_order",
    "time_spent_ms",
    "version",
    "created_at",
    "updated_at",
)
"""The ``annotations`` shape's columns, in order."""


def annotator_users(*, project: Project, include_flagged: bool = False) -> list[tuple[int, str]]:
    """(user id, username) of everyone with an annotation in ``project`` (flagged annotators
    left out unless ``include_flagged``), by user id."""
    users = User.objects.filter(
        Exists(Annotation.objects.filter(project=project, annotator=OuterRef("pk")))
    )
    if not include_flagged:
        users = users.exclude(pk__in=flagged_annotators(project=project))
    return list(users.order_by("pk").values_list("pk", "username"))


def _utc_iso(column: str) -> str:
    """SQL for a timestamptz as Python's ``datetime.isoformat()`` writes it in UTC: no
    fraction when the microseconds are 0, six digits otherwise."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', {column})"
        f" = {column} THEN '' ELSE to_char({utc}, '.US') END || '+00:00'"
    )


# ``core.spreadsheet.csv_safe`` in SQL (the number pattern in ASCII digits), then quoted as the
# csv module quotes a cell (QUOTE_MINIMAL: a comma, a quote, CR or LF).
_CSV_SAFE = (
    "CASE WHEN left({x}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') AND {x} !~ "
    "'^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$' THEN '''' || {x} ELSE {x} END"
)
_CSV_QUOTED = (
    "CASE WHEN {x} ~ '[,\"\\r\\n]' THEN '\"' || replace({x}, '\"', '\"\"') || '\"' ELSE {x} END"
)

_ANNOTATION_EXPORT_FROM = """
    FROM annotate_annotation a
    JOIN unnest(%(user_ids)s::bigint[], %(names)s::text[]) AS n(user_id, name)
      ON n.user_id = a.annotator_id
    JOIN annotate_item i ON i.id = a.item_id
    WHERE a.project_id = %(project_id)s
"""


def annotation_export_lines(
    *, project_id: int, user_ids: list[int], names: list[str], fmt: str
) -> Iterator[Any]:
    """The annotations of a project by the users ``user_ids`` (named ``names``), in id order,
    streamed by ``COPY ... TO STDOUT``: for ``jsonl`` each row's JSON line (bytes, as
    ``json.JSONEncoder(ensure_ascii=False)`` writes the row dict); for ``csv`` each row as
    (cells before ``value``, ``value`` and ``shown_order`` as ``jsonb::text``, cells after)."""
    if fmt == "jsonl":
        line = (
            "'{\"annotation_id\": ' || a.id || ', \"external_id\": ' || to_json(i.external_id)"
            " || ', \"item_id\": ' || a.item_id || ', \"annotator\": ' || to_json(n.name)"
            " || ', \"value\": ' || a.value::text || ', \"shown_order\": ' || a.shown_order::text"
            " || ', \"time_spent_ms\": ' || coalesce(a.time_spent_ms::text, 'null')"
            " || ', \"version\": ' || a.version"
            f' || \', "created_at": "\' || {_utc_iso("a.created_at")}'
            f' || \'", "updated_at": "\' || {_utc_iso("a.updated_at")} || \'"}}\''
        )
        # CSV with a quote and a delimiter that JSON text never holds raw (it escapes every
        # control character): each line comes out exactly as built, one COPY row each.
        options = "FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01'"
        columns = line
    else:
        external_id = _CSV_QUOTED.format(x=f"({_CSV_SAFE.format(x='i.external_id')})")
        name = _CSV_QUOTED.format(x=f"({_CSV_SAFE.format(x='n.name')})")
        columns = (
            f"a.id || ',' || {external_id} || ',' || a.item_id || ',' || {name},"
            " a.value::text, a.shown_order::text,"
            " coalesce(a.time_spent_ms::text, '') || ',' || a.version || ','"
            f" || {_utc_iso('a.created_at')} || ',' || {_utc_iso('a.updated_at')}"
        )
        options = "FORMAT text"
    query = f"COPY (SELECT {columns} {_ANNOTATION_EXPORT_FROM} ORDER BY a.id) TO STDOUT ({options})"
    params = {"project_id": project_id, "user_ids": user_ids, "names": names}
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(query, params) as copy:
            if fmt == "jsonl":
                for data in copy:
                    yield bytes(data)
            else:
                yield from copy.rows()


def annotation_export_batches(
    *, project_id: int, user_ids: list[int], names: list[str], batch_rows: int
) -> Iterator[dict[str, list[Any]]]:
    """The same annotations as ``annotation_export_lines``, ``batch_rows`` at a time, as columns
    (``value`` and ``shown_order`` as ``jsonb::text``, the times as ISO text)."""
    columns = ANNOTATION_EXPORT_COLUMNS
    query = (
        "SELECT a.id, i.external_id, a.item_id, n.name, a.value::text, a.shown_order::text,"
        f" a.time_spent_ms, a.version, {_utc_iso('a.created_at')}, {_utc_iso('a.updated_at')}"
        f" {_ANNOTATION_EXPORT_FROM} AND a.id > %(after)s ORDER BY a.id LIMIT %(limit)s"
    )
    params: dict[str, Any] = {"project_id": project_id, "user_ids": user_ids, "names": names}
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(query, {**params, "after": after, "limit": batch_rows})
            rows = cursor.fetchall()
        if not rows:
            return
        by_column = zip(*rows, strict=True)
        yield {name: list(values) for name, values in zip(columns, by_column, strict=True)}
        after = rows[-1][0]


def item_export_chunks(
    *,
    project_id: int,
    user_ids: list[int],
    names: list[str],
    chunk_size: int,
    fields: Sequence[str] | None = None,
) -> Iterator[list[tuple[Any, ...]]]:
    """A project's items in id order, ``chunk_size`` at a time, each with its labels by the
    users ``user_ids`` (named ``names``) gathered by PostgreSQL: ``[(id, external_id, payload,
    is_gold, gold_value, [annotator name], [value])]``, the JSON as text, the labels in
    annotation id order (empty lists for an item without labels). One query per chunk.

    With ``fields``, each row has, in place of ``external_id, payload``, the external id as a
    JSON string and the JSON text of each of the payload's ``fields`` (``None`` where absent):
    ``(id, external_id JSON, *field texts, is_gold, gold_value, [name], [value])``."""
    if fields is None:
        item_columns = "i.external_id, i.payload::text"
    else:
        item_columns = ", ".join(
            ["to_json(i.external_id)::text"]
            + [f"(i.payload -> %(field{n})s::text)::text" for n in range(len(fields))]
        )
    query = (
        f"SELECT i.id, {item_columns}, i.is_gold, i.gold_value::text,"
        " coalesce(l.names, '{}'), coalesce(l.values, '{}')"
        " FROM annotate_item i LEFT JOIN LATERAL ("
        "  SELECT array_agg(n.name ORDER BY a.id) AS names,"
        "   array_agg(a.value::text ORDER BY a.id) AS values"
        "  FROM annotate_annotation a"
        "  JOIN unnest(%(user_ids)s::bigint[], %(names)s::text[]) AS n(user_id, name)"
        "   ON n.user_id = a.annotator_id"
        "  WHERE a.item_id = i.id AND a.project_id = %(project_id)s"
        " ) l ON true"
        " WHERE i.project_id = %(project_id)s AND i.id > %(after)s ORDER BY i.id LIMIT %(limit)s"
    )
    params: dict[str, Any] = {"project_id": project_id, "user_ids": user_ids, "names": names}
    params.update({f"field{n}": name for n, name in enumerate(fields or ())})
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(query, {**params, "after": after, "limit": chunk_size})
            items = cursor.fetchall()
        if not items:
            return
        yield items
        after = items[-1][0]


# --- export on other databases (SQLite in the demo): the same reads through the ORM


def export_in_sql() -> bool:
    """Whether the database builds the export's rows (PostgreSQL: ``COPY``, ``unnest``,
    ``to_char``); elsewhere (SQLite) ``annotate.exporting`` builds the same bytes in Python."""
    return connection.vendor == "postgresql"


ANNOTATION_EXPORT_FIELDS = (
    "pk",
    "item__external_id",
    "item_id",
    "annotator_id",
    "value",
    "shown_order",
    "time_spent_ms",
    "version",
    "created_at",
    "updated_at",
)


def annotation_export_values(
    *, project_id: int, user_ids: list[int], chunk_size: int
) -> Iterator[list[tuple[Any, ...]]]:
    """The annotations of a project by the users ``user_ids``, in id order, ``chunk_size`` at a
    time, as ``ANNOTATION_EXPORT_FIELDS`` tuples (JSON decoded, times as datetimes)."""
    annotations = Annotation.objects.filter(project_id=project_id, annotator_id__in=user_ids)
    after = 0
    while True:
        rows = list(
            annotations.filter(pk__gt=after)
            .order_by("pk")
            .values_list(*ANNOTATION_EXPORT_FIELDS)[:chunk_size]
        )
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def item_export_values(
    *, project_id: int, user_ids: list[int], chunk_size: int
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[int, int, Any]]]]:
    """``item_export_chunks`` through the ORM: ``([(id, external_id, payload, is_gold,
    gold_value)], [(item_id, annotator_id, value)])`` with the JSON decoded."""
    items_of = Item.objects.filter(project_id=project_id).order_by("pk")
    after = 0
    while True:
        items = list(
            items_of.filter(pk__gt=after).values_list(
                "pk", "external_id", "payload", "is_gold", "gold_value"
            )[:chunk_size]
        )
        if not items:
            return
        labels = list(
            Annotation.objects.filter(
                project_id=project_id,
                annotator_id__in=user_ids,
                item_id__in=[row[0] for row in items],
            )
            .order_by("item_id", "pk")
            .values_list("item_id", "annotator_id", "value")
        )
        yield items, labels
        after = items[-1][0]

"""Importing existing labels (published datasets, labels collected elsewhere) into a project.

A row is ``{external_id, annotator, value, created_at?, time_spent_ms?, metadata?, cohort?}``:
``value`` is checked with the task type's annotation schema against the item's payload, as a
submit is. Each distinct ``annotator`` becomes an *external annotator* of the project: a member
(``Membership.external``, name kept in ``external_name``, optional ``cohort`` such as ``crowd``
or ``expert``) whose account cannot log in (unusable password) and is never served work, since
nobody can sign in as it. Its labels count like any other: towards the item's overlap
(``Item.n_submitted``) and in every analysis and export. They have no on-screen order
(``shown_order`` is empty), so position-bias figures leave them out.

All or nothing, like the items import (``annotate.services.importing``, whose line-error log this
reuses): a bad row, an unknown item, a repeated (item, annotator) in one file fail the import with
every bad line listed. Re-importing an (item, annotator) updates its label in place and keeps the
earlier version in ``AnnotationVersion`` (version + 1), as a resubmit does.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotate import hooks
from annotate.models import Annotation, AnnotationVersion, Assignment, Item, Membership, Project
from annotate.services.adaptive import adaptive_extend_items
from annotate.services.importing import LineErrors
from annotate.tasktypes import get_task_type
from core.errors import FieldError, ImportFailed, SchemaError
from core.records import ParseProblem, as_buffered, parse_records

User = get_user_model()

LABEL_KEYS = frozenset(
    {"external_id", "annotator", "value", "created_at", "time_spent_ms", "metadata", "cohort"}
)
CHUNK = 1000
# PostgreSQL's integer column (time_spent_ms) and the dates psycopg reads back (years 1 to 9999
# in UTC): a value outside them would fail the insert, or worse, store a row no read can load.
MAX_TIME_SPENT_MS = 2**31 - 1
EARLIEST_CREATED_AT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_CREATED_AT = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass
class LabelsImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    annotators_created: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Row:
    line: int
    external_id: str
    annotator: str
    value: Any
    created_at: datetime | None
    time_spent_ms: int | None
    metadata: dict[str, Any]
    cohort: str


def labels_import(
    *, project: Project, stream: IO[bytes], fmt: str | None = None
) -> LabelsImportResult:
    """Import labels into ``project`` from a JSON Lines / JSON array / CSV byte stream (CSV:
    ``value`` and ``metadata`` hold JSON); all or nothing (``ImportFailed`` lists every bad
    line)."""
    records = parse_records(
        as_buffered(stream), fmt=fmt, json_columns=frozenset({"value", "metadata"})
    )
    return labels_store(project=project, rows=records)


def labels_store(*, project: Project, rows: Iterable[tuple[int, Any]]) -> LabelsImportResult:
    """Store label rows ``(line, row)`` in ``project``, in one transaction (joining the caller's:
    the items import stores an adapter's labels through this). ``ImportFailed`` writes nothing."""
    plugin = get_task_type(project.task_type)
    log = LineErrors()
    result = LabelsImportResult()
    parsed: list[_Row] = []
    seen: dict[tuple[str, str], int] = {}
    for line, record in rows:
        result.total += 1
        if isinstance(record, ParseProblem):
            log.add(line, [FieldError("(line)", record.message)])
            continue
        if isinstance(record, SchemaError):
            log.add(line, record.errors)
            continue
        try:
            row = _parse_row(line, record)
        except SchemaError as exc:
            log.add(line, exc.errors)
            continue
        key = (row.external_id, row.annotator)
        first = seen.get(key)
        if first is None:
            seen[key] = line
        else:
            log.add(
                line,
                [
                    FieldError(
                        "annotator",
                        f"{row.annotator!r} already labels {row.external_id!r} on line {first}",
                    )
                ],
            )
            continue
        parsed.append(row)

    items = _items_by_external_id(project, {row.external_id for row in parsed})
    cleaned: list[tuple[_Row, Item, dict[str, Any]]] = []
    for row in parsed:
        item = items.get(row.external_id)
        if item is None:
            log.add(
                row.line,
                [FieldError("external_id", f"no item {row.external_id!r} in this project")],
            )
            continue
        try:
            value = plugin.validate_annotation(
                row.value, config=project.config, payload=item.payload
            )
        except SchemaError as exc:
            log.add(row.line, exc.errors)
            continue
        cleaned.append((row, item, value))
    if log.n_bad:
        raise log.failure(result.total)
    if not cleaned:
        raise ImportFailed("nothing was imported: the file holds no labels", detail=[])
    with transaction.atomic():
        annotators = _external_annotators(project, cleaned, result)
        _write(project, cleaned, annotators, result)
        # Adaptive overlap's rule, as after a submit: the items whose first labels now disagree
        # want more annotations.
        adaptive_extend_items(project=project, item_ids={item.pk for _row, item, _v in cleaned})
        transaction.on_commit(lambda: hooks.annotations_changed(project_id=project.pk))
    return result


def _parse_row(line: int, record: Any) -> _Row:
    if not isinstance(record, dict):
        raise SchemaError([FieldError("(row)", "must be a JSON object")])
    errors = [
        FieldError(key, "not a field of a label row") for key in record if key not in LABEL_KEYS
    ]
    external_id = record.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        errors.append(FieldError("external_id", "required: a non-empty string"))
    annotator = record.get("annotator")
    if isinstance(annotator, int) and not isinstance(annotator, bool):
        annotator = str(annotator)
    if not isinstance(annotator, str) or not annotator.strip():
        errors.append(FieldError("annotator", "required: a non-empty string"))
    elif len(annotator.strip()) > 255:
        errors.append(FieldError("annotator", "longer than 255 characters"))
    if record.get("value") is None:
        errors.append(FieldError("value", "required"))
    created_at = None
    raw_created = record.get("created_at")
    if raw_created not in (None, ""):
        try:
            created_at = datetime.fromisoformat(str(raw_created))
        except ValueError:
            errors.append(FieldError("created_at", "must be an ISO 8601 date and time"))
        else:
            if timezone.is_naive(created_at):
                created_at = timezone.make_aware(created_at, UTC)
            try:
                in_range = EARLIEST_CREATED_AT <= created_at < LATEST_CREATED_AT
            except OverflowError:  # the offset moves a date of year 1 or 9999 out of range
                in_range = False
            if not in_range:
                errors.append(
                    FieldError("created_at", "must be a date between the years 1900 and 9000")
                )
                created_at = None
    time_spent_ms = record.get("time_spent_ms")
    if time_spent_ms in ("", None):
        time_spent_ms = None
    elif isinstance(time_spent_ms, str) and time_spent_ms.strip().isdigit():
        time_spent_ms = int(time_spent_ms)
    if time_spent_ms is not None and (
        not isinstance(time_spent_ms, int)
        or isinstance(time_spent_ms, bool)
        or not 0 <= time_spent_ms <= MAX_TIME_SPENT_MS
    ):
        errors.append(
            FieldError("time_spent_ms", f"must be a whole number from 0 to {MAX_TIME_SPENT_MS}")
        )
    metadata = record.get("metadata")
    if metadata in (None, ""):
        metadata = {}
    if not isinstance(metadata, dict):
        errors.append(FieldError("metadata", "must be a JSON object"))
    cohort = record.get("cohort")
    if isinstance(cohort, dict | list | bool):
        errors.append(FieldError("cohort", "must be a text such as crowd or expert"))
        cohort = None
    cohort = "" if cohort is None else str(cohort).strip()
    if len(cohort) > 50:
        errors.append(FieldError("cohort", "longer than 50 characters"))
    if errors:
        raise SchemaError(errors)
    return _Row(
        line=line,
        external_id=str(external_id).strip(),
        annotator=str(annotator).strip(),
        value=record["value"],
        created_at=created_at,
        time_spent_ms=time_spent_ms,
        metadata=metadata,
        cohort=cohort,
    )


def _items_by_external_id(project: Project, external_ids: set[str]) -> dict[str, Item]:
    ids = sorted(external_ids)
    items: dict[str, Item] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for item in Item.objects.filter(project=project, external_id__in=chunk).only(
            "pk", "external_id", "payload"
        ):
            items[item.external_id] = item
    return items


def _username(project: Project, name: str, taken: set[str]) -> str:
    username = f"ext-{project.pk}-{name}"
    if len(username) > 150 or username in taken:
        digest = hashlib.sha256(f"{project.pk}\0{name}".encode()).hexdigest()[:24]
        username = f"ext-{project.pk}-{digest}"
    return username


def _external_annotators(
    project: Project,
    cleaned: list[tuple[_Row, Item, dict[str, Any]]],
    result: LabelsImportResult,
) -> dict[str, int]:
    """The user id of each annotator name, creating the external annotators not yet members
    (their cohort is set, or updated, from the rows that give one)."""
    cohorts: dict[str, str] = {}
    for row, _item, _value in cleaned:
        if row.cohort or row.annotator not in cohorts:
            cohorts[row.annotator] = row.cohort or cohorts.get(row.annotator, "")
    names = list(cohorts)
    existing: dict[str, Membership] = {}
    for start in range(0, len(names), CHUNK):
        for membership in Membership.objects.select_for_update().filter(
            project=project, external=True, external_name__in=names[start : start + CHUNK]
        ):
            existing[membership.external_name] = membership
    changed = []
    for name, membership in existing.items():
        if cohorts[name] and membership.cohort != cohorts[name]:
            membership.cohort = cohorts[name]
            changed.append(membership)
    Membership.objects.bulk_update(changed, ["cohort"])
    new = [name for name in cohorts if name not in existing]
    wanted = [f"ext-{project.pk}-{name}" for name in new]
    taken: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        taken.update(User.objects.filter(username__in=chunk).values_list("username", flat=True))
    users = []
    for name in new:
        user = User(username=_username(project, name, taken))
        user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=CHUNK)
    Membership.objects.bulk_create(
        [
            Membership(
                project=project,
                user=user,
                role=Membership.Role.ANNOTATOR,
                external=True,
                external_name=name,
                cohort=cohorts[name],
            )
            for name, user in zip(new, users, strict=True)
        ],
        batch_size=CHUNK,
    )
    result.annotators_created = len(new)
    ids = {name: m.user_id for name, m in existing.items()}
    ids.update({name: user.pk for name, user in zip(new, users, strict=True)})
    return ids


def _write(
    project: Project,
    cleaned: list[tuple[_Row, Item, dict[str, Any]]],
    annotators: dict[str, int],
    result: LabelsImportResult,
) -> None:
    now = timezone.now()
    pairs = {(item.pk, annotators[row.annotator]) for row, item, _value in cleaned}
    item_ids = sorted({item_id for item_id, _user_id in pairs})
    user_ids = sorted({user_id for _item_id, user_id in pairs})
    existing: dict[tuple[int, int], Annotation] = {}
    for start in range(0, len(item_ids), CHUNK):
        chunk = Annotation.objects.select_for_update().filter(
            item_id__in=item_ids[start : start + CHUNK]
        )
        if len(user_ids) <= CHUNK:
            chunk = chunk.filter(annotator_id__in=user_ids)
        for annotation in chunk:
            key = (annotation.item_id, annotation.annotator_id)
            if key in pairs:
                existing[key] = annotation
    versions: list[AnnotationVersion] = []
    updated: list[Annotation] = []
    fresh: list[tuple[Any, Item, dict[str, Any], int]] = []
    for row, item, value in cleaned:
        user_id = annotators[row.annotator]
        found = existing.get((item.pk, user_id))
        if found is None:
            fresh.append((row, item, value, user_id))
            continue
        annotation = found
        if (annotation.value, annotation.time_spent_ms, annotation.metadata) == (
            value,
            row.time_spent_ms,
            row.metadata,
        ):
            result.unchanged += 1
            continue
        versions.append(annotation.superseded())
        annotation.value = value
        annotation.version += 1
        annotation.time_spent_ms = row.time_spent_ms
        annotation.metadata = row.metadata
        annotation.updated_at = now
        updated.append(annotation)
    AnnotationVersion.objects.bulk_create(versions, batch_size=CHUNK)
    Annotation.objects.bulk_update(
        updated, ["value", "version", "time_spent_ms", "metadata", "updated_at"], batch_size=CHUNK
    )
    result.updated = len(updated)

    assignments = [
        Assignment(
            project=project,
            item=item,
            annotator_id=user_id,
            status=Assignment.Status.SUBMITTED,
            shown_order={},
            reserved_at=row.created_at or now,
            expires_at=row.created_at or now,
            finished_at=row.created_at or now,
        )
        for row, item, _value, user_id in fresh
    ]
    Assignment.objects.bulk_create(assignments, batch_size=CHUNK)
    annotations = [
        Annotation(
            assignment=assignment,
            project=project,
            item=item,
            annotator_id=user_id,
            value=value,
            shown_order={},
            time_spent_ms=row.time_spent_ms,
            metadata=row.metadata,
        )
        for (row, item, value, user_id), assignment in zip(fresh, assignments, strict=True)
    ]
    Annotation.objects.bulk_create(annotations, batch_size=CHUNK)
    # ``created_at`` is set on insert (auto_now_add); the published time is written after it.
    dated = []
    for (row, _item, _value, _user_id), annotation in zip(fresh, annotations, strict=True):
        if row.created_at is not None:
            annotation.created_at = row.created_at
            dated.append(annotation)
    Annotation.objects.bulk_update(dated, ["created_at"], batch_size=CHUNK)
    result.created = len(annotations)
    # Imported labels count towards overlap: one query per distinct number of new labels.
    per_item = Counter(item.pk for _row, item, _value, _user_id in fresh)
    by_count: dict[int, list[int]] = defaultdict(list)
    for item_id, n in per_item.items():
        by_count[n].append(item_id)
    for n, item_ids in by_count.items():
        for start in range(0, len(item_ids), CHUNK):
            Item.objects.filter(pk__in=item_ids[start : start + CHUNK]).update(
                n_submitted=F("n_submitted") + n
            )

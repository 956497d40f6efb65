"""Item import: JSON array, JSON Lines or CSV; all or nothing; streamed.

One pass over the file, inside one transaction: every record is validated, valid batches are
upserted by ``external_id`` as they fill, and if any record was bad the transaction is rolled back
and ``ImportFailed`` lists every bad line with its field errors. Memory holds one batch and the set
of ``external_id`` values seen (to report repeats), whatever the file's size.

One concept in one module (a little over 400 lines): validation, the line-error log and the
PostgreSQL COPY upsert share the batch they work on. Reading the file is ``core.records``.
"""

from __future__ import annotations

import concurrent.futures
import functools
import random
import struct
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from pydantic_core import to_json

from annotate.models import Item, Project
from annotate.tasktypes import TaskType, get_task_type
from annotate.tasktypes.base import AdaptedItem
from core.errors import FieldError, ImportFailed, InvalidInput, SchemaError
from core.records import ParseProblem, as_buffered, parse_records

RESERVED_KEYS = ("external_id", "gold")


@dataclass
class ImportResult:
    total: int
    created: int
    updated: int
    # The counts of the labels an adapter brought with the items (``AdaptedItem``), if any.
    labels: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, Any] = {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
        }
        if self.labels is not None:
            counts["labels"] = self.labels
        return counts


class LineErrors:
    """The bad lines of an import: each ``{"line": n, "errors": [{"field", "message"}]}``, the
    first ``DISSENSUS_IMPORT_MAX_ERRORS`` of them kept; shared by the items and labels imports."""

    def __init__(self) -> None:
        self.max_errors = settings.DISSENSUS_IMPORT_MAX_ERRORS
        self.errors: list[dict[str, Any]] = []
        self.n_bad = 0

    def add(self, line: int, field_errors: list[Any]) -> None:
        """Record a bad line; ``field_errors`` are ``FieldError``s or their dicts."""
        self.n_bad += 1
        if len(self.errors) < self.max_errors:
            plain = [e.as_dict() if isinstance(e, FieldError) else e for e in field_errors]
            self.errors.append({"line": line, "errors": plain})

    def failure(self, total: int) -> ImportFailed:
        """The ``ImportFailed`` listing the bad lines of ``total`` records."""
        shown = (
            "" if self.n_bad <= len(self.errors) else f" (the first {len(self.errors)} are listed)"
        )
        return ImportFailed(
            f"nothing was imported: {self.n_bad} of {total} records are invalid{shown}",
            detail=sorted(self.errors, key=lambda entry: entry["line"]),
        )


def _validate_record(
    record: Any, *, plugin: TaskType, project: Project
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    if not isinstance(record, dict):
        raise SchemaError([FieldError("(row)", "must be a JSON object")])
    data = dict(record)
    external_id = data.pop("external_id", None)
    gold = data.pop("gold", None)
    errors: list[FieldError] = []
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        errors.append(FieldError("external_id", "required: a non-empty string"))
    elif len(external_id) > 255:
        errors.append(FieldError("external_id", "longer than 255 characters"))
    payload: dict[str, Any] = {}
    try:
        payload = plugin.validate_item(data)
    except SchemaError as exc:
        errors.extend(exc.errors)
    gold_value = None
    if gold is not None:
        try:
            gold_value = plugin.validate_annotation(gold, config=project.config, payload=payload)
        except SchemaError as exc:
            errors.extend(
                FieldError("gold." + e.field.removeprefix("value."), e.message) for e in exc.errors
            )
    if errors:
        raise SchemaError(errors)
    return str(external_id).strip(), payload, gold_value


_STAGE = "annotate_item_import_stage"
_SAVEPOINT = "annotate_item_import_batch"
# The columns every batch is COPYed in (``extra_overlap`` takes its database default).
_COLUMNS = (
    "project_id, external_id, payload, is_gold, gold_value, is_qualification, n_submitted,"
    " rank, created_at, updated_at"
)
# PostgreSQL's binary COPY format: signature, flags, header extension length; the trailer.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_BINARY_TRAILER = struct.pack("!h", -1)
_FALSE = struct.pack("!iB", 1, 0)
_TRUE = struct.pack("!iB", 1, 1)
_NULL = struct.pack("!i", -1)
_JSONB_VERSION = 1
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_RANKS = 2**31 - 1  # ranks are 0 .. 2**31 - 2, as the model's default and ``random()`` gave


def _timestamptz(value: datetime) -> bytes:
    """``value`` as a binary COPY ``timestamptz`` field: microseconds since 2000-01-01 UTC (a
    naive ``value``, as ``USE_TZ = False`` gives, is in the current time zone, as Django's
    connection reads it)."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    micros = (value - _PG_EPOCH) // timedelta(microseconds=1)
    return struct.pack("!iq", 8, micros)


def _copy_rows(
    batch: list[tuple[str, Any, Any]], *, project_id: int, now: datetime, rank: Callable[[], int]
) -> bytes:
    """``batch`` as the rows of a binary ``COPY ... (_COLUMNS) FROM STDIN (FORMAT BINARY)``.

    Binary COPY spares PostgreSQL the text format's parsing and un-escaping of every payload (a
    quarter of its CPU per item for 3 KB payloads), and this side the escaping. A ``jsonb`` field
    is a version byte and the JSON text, which PostgreSQL parses as it would parse the text form.
    pydantic-core's encoder (Rust) writes the JSON ``json.dumps`` would (less the spaces) several
    times faster."""
    pack = struct.pack
    start = pack("!hiq", 10, 8, project_id)
    stamps = _timestamptz(now) * 2
    fixed = _FALSE + pack("!ii", 4, 0)  # is_qualification, n_submitted
    parts = [_BINARY_HEADER]
    for external_id, payload, gold_value in batch:
        key = external_id.encode()
        value = to_json(payload)
        if gold_value is None:
            gold = _FALSE + _NULL
        else:
            answer = to_json(gold_value)
            gold = _TRUE + pack("!iB", len(answer) + 1, _JSONB_VERSION) + answer
        parts += (
            start,
            pack("!i", len(key)),
            key,
            pack("!iB", len(value) + 1, _JSONB_VERSION),
            value,
            gold,
            fixed,
            pack("!ii", 4, rank()),
            stamps,
        )
    parts.append(_BINARY_TRAILER)
    return b"".join(parts)


class _PostgresWriter:
    """Writes batches on PostgreSQL with a binary COPY, straight into ``annotate_item`` while
    none of its rows exist yet, else into a temporary staging table and then one
    ``INSERT ... SELECT ... ON CONFLICT`` (the upsert).

    Much faster than ``bulk_create(update_conflicts=True)``: payloads are serialised once here
    and streamed, not adapted one parameter at a time. New rows get the model's defaults (a
    random ``rank``, ``n_submitted`` 0, not a qualification item); existing rows keep theirs and
    get the new payload and gold answer, as with the ORM path.

    The direct COPY is taken while the project had no items when the import began: no row of
    the file can exist then, unless another transaction adds the same ``external_id`` meanwhile.
    Each direct batch runs under a savepoint, so that a unique violation (such a concurrent
    writer) rolls back that batch alone, which is written again by the upsert, as are all the
    following ones: the result is the upsert's either way. The direct COPY saves PostgreSQL the
    staging table's write and read (a sixth of its CPU per item).

    Each batch is written by one worker thread on this transaction's connection while the caller
    goes on parsing and validating the next one (psycopg serialises use of a connection); the
    caller touches the database only after ``wait()``.
    """

    def __init__(self, project: Project):
        connection.ensure_connection()
        self.raw = connection.connection
        self.project_id = project.pk
        self.table = Item._meta.db_table
        self.direct = not Item.objects.filter(project=project).exists()
        self.staged = False
        self.rank = random.Random().randrange
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="items-import")
        self.pending: Future[tuple[int, int]] | None = None
        self.pending_size = 0

    def submit(self, batch: list[tuple[str, Any, Any]]) -> tuple[int, int, int]:
        """Start writing ``batch``; returns (written, created, updated) of the previous one."""
        data = _copy_rows(
            batch,
            project_id=self.project_id,
            now=timezone.now(),
            rank=functools.partial(self.rank, _RANKS),
        )
        done = self.wait()
        self.pending = self.pool.submit(self._write, data, len(batch))
        self.pending_size = len(batch)
        return done

    def wait(self) -> tuple[int, int, int]:
        """Wait for the batch being written; returns its (written, created, updated)."""
        if self.pending is None:
            return 0, 0, 0
        pending, self.pending = self.pending, None
        with connection.wrap_database_errors:
            created, updated = pending.result()
        return self.pending_size, created, updated

    def drop_stage(self) -> None:
        """Drop the staging table now (it would go at commit), for a later import in the
        same transaction."""
        if self.staged:
            with self.raw.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {_STAGE}")
            self.staged = False

    def close(self) -> None:
        """Let a batch still being written finish (its error, if any, is moot: the import is
        being rolled back) and stop the worker thread."""
        if self.pending is not None:
            concurrent.futures.wait([self.pending])
            self.pending = None
        self.pool.shutdown()

    def _write(self, data: bytes, n: int) -> tuple[int, int]:
        from psycopg.errors import UniqueViolation  # PostgreSQL only

        with self.raw.cursor() as cursor:
            if self.direct:
                cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
                try:
                    with cursor.copy(
                        f"COPY {self.table} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
                    ) as copy:
                        copy.write(data)
                except UniqueViolation:
                    cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
                    self.direct = False
                else:
                    cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
                    return n, 0
            return self._upsert(cursor, data)

    def _upsert(self, cursor: Any, data: bytes) -> tuple[int, int]:
        if not self.staged:
            # The staging payload uses the target column's compression, so rows move
            # across without being recompressed.
            cursor.execute(
                "SELECT attcompression FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attname = 'payload'",
                [self.table],
            )
            row = cursor.fetchone()
            method = {"l": " COMPRESSION lz4", "p": " COMPRESSION pglz"}.get(
                (row and row[0]) or "", ""
            )
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ("
                " project_id bigint NOT NULL, external_id varchar(255) NOT NULL,"
                f" payload jsonb{method} NOT NULL, is_gold boolean NOT NULL, gold_value jsonb,"
                " is_qualification boolean NOT NULL, n_submitted integer NOT NULL,"
                " rank integer NOT NULL, created_at timestamptz NOT NULL,"
                " updated_at timestamptz NOT NULL) ON COMMIT DROP"
            )
            self.staged = True
        cursor.execute(f"TRUNCATE {_STAGE}")
        with cursor.copy(f"COPY {_STAGE} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(data)
        cursor.execute(
            "WITH written AS ("
            f" INSERT INTO {self.table} ({_COLUMNS}) SELECT {_COLUMNS} FROM {_STAGE}"
            " ON CONFLICT (project_id, external_id) DO UPDATE SET payload = EXCLUDED.payload,"
            "  is_gold = EXCLUDED.is_gold, gold_value = EXCLUDED.gold_value,"
            "  updated_at = EXCLUDED.updated_at"
            " RETURNING (xmax = 0) AS inserted"
            ") SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)"
            " FROM written"
        )
        row = cursor.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


def _copy_supported() -> bool:
    """Whether batches go through ``_PostgresWriter`` (PostgreSQL) rather than the ORM's
    ``bulk_create`` (any other database, SQLite for the demo)."""
    return connection.vendor == "postgresql"


def _adapter_config(*, project: Project, plugin: TaskType, adapter: str) -> None:
    """Give ``project`` the configuration ``adapter`` needs (``TaskType.adapter_config``): set on
    a project without items; on one with items, ``InvalidInput`` unless it already fits (a list
    must be included in the project's, any other value equal)."""
    wanted = plugin.adapter_config(adapter)
    if not wanted:
        return
    current = dict(project.config or {})
    effective = plugin.config(current)
    if plugin.config_schema is not None:
        effective = {**effective, **plugin.config_schema.model_validate(current).model_dump()}
    if Item.objects.filter(project=project).exists():
        misfits = [
            FieldError(
                "adapter",
                f"{adapter} needs config {key}={value!r}, this project has "
                f"{effective.get(key)!r} and already has items: import into a new project",
            )
            for key, value in wanted.items()
            if (
                not set(value) <= set(effective.get(key) or [])
                if isinstance(value, list)
                else effective.get(key) != value
            )
        ]
        if misfits:
            raise InvalidInput(
                "the project's configuration does not fit the adapter", detail=misfits
            )
        return
    for key, value in wanted.items():
        if isinstance(value, list):
            current[key] = list(dict.fromkeys([*(current.get(key) or []), *value]))
        else:
            current[key] = value
    project.config = plugin.validate_config(current)
    project.save(update_fields=["config"])


def items_import(
    *,
    project: Project,
    stream: IO[bytes],
    fmt: str | None = None,
    adapter: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import items into ``project`` from a byte stream; all or nothing.

    Raises ``ImportFailed`` (nothing written) listing every bad line; re-importing an
    ``external_id`` updates that item's payload and gold answer.
    """
    plugin = get_task_type(project.task_type)
    stream = as_buffered(stream)
    source = plugin.import_source(stream, fmt=fmt)
    records = parse_records(
        source.stream, fmt=source.fmt, json_columns=plugin.csv_json_columns | {"gold"}
    )
    if adapter:
        adapters = plugin.adapters()
        if adapter not in adapters:
            known = ", ".join(sorted(adapters)) or "none"
            raise InvalidInput(
                f"task type {plugin.name} has no import adapter {adapter!r} (known: {known})",
                detail=[FieldError("adapter", f"unknown adapter {adapter!r} (known: {known})")],
            )
        records = adapters[adapter](records)
    if source.finish is not None:
        records = source.finish(records)

    batch_size = settings.DISSENSUS_IMPORT_BATCH_SIZE
    log = LineErrors()
    seen: dict[str, int] = {}
    # Labels that came with the items (``AdaptedItem``): (line, label row), stored at the end.
    labels: list[tuple[int, dict[str, Any]]] = []
    batch: list[tuple[str, Any, Any]] = []  # (external_id, payload, gold answer or None)
    result = ImportResult(total=0, created=0, updated=0)

    writer: _PostgresWriter | None = None

    def written(counts: tuple[int, int, int]) -> None:
        n, created, updated = counts
        result.created += created
        result.updated += updated
        if n and progress:
            progress(n)

    def flush() -> None:
        nonlocal writer
        if _copy_supported():
            writer = writer or _PostgresWriter(project)
            written(writer.submit(batch))
            batch.clear()
            return
        items = [
            Item(
                project=project,
                external_id=external_id,
                payload=payload,
                is_gold=gold_value is not None,
                gold_value=gold_value,
            )
            for external_id, payload, gold_value in batch
        ]
        ids = [item.external_id for item in items]
        existing = set(
            Item.objects.filter(project=project, external_id__in=ids).values_list(
                "external_id", flat=True
            )
        )
        now = timezone.now()
        for item in items:
            item.updated_at = now
        Item.objects.bulk_create(
            items,
            update_conflicts=True,
            unique_fields=["project", "external_id"],
            update_fields=["payload", "is_gold", "gold_value", "updated_at"],
        )
        result.updated += len(existing)
        result.created += len(batch) - len(existing)
        if progress:
            progress(len(batch))
        batch.clear()

    def bad(line: int, field_errors: list[dict[str, str]]) -> None:
        batch.clear()
        log.add(line, field_errors)

    with transaction.atomic():
        if adapter:
            _adapter_config(project=project, plugin=plugin, adapter=adapter)
        try:
            for line, record in records:
                result.total += 1
                if isinstance(record, ParseProblem):
                    bad(line, [FieldError("(line)", record.message).as_dict()])
                    continue
                if isinstance(record, SchemaError):  # an adapter's verdict on a source row
                    bad(line, record.as_list())
                    continue
                item_labels = None
                if isinstance(record, AdaptedItem):
                    item_labels = record.labels
                    record = record.record
                try:
                    external_id, payload, gold_value = _validate_record(
                        record, plugin=plugin, project=project
                    )
                except SchemaError as exc:
                    bad(line, exc.as_list())
                    continue
                first_line = seen.setdefault(external_id, line)
                if first_line != line:
                    bad(
                        line,
                        [
                            {
                                "field": "external_id",
                                "message": f"{external_id!r} already appears on line {first_line}",
                            }
                        ],
                    )
                    continue
                if log.n_bad:
                    continue  # keep validating to report every bad line, but write nothing more
                for label in item_labels or ():
                    labels.append((line, {**label, "external_id": external_id}))
                batch.append((external_id, payload, gold_value))
                if len(batch) >= batch_size:
                    flush()
            if log.n_bad:
                transaction.set_rollback(True)
            elif batch:
                flush()
            if writer is not None and not log.n_bad:
                written(writer.wait())
                writer.drop_stage()
            if labels and not log.n_bad:
                # The label hook: labels need their items, written above in this transaction;
                # a bad label fails the whole import. (Imported here: labels_import uses this
                # module's LineErrors.)
                from annotate.services.labels_import import labels_store

                result.labels = labels_store(project=project, rows=labels).as_dict()
        finally:
            if writer is not None:
                writer.close()
    if log.n_bad:
        raise log.failure(result.total)
    if result.total == 0:
        raise ImportFailed("nothing was imported: the file holds no records", detail=[])
    return result

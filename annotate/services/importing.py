"""Item import: JSON array, JSON Lines or CSV; all or nothing; streamed.

One pass over the file, inside one transaction: every record is validated, valid batches are
upserted by ``external_id`` as they fill, and if any record was bad the transaction is rolled back
and ``ImportFailed`` lists every bad line with its field errors. Memory holds one batch and the set
of ``external_id`` values seen (to report repeats), whatever the file's size.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotate.errors import ImportFailed, InvalidInput
from annotate.models import Item, Project
from annotate.tasktypes import FieldError, SchemaError, TaskType, get_task_type

FORMATS = ("jsonl", "json", "csv")
RESERVED_KEYS = ("external_id", "gold")

Record = tuple[int, Any]  # (line number, parsed record or a ParseProblem)


@dataclass(frozen=True)
class ParseProblem:
    message: str


@dataclass
class ImportResult:
    total: int
    created: int
    updated: int

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "created": self.created, "updated": self.updated}


def detect_format(*, filename: str | None = None, content_type: str | None = None) -> str | None:
    name = (filename or "").lower()
    kind = (content_type or "").split(";")[0].strip().lower()
    if name.endswith((".jsonl", ".ndjson")) or kind in {
        "application/x-ndjson",
        "application/jsonl",
    }:
        return "jsonl"
    if name.endswith(".csv") or kind in {"text/csv", "application/csv"}:
        return "csv"
    if name.endswith(".json") or kind == "application/json":
        return "json"
    return None


class _RawReader(io.RawIOBase):
    """Raw adapter over anything with ``read(n)`` (a request body, an upload)."""

    def __init__(self, source: Any):
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def as_buffered(source: Any) -> IO[bytes]:
    """A buffered binary stream over ``source``, so formats can be sniffed without seeking."""
    return io.BufferedReader(_RawReader(source), buffer_size=1 << 16)  # type: ignore[return-value]


def _sniff(stream: IO[bytes]) -> str:
    """JSON array if the first non-blank byte is '[', JSON Lines if '{'."""
    head = stream.peek(4096)  # type: ignore[attr-defined]
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl"
    return "csv"


def _jsonl_records(stream: IO[bytes]) -> Iterator[Record]:
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if not line:
            continue
        try:
            yield number, json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            yield number, ParseProblem(f"not valid JSON: {exc}")


def _json_array_records(stream: IO[bytes]) -> Iterator[Record]:
    """Records of a JSON array, numbered from 1 (JSON arrays have no useful line numbers)."""
    number = 0
    try:
        for number, record in enumerate(ijson.items(stream, "item", use_float=True), start=1):
            yield number, record
    except ijson.JSONError as exc:
        yield number + 1, ParseProblem(f"not a valid JSON array: {exc}")


def _csv_records(stream: IO[bytes], json_columns: frozenset[str]) -> Iterator[Record]:
    """Records of a CSV file with a header row, each numbered by the physical line it starts on
    (a quoted cell may span lines; blank lines are skipped but still counted)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            return
        line = reader.line_num + 1
        for row in reader:
            if not row:
                line = reader.line_num + 1
                continue
            if len(row) > len(header):
                yield line, ParseProblem("the row has more cells than the header")
            else:
                record: dict[str, Any] = {}
                problem = None
                for key, value in zip(header, row, strict=False):
                    if value == "":
                        continue
                    if key in json_columns:
                        try:
                            record[key] = json.loads(value)
                        except ValueError as exc:
                            problem = ParseProblem(f"column {key}: not valid JSON: {exc}")
                            break
                    else:
                        record[key] = value
                yield line, problem or record
            line = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError) as exc:
        yield reader.line_num or 1, ParseProblem(f"not valid CSV: {exc}")
    finally:
        text.detach()


def parse_records(stream: IO[bytes], *, fmt: str | None, plugin: TaskType) -> Iterator[Record]:
    fmt = fmt or _sniff(stream)
    if fmt == "jsonl":
        return _jsonl_records(stream)
    if fmt == "json":
        return _json_array_records(stream)
    if fmt == "csv":
        return _csv_records(stream, plugin.csv_json_columns | {"gold"})
    raise InvalidInput(
        f"unknown import format {fmt!r}; use one of {', '.join(FORMATS)}",
        detail=[{"field": "format", "message": f"unknown format {fmt!r}"}],
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
    records = parse_records(source.stream, fmt=source.fmt, plugin=plugin)
    if adapter:
        adapters = plugin.adapters()
        if adapter not in adapters:
            known = ", ".join(sorted(adapters)) or "none"
            raise InvalidInput(
                f"task type {plugin.name} has no import adapter {adapter!r} (known: {known})",
                detail=[{"field": "adapter", "message": f"unknown adapter {adapter!r}"}],
            )
        records = adapters[adapter](records)
    if source.finish is not None:
        records = source.finish(records)

    batch_size = settings.DISSENSUS_IMPORT_BATCH_SIZE
    max_errors = settings.DISSENSUS_IMPORT_MAX_ERRORS
    errors: list[dict[str, Any]] = []
    n_bad = 0
    seen: dict[str, int] = {}
    batch: list[Item] = []
    result = ImportResult(total=0, created=0, updated=0)

    def flush() -> None:
        ids = [item.external_id for item in batch]
        existing = set(
            Item.objects.filter(project=project, external_id__in=ids).values_list(
                "external_id", flat=True
            )
        )
        now = timezone.now()
        for item in batch:
            item.updated_at = now
        Item.objects.bulk_create(
            batch,
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
        nonlocal n_bad
        n_bad += 1
        batch.clear()
        if len(errors) < max_errors:
            errors.append({"line": line, "errors": field_errors})

    with transaction.atomic():
        for line, record in records:
            result.total += 1
            if isinstance(record, ParseProblem):
                bad(line, [{"field": "(line)", "message": record.message}])
                continue
            if isinstance(record, SchemaError):  # an adapter's verdict on a source row
                bad(line, record.as_list())
                continue
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
            if n_bad:
                continue  # keep validating to report every bad line, but write nothing more
            batch.append(
                Item(
                    project=project,
                    external_id=external_id,
                    payload=payload,
                    is_gold=gold_value is not None,
                    gold_value=gold_value,
                )
            )
            if len(batch) >= batch_size:
                flush()
        if n_bad:
            transaction.set_rollback(True)
        elif batch:
            flush()
    if n_bad:
        shown = "" if n_bad <= len(errors) else f" (the first {len(errors)} are listed)"
        raise ImportFailed(
            f"nothing was imported: {n_bad} of {result.total} records are invalid{shown}",
            detail=errors,
        )
    if result.total == 0:
        raise ImportFailed("nothing was imported: the file holds no records", detail=[])
    return result

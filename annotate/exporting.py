"""Streaming export: shapes (which rows) × formats (which bytes), at constant memory.

Rows are read in primary-key chunks (``keyset_chunks``), so memory holds one chunk whatever the
project's size. Annotator ids are pseudonymous (a keyed hash per project) unless the lead asks for
identities.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from django.conf import settings

from annotate import hooks
from annotate.models import Item, Project
from annotate.selectors import annotations_for_aggregates, keyset_chunks
from annotate.tasktypes import ItemSummary, get_task_type
from annotate.tasktypes.base import ExportShape
from core.errors import FieldError, InvalidInput
from core.spreadsheet import csv_safe

FORMATS = {
    "jsonl": ("application/x-ndjson", "jsonl"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
}
BASE_SHAPES = ("annotations", "items")
CHUNK = 2000
FLUSH_BYTES = 256 * 1024


def annotator_pseudonym(*, project_id: int, user_id: int) -> str:
    key = str(settings.SECRET_KEY).encode()
    digest = hmac.new(key, f"dissensus:{project_id}:{user_id}".encode(), hashlib.sha256)
    return "ann-" + digest.hexdigest()[:12]


def export_shapes(project: Project) -> tuple[str, ...]:
    return BASE_SHAPES + tuple(
        shape.name for shape in get_task_type(project.task_type).export_shapes()
    )


def export_shape_specs(project: Project) -> list[ExportShape]:
    """Every shape of a project's export with its declared options (the base shapes have none)."""
    base = [ExportShape(name) for name in BASE_SHAPES]
    return base + list(get_task_type(project.task_type).export_shapes())


def shape_options(project: Project, *, shape: str, options: Mapping[str, str]) -> dict[str, str]:
    """``options`` checked against the shape's declarations: an option the shape does not
    declare, or a value not among its choices, is an ``InvalidInput`` naming the option."""
    declared = {
        option.name: option
        for spec in export_shape_specs(project)
        if spec.name == shape
        for option in spec.options
    }
    checked = {}
    for name, value in options.items():
        option = declared.get(name)
        if option is None:
            known = ", ".join(declared) or "none"
            raise InvalidInput(
                f"{name!r} is not an option of the {shape} shape (its options: {known})",
                detail=[FieldError("options", f"{name!r} is not an option of the {shape} shape")],
            )
        try:
            checked[name] = option.check(value)
        except ValueError as exc:
            raise InvalidInput(str(exc), detail=[FieldError("options", str(exc))]) from None
    return checked


def _annotator_namer(project: Project, identities: bool) -> Callable[[int, str], str]:
    if identities:
        return lambda user_id, username: username
    pseudonyms: dict[int, str] = {}  # a project has few annotators and many rows: hash each once

    def pseudonym(user_id: int, username: str) -> str:
        if user_id not in pseudonyms:
            pseudonyms[user_id] = annotator_pseudonym(project_id=project.pk, user_id=user_id)
        return pseudonyms[user_id]

    return pseudonym


def annotation_rows(
    project: Project, *, identities: bool = False, include_flagged: bool = False
) -> Iterator[dict[str, Any]]:
    name = _annotator_namer(project, identities)
    annotations = annotations_for_aggregates(project=project, include_flagged=include_flagged)
    fields = (
        "pk",
        "item__external_id",
        "item_id",
        "annotator_id",
        "annotator__username",
        "value",
        "shown_order",
        "time_spent_ms",
        "version",
        "created_at",
        "updated_at",
    )
    last_pk = 0
    while True:
        chunk = list(annotations.filter(pk__gt=last_pk).order_by("pk").values_list(*fields)[:CHUNK])
        if not chunk:
            return
        for (
            pk,
            external_id,
            item_id,
            user_id,
            username,
            value,
            shown,
            spent,
            version,
            c,
            u,
        ) in chunk:
            yield {
                "annotation_id": pk,
                "external_id": external_id,
                "item_id": item_id,
                "annotator": name(user_id, username),
                "value": value,
                "shown_order": shown,
                "time_spent_ms": spent,
                "version": version,
                "created_at": c.isoformat(),
                "updated_at": u.isoformat(),
            }
        last_pk = chunk[-1][0]


def item_records(
    project: Project, *, identities: bool = False, include_flagged: bool = False
) -> Iterator[tuple[Item, list[dict[str, Any]], ItemSummary]]:
    """Each item with its labels ``[{annotator, value}]`` and its summary, in id order.

    Flagged annotators' labels are left out unless ``include_flagged``.
    """
    plugin = get_task_type(project.task_type)
    name = _annotator_namer(project, identities)
    annotations = annotations_for_aggregates(project=project, include_flagged=include_flagged)
    for items in keyset_chunks(Item.objects.filter(project=project), chunk_size=CHUNK):
        labels: dict[int, list[dict[str, Any]]] = defaultdict(list)
        rows = (
            annotations.filter(item__in=[item.pk for item in items])
            .order_by("item_id", "pk")
            .values_list("item_id", "annotator_id", "annotator__username", "value")
        )
        for item_id, user_id, username, value in rows:
            labels[item_id].append({"annotator": name(user_id, username), "value": value})
        for item in items:
            item_labels = labels.get(item.pk, [])
            values = [label["value"] for label in item_labels]
            yield item, item_labels, plugin.summarize(values, config=project.config)


def item_rows(
    project: Project, *, identities: bool = False, include_flagged: bool = False
) -> Iterator[dict[str, Any]]:
    plugin = get_task_type(project.task_type)
    records = item_records(project, identities=identities, include_flagged=include_flagged)
    for chunk in _batched(records, CHUNK):
        # Columns that apps built on this one add (models_runtime: "predictions").
        extra: dict[str, dict[int, Any]] = {}
        for columns in hooks.item_export_columns(item_ids=[item.pk for item, _, _ in chunk]):
            extra.update(columns)
        for item, labels, summary in chunk:
            row = _item_row(plugin, item, labels, summary)
            row.update({column: values.get(item.pk) for column, values in extra.items()})
            yield row


def _batched(records: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _item_row(
    plugin: Any,
    item: Item,
    labels: list[dict[str, Any]],
    summary: ItemSummary,
) -> dict[str, Any]:
    return {
        "external_id": item.external_id,
        "item_id": item.pk,
        **plugin.export_item_fields(item.payload),
        "is_gold": item.is_gold,
        "gold_value": item.gold_value,
        "n_annotations": summary.n_annotations,
        "labels": labels,
        "label_distribution": summary.label_distribution,
        "majority_label": summary.majority_label,
        "agreement_status": summary.agreement_status,
    }


def export_rows(
    project: Project,
    *,
    shape: str,
    identities: bool = False,
    options: Mapping[str, str] | None = None,
    include_flagged: bool = False,
) -> Iterator[dict[str, Any]]:
    """Rows of one shape; ``options`` are the shape's own, as its task type declares them
    (``ExportShape.options``); one it does not declare is an ``InvalidInput``.

    Annotations of flagged annotators (paused for low gold accuracy or by a lead) are left out
    unless ``include_flagged``.
    """
    extra = {spec.name: spec for spec in get_task_type(project.task_type).export_shapes()}
    if shape not in BASE_SHAPES and shape not in extra:
        raise InvalidInput(
            f"unknown export shape {shape!r} for this project "
            f"(use one of {', '.join(export_shapes(project))})",
            detail=[FieldError("shape", f"unknown shape {shape!r}")],
        )
    checked = shape_options(project, shape=shape, options=dict(options or {}))
    if shape == "annotations":
        return annotation_rows(project, identities=identities, include_flagged=include_flagged)
    if shape == "items":
        return item_rows(project, identities=identities, include_flagged=include_flagged)
    records = item_records(project, identities=identities, include_flagged=include_flagged)
    rows = extra[shape].rows
    assert rows is not None  # only the platform's own shapes have none
    return rows(records, **checked)


# --- formats


def _flat(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _buffered(pieces: Iterable[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= FLUSH_BYTES:
            yield "".join(buffer).encode()
            buffer.clear()
            size = 0
    if buffer:
        yield "".join(buffer).encode()


def jsonl_bytes(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    return _buffered(dumps(row) + "\n" for row in rows)


def csv_bytes(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer: csv.DictWriter[str] | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row), extrasaction="raise")
                writer.writeheader()
            writer.writerow({key: csv_safe(_flat(value)) for key, value in row.items()})
            if out.tell() >= FLUSH_BYTES:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return _buffered(lines())


class _Drain(io.RawIOBase):
    """A write-only file whose bytes are taken out after each write of the Parquet writer."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def parquet_bytes(rows: Iterable[dict[str, Any]], *, batch_rows: int = 20_000) -> Iterator[bytes]:
    """One row group per batch; nested values are JSON strings, as in CSV."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = _Drain()
    writer = None
    schema = None
    batch: list[dict[str, Any]] = []

    def table() -> Any:
        nonlocal schema
        flat = [{key: _flat(value) for key, value in row.items()} for row in batch]
        if schema is None:
            inferred = pa.Table.from_pylist(flat).schema
            schema = pa.schema(
                [
                    pa.field(f.name, pa.string() if pa.types.is_null(f.type) else f.type)
                    for f in inferred
                ]
            )
        # Infer, then cast to the first batch's schema: a column that was all empty there is
        # text, and later values convert to it instead of failing (or truncating silently).
        return pa.Table.from_pylist(flat).cast(schema)

    for row in rows:
        batch.append(row)
        if len(batch) >= batch_rows:
            data = table()
            writer = writer or pq.ParquetWriter(sink, data.schema)
            writer.write_table(data)
            batch.clear()
            yield sink.take()
    if batch or writer is None:
        data = table() if batch else pa.table({"empty": pa.array([], pa.string())})
        writer = writer or pq.ParquetWriter(sink, data.schema)
        writer.write_table(data)
    writer.close()
    yield sink.take()


def export_bytes(rows: Iterable[dict[str, Any]], *, fmt: str) -> Iterator[bytes]:
    if fmt == "jsonl":
        return jsonl_bytes(rows)
    if fmt == "csv":
        return csv_bytes(rows)
    if fmt == "parquet":
        return parquet_bytes(rows)
    raise InvalidInput(
        f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})",
        detail=[FieldError("format", f"unknown format {fmt!r}")],
    )

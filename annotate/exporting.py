"""Streaming export: shapes (which rows) × formats (which bytes), at constant memory.

Rows are read in primary-key chunks, so memory holds one chunk whatever the project's size.
Annotator ids are pseudonymous (a keyed hash per project) unless the lead asks for identities.

On PostgreSQL the database builds much of each row: the annotations shape entirely (written by
``COPY ... TO STDOUT``), the items with their labels gathered per item and their fields as JSON
texts that the items' lines are spliced from (``ItemRows``); on other databases
(SQLite, the demo's default) the same rows and bytes are built in Python. ``sql=False`` asks for
the Python path on PostgreSQL too (the pin test checks both against the same expectation).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from django.conf import settings

from annotate import hooks
from annotate.models import Project
from annotate.selectors import (
    ANNOTATION_EXPORT_COLUMNS,
    ANNOTATION_EXPORT_FIELDS,
    annotation_export_batches,
    annotation_export_lines,
    annotation_export_values,
    annotator_users,
    export_in_sql,
    item_export_chunks,
    item_export_values,
)
from annotate.tasktypes import ItemSummary, get_task_type
from annotate.tasktypes.base import ExportShape, TaskType
from core.errors import FieldError, InvalidInput
from core.spreadsheet import FORMULA_STARTS, csv_safe

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


def _in_sql(sql: bool | None) -> bool:
    """Whether the database builds the rows: ``sql`` when given, else where it can (PostgreSQL)."""
    return export_in_sql() if sql is None else sql


def _annotator_names(
    project: Project, *, identities: bool, include_flagged: bool
) -> tuple[list[int], list[str]]:
    """(user ids, names) of everyone who annotated ``project``: usernames or pseudonyms, hashed
    once each here so that PostgreSQL can join them to the rows. Flagged annotators are left out
    unless ``include_flagged`` (the join then drops their rows)."""
    user_ids, names = [], []
    for user_id, username in annotator_users(project=project, include_flagged=include_flagged):
        user_ids.append(user_id)
        names.append(
            username if identities else annotator_pseudonym(project_id=project.pk, user_id=user_id)
        )
    return user_ids, names


class AnnotationRows:
    """The ``annotations`` shape: iterable as row dicts like every shape, and written by
    ``export_bytes`` straight from PostgreSQL (``COPY ... TO STDOUT`` for JSON Lines and CSV, one
    columnar fetch per Parquet row group) instead of through Python dicts."""

    columns = ANNOTATION_EXPORT_COLUMNS

    def __init__(
        self, project: Project, *, identities: bool, include_flagged: bool, sql: bool
    ) -> None:
        self.project = project
        self.identities = identities
        self.include_flagged = include_flagged
        self.sql = sql  # False: built in Python (other databases), written like every shape

    def _names(self) -> tuple[list[int], list[str]]:
        return _annotator_names(
            self.project, identities=self.identities, include_flagged=self.include_flagged
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        user_ids, names = self._names()
        if not self.sql:
            yield from self._python_rows(user_ids, names)
            return
        for batch in annotation_export_batches(
            project_id=self.project.pk, user_ids=user_ids, names=names, batch_rows=CHUNK
        ):
            for row in zip(*(batch[column] for column in self.columns), strict=True):
                record = dict(zip(self.columns, row, strict=True))
                record["value"] = json.loads(record["value"])
                record["shown_order"] = json.loads(record["shown_order"])
                yield record

    def _python_rows(self, user_ids: list[int], names: list[str]) -> Iterator[dict[str, Any]]:
        name_of = dict(zip(user_ids, names, strict=True))
        assert ANNOTATION_EXPORT_FIELDS[3] == "annotator_id"
        for rows in annotation_export_values(
            project_id=self.project.pk, user_ids=user_ids, chunk_size=CHUNK
        ):
            for row in rows:
                record = dict(zip(self.columns, row, strict=True))
                record["annotator"] = name_of[row[3]]
                record["created_at"] = record["created_at"].isoformat()
                record["updated_at"] = record["updated_at"].isoformat()
                yield record

    def encoded(self, fmt: str, *, progress: Callable[[int], Any]) -> Iterator[bytes]:
        """The shape in ``fmt``; ``progress(n)`` after every ``n`` rows."""
        user_ids, names = self._names()
        if fmt == "parquet":
            return self._parquet(user_ids, names, progress=progress)
        lines = annotation_export_lines(
            project_id=self.project.pk, user_ids=user_ids, names=names, fmt=fmt
        )
        if fmt == "csv":
            header = (",".join(self.columns) + "\r\n").encode()
            return _regrouped(self._csv_lines(lines), progress=progress, header=header)
        return _regrouped(lines, progress=progress)

    def _csv_lines(self, parts: Iterator[Any]) -> Iterator[bytes]:
        # PostgreSQL writes the scalar cells (formula-safe and quoted); the JSON cells get their
        # keys sorted here, as in every CSV of the platform.
        cell = _json_cells(as_csv=True)
        for before, value, shown, after in parts:
            yield f"{before},{cell(value)},{cell(shown)},{after}\r\n".encode()

    def _parquet(
        self,
        user_ids: list[int],
        names: list[str],
        *,
        progress: Callable[[int], Any],
        batch_rows: int = 20_000,
    ) -> Iterator[bytes]:
        import pyarrow as pa

        flat = _json_cells(as_csv=False)

        def tables() -> Iterator[Any]:
            for batch in annotation_export_batches(
                project_id=self.project.pk, user_ids=user_ids, names=names, batch_rows=batch_rows
            ):
                batch["value"] = [flat(text) for text in batch["value"]]
                batch["shown_order"] = [flat(text) for text in batch["shown_order"]]
                yield pa.table({column: pa.array(batch[column]) for column in self.columns})
                progress(len(batch["value"]))

        return _parquet_tables(tables())


def _json_cells(*, as_csv: bool) -> _Bounded:
    """A JSON value as PostgreSQL gives it (``jsonb::text``) turned into what the Python writers
    make of it: keys sorted (``_flat``), and for CSV formula-safe and quoted as the csv module
    quotes. Cached (``_Bounded``): a project's values repeat (votes, shown orders)."""

    def convert(text: str) -> Any:
        value = _flat(json.loads(text))
        if not as_csv:
            return value
        out = io.StringIO()
        # Two cells, so that an empty one is written as the csv module writes it mid-row.
        csv.writer(out).writerow([csv_safe(value), ""])
        return out.getvalue()[: -len(",\r\n")]

    return _Bounded(convert, limit=50_000)


def _regrouped(
    lines: Iterable[bytes], *, progress: Callable[[int], Any], header: bytes = b""
) -> Iterator[bytes]:
    """``header``, then rows' lines, gathered into chunks of about ``FLUSH_BYTES``."""
    buffer: list[bytes] = []
    size = 0
    if header:
        yield header
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= FLUSH_BYTES:
            yield b"".join(buffer)
            progress(len(buffer))
            buffer.clear()
            size = 0
    if buffer:
        yield b"".join(buffer)
        progress(len(buffer))


def annotation_rows(
    project: Project,
    *,
    identities: bool = False,
    include_flagged: bool = False,
    sql: bool | None = None,
) -> AnnotationRows:
    """The ``annotations`` shape: one row per annotation, in id order (see ``AnnotationRows``)."""
    return AnnotationRows(
        project, identities=identities, include_flagged=include_flagged, sql=_in_sql(sql)
    )


@dataclass(frozen=True, slots=True)
class ExportItem:
    """An item as the export reads it (the fields the shapes use, not a model instance)."""

    pk: int
    external_id: str
    payload: dict[str, Any]
    is_gold: bool
    gold_value: Any


def _item_chunks(
    project: Project, *, identities: bool, include_flagged: bool, sql: bool
) -> tuple[Iterator[list[tuple[Any, ...]]], Callable[[Any], Any]]:
    """Chunks of ``[(id, external_id, payload, is_gold, gold_value, [annotator name],
    [value])]`` (labels in annotation id order) and how to decode their JSON (PostgreSQL gives
    it as text)."""
    user_ids, names = _annotator_names(
        project, identities=identities, include_flagged=include_flagged
    )
    if sql:
        chunks = item_export_chunks(
            project_id=project.pk, user_ids=user_ids, names=names, chunk_size=CHUNK
        )
        return chunks, json.loads
    name_of = dict(zip(user_ids, names, strict=True))

    def gathered() -> Iterator[list[tuple[Any, ...]]]:
        for items, labels in item_export_values(
            project_id=project.pk, user_ids=user_ids, chunk_size=CHUNK
        ):
            by_item: dict[int, tuple[list[str], list[Any]]] = defaultdict(lambda: ([], []))
            for item_id, user, value in labels:
                item_names, values = by_item[item_id]
                item_names.append(name_of[user])
                values.append(value)
            yield [(*item, *by_item.get(item[0], ((), ()))) for item in items]

    return gathered(), _decoded


def _decoded(value: Any) -> Any:
    return value


def item_records(
    project: Project,
    *,
    identities: bool = False,
    include_flagged: bool = False,
    sql: bool | None = None,
) -> Iterator[tuple[ExportItem, list[dict[str, Any]], ItemSummary]]:
    """Each item with its labels ``[{annotator, value}]`` and its summary, in id order.

    Flagged annotators' labels are left out unless ``include_flagged``. One query per chunk
    of ``CHUNK`` items on PostgreSQL (each item with its labels), read without model instances.
    """
    plugin = get_task_type(project.task_type)
    chunks, loads = _item_chunks(
        project, identities=identities, include_flagged=include_flagged, sql=_in_sql(sql)
    )
    summaries = _Summaries(plugin, config=project.config)
    # A project's label values repeat (votes): each text decoded once (payloads do not repeat),
    # and the summary found by the item's texts before any is decoded.
    label_loads = _Bounded(json.loads) if loads is json.loads else loads
    for chunk in chunks:
        for pk, external_id, payload, is_gold, gold_value, names, texts in chunk:
            values = [label_loads(text) for text in texts]
            item = ExportItem(
                pk=pk,
                external_id=external_id,
                payload=loads(payload),
                is_gold=is_gold,
                gold_value=None if gold_value is None else loads(gold_value),
            )
            labels = [
                {"annotator": name, "value": value}
                for name, value in zip(names, values, strict=True)
            ]
            summary = summaries(values, texts=tuple(texts) if loads is json.loads else None)
            yield item, labels, summary


class _Bounded:
    """``function(text)`` cached, the cache emptied when it reaches ``limit`` entries (default
    ``LIMIT``). What it returns is shared by the rows that give the same text: the export only
    reads it."""

    LIMIT = 4096

    def __init__(self, function: Callable[[Any], Any], *, limit: int = LIMIT) -> None:
        self.function = function
        self.limit = limit
        self.cache: dict[Any, Any] = {}

    def __call__(self, key: Any) -> Any:
        found = self.cache.get(key, _MISSING)
        if found is _MISSING:
            found = self.function(key)
            if len(self.cache) >= self.limit:
                self.cache.clear()
            self.cache[key] = found
        return found


_MISSING = object()


class _Summaries:
    """The type's ``summarize`` of an item's label values, computed once per distinct sequence
    of ``summary_key``s when the type declares what its summary reads (``TaskType.summary_key``);
    every item summarized on its own otherwise. Summaries are shared by items: only read."""

    def __init__(self, plugin: Any, *, config: Any) -> None:
        self.summarize: Callable[..., ItemSummary] = plugin.summarize
        self.config = config
        self.key_of: Callable[[Any], Any] | None = plugin.summary_key()
        self.cache: dict[tuple[Any, ...], ItemSummary] = {}
        self.by_texts: dict[tuple[str, ...], ItemSummary] = {}

    def __call__(self, values: list[Any], *, texts: tuple[str, ...] | None = None) -> ItemSummary:
        """The summary of ``values``; ``texts``, their JSON texts when known, find it without
        computing their keys when the same texts came before."""
        key_of = self.key_of
        if key_of is None:
            return self.summarize(values, config=self.config)
        if texts is not None:
            found = self.by_texts.get(texts)
            if found is None:
                found = self(values)
                if len(self.by_texts) >= _Bounded.LIMIT:
                    self.by_texts.clear()
                self.by_texts[texts] = found
            return found
        key = tuple([key_of(value) for value in values])
        try:
            found = self.cache.get(key)
        except TypeError:  # an unhashable key: this item on its own
            return self.summarize(values, config=self.config)
        if found is None:
            found = self.summarize(values, config=self.config)
            if len(self.cache) >= _Bounded.LIMIT:
                self.cache.clear()
            self.cache[key] = found
        return found


def item_rows(
    project: Project,
    *,
    identities: bool = False,
    include_flagged: bool = False,
    sql: bool | None = None,
) -> ItemRows:
    """The ``items`` shape: one row per item, in id order (see ``ItemRows``)."""
    return ItemRows(project, identities=identities, include_flagged=include_flagged, sql=sql)


class ItemRows:
    """The ``items`` shape: an iterator of row dicts like every shape. Written by
    ``export_bytes`` on PostgreSQL (``encoded``) without a row dict or a decoded payload: each
    JSON Lines or CSV line spliced from texts, the Parquet columns filled from them. PostgreSQL
    gives each item field's JSON (kept as it is for JSON Lines where that is the text Python's
    encoder writes: a string, or a value without a number in it; decoded otherwise); each
    summary's and each label pattern's text is made once. The bytes are the row dicts' through
    the generic writers (``test_export_pin``)."""

    def __init__(
        self, project: Project, *, identities: bool, include_flagged: bool, sql: bool | None
    ) -> None:
        self.project = project
        self.identities = identities
        self.include_flagged = include_flagged
        self.sql = sql
        self._rows: Iterator[dict[str, Any]] | None = None

    def __iter__(self) -> ItemRows:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._rows is None:
            self._rows = self._dict_rows()
        return next(self._rows)

    def _dict_rows(self) -> Iterator[dict[str, Any]]:
        plugin = get_task_type(self.project.task_type)
        records = item_records(
            self.project,
            identities=self.identities,
            include_flagged=self.include_flagged,
            sql=self.sql,
        )
        for chunk in _batched(records, CHUNK):
            extra = _extra_columns([item.pk for item, _, _ in chunk])
            for item, labels, summary in chunk:
                row = _item_row(plugin, item, labels, summary)
                row.update({column: values.get(item.pk) for column, values in extra.items()})
                yield row

    def encoded(self, fmt: str, *, progress: Callable[[int], Any]) -> Iterator[bytes] | None:
        """The shape as JSON Lines or CSV spliced from texts, or Parquet from columns filled
        from them (see the class), or ``None`` where that does not apply: the Python path, a
        type with its own ``export_item_fields``, or an item field named as one of the row's
        other columns."""
        plugin = get_task_type(self.project.task_type)
        if self._rows is not None or not _in_sql(self.sql):
            return None
        if type(plugin).export_item_fields is not TaskType.export_item_fields:
            return None
        fields = list(plugin.item_schema.model_fields)
        if len({*fields, *_ITEM_COLUMNS}) != len(fields) + len(_ITEM_COLUMNS):
            return None
        chunks = self._spliced_chunks(plugin, fields)
        if fmt == "parquet":
            return _parquet_tables(self._parquet_tables(plugin, fields, chunks, progress=progress))
        if fmt == "csv":
            lines = self._csv_lines(plugin, fields, chunks)
            return _buffered_lines(lines, progress=progress, header=True)
        return _buffered_lines(self._jsonl_lines(plugin, fields, chunks), progress=progress)

    def _spliced_chunks(
        self, plugin: Any, fields: list[str]
    ) -> Iterator[tuple[list[tuple[Any, ...]], dict[str, dict[int, Any]], list[ItemSummary]]]:
        """Chunks of ``item_export_chunks(fields=...)`` rows, with their extra columns and each
        row's summary."""
        user_ids, names = _annotator_names(
            self.project, identities=self.identities, include_flagged=self.include_flagged
        )
        summaries = _Summaries(plugin, config=self.project.config)
        label_loads = _Bounded(json.loads)
        for chunk in item_export_chunks(
            project_id=self.project.pk,
            user_ids=user_ids,
            names=names,
            chunk_size=CHUNK,
            fields=fields,
        ):
            found = []
            for row in chunk:
                texts = row[-1]
                key = tuple(texts)
                summary = summaries.by_texts.get(key) if summaries.key_of else None
                if summary is None:
                    summary = summaries([label_loads(text) for text in texts], texts=key)
                found.append(summary)
            yield chunk, _extra_columns([row[0] for row in chunk]), found

    def _jsonl_lines(self, plugin: Any, fields: list[str], chunks: Any) -> Iterator[list[str]]:
        label_json = _Bounded(_json_of_text)
        name_json = _Bounded(_json_text)
        summary_json = _PerSummary(
            lambda summary: (
                _json_text(summary.n_annotations),
                f', "label_distribution": {_json_text(summary.label_distribution)}'
                f', "majority_label": {_json_text(summary.majority_label)}'
                f', "agreement_status": {_json_text(summary.agreement_status)}',
            )
        )
        field_keys = [f", {_json_text(name)}: " for name in fields]
        n_fields = len(fields)
        base = {"external_id", "item_id", *fields, *_ITEM_COLUMNS}
        for chunk, extra, summaries in chunks:
            if base & set(extra):  # a column named as one of the row's own: as dicts
                rows = self._spliced_as_dicts(plugin, fields, chunk, extra)
                yield [_ROW_JSON(row) + "\n" for row in rows]
                continue
            extra_keys = [(f", {_json_text(column)}: ", values) for column, values in extra.items()]
            lines = []
            for row, summary in zip(chunk, summaries, strict=True):
                pk = row[0]
                is_gold, gold_value, item_names, texts = row[2 + n_fields :]
                n_text, tail = summary_json(summary)
                labels = ", ".join(
                    [
                        f'{{"annotator": {name_json(name)}, "value": {label_json(text)}}}'
                        for name, text in zip(item_names, texts, strict=True)
                    ]
                )
                parts = [f'{{"external_id": {row[1]}, "item_id": {pk}']
                for key, text in zip(field_keys, row[2 : 2 + n_fields], strict=True):
                    parts.append(key)
                    parts.append(_payload_json(text))
                parts.append(
                    f', "is_gold": {"true" if is_gold else "false"}'
                    f', "gold_value": {_payload_json(gold_value)}'
                    f', "n_annotations": {n_text}, "labels": [{labels}]{tail}'
                )
                for key, values in extra_keys:
                    parts.append(key)
                    parts.append(_json_text(values.get(pk)))
                parts.append("}\n")
                lines.append("".join(parts))
            yield lines

    def _csv_lines(self, plugin: Any, fields: list[str], chunks: Any) -> Iterator[list[str]]:
        """As ``csv_bytes`` writes the rows: a header of the first row's keys, then each row's
        cells in the header's order (``DictWriter`` itself for a row with other keys)."""
        label_cells = _label_pattern_texts(_csv_text)
        field_cell = _Bounded(_csv_field_cell)
        summary_cells = _PerSummary(
            lambda summary: (
                _csv_text(summary.n_annotations),
                f",{_csv_text(summary.label_distribution)},{_csv_text(summary.majority_label)}"
                f",{_csv_text(summary.agreement_status)}",
            )
        )
        n_fields = len(fields)
        header: list[str] | None = None
        out = io.StringIO()
        dict_writer: csv.DictWriter[str] | None = None
        for chunk, extra, summaries in chunks:
            keys = ["external_id", "item_id", *fields, *_ITEM_COLUMNS, *extra]
            lines = []
            if header is None:  # the first row's keys (a column named twice: once)
                header = list(dict.fromkeys(keys))
                dict_writer = csv.DictWriter(out, fieldnames=header, extrasaction="raise")
                dict_writer.writeheader()
                lines.append(out.getvalue())
            assert dict_writer is not None
            if len(set(keys)) != len(keys) or set(keys) != set(header):
                # Other columns than the header's, or one named twice: as csv_bytes does.
                for row in self._spliced_as_dicts(plugin, fields, chunk, extra):
                    if row.keys() == set(header):
                        lines.append(",".join([_csv_text(row[key]) for key in header]) + "\r\n")
                    else:
                        out.seek(0)
                        out.truncate()
                        dict_writer.writerow({key: _csv_cell(value) for key, value in row.items()})
                        lines.append(out.getvalue())
                yield lines
                continue
            # The extra columns in the header's order (the same columns as the header's).
            extra_values = [values for _, values in sorted(extra.items(), key=_header_at(header))]
            for row, summary in zip(chunk, summaries, strict=True):
                pk = row[0]
                is_gold, gold_value, item_names, texts = row[2 + n_fields :]
                n_cell, tail = summary_cells(summary)
                labels = label_cells((tuple(item_names), tuple(texts)))
                cells = [_csv_text(json.loads(row[1])), str(pk)]
                cells.extend([field_cell(text) for text in row[2 : 2 + n_fields]])
                cells.append(f"{is_gold},{field_cell(gold_value)},{n_cell},{labels}{tail}")
                cells.extend([_csv_text(values.get(pk)) for values in extra_values])
                lines.append(",".join(cells) + "\r\n")
            yield lines

    def _parquet_tables(
        self,
        plugin: Any,
        fields: list[str],
        chunks: Any,
        *,
        progress: Callable[[int], Any],
        batch_rows: int = 20_000,
    ) -> Iterator[Any]:
        """As ``parquet_bytes`` makes its tables of the rows (``batch_rows`` a row group, the
        columns of each group's first row), the values put in their columns chunk by chunk."""
        import pyarrow as pa

        label_values = _label_pattern_texts(_SORTED_JSON)
        field_value = _Bounded(_parquet_field_value)
        summary_values = _PerSummary(
            lambda summary: (
                _flat(summary.label_distribution),
                _flat(summary.majority_label),
                _flat(summary.agreement_status),
            )
        )
        n_fields = len(fields)
        own = ["external_id", "item_id", *fields, *_ITEM_COLUMNS]
        names: list[str] | None = None
        columns: list[list[Any]] = []
        n = 0

        def table() -> Any:
            assert names is not None
            progress(n)
            return pa.table(
                {name: pa.array(column) for name, column in zip(names, columns, strict=True)}
            )

        for chunk, extra, summaries in chunks:
            keys = [*own, *extra]
            fast = len(set(keys)) == len(keys)
            at = 0
            while at < len(chunk):
                if names is None:  # a row group's first row: its columns
                    names = list(dict.fromkeys(keys))
                    columns = [[] for _ in names]
                part = chunk[at : at + batch_rows - n]
                if fast and keys == names:
                    rows = zip(part, summaries[at : at + len(part)], strict=True)
                    values = [
                        self._parquet_row(row, summary, n_fields, field_value, summary_values,
                                          label_values)
                        for row, summary in rows
                    ]  # fmt: skip
                    for column, (_, values_) in zip(
                        columns[len(own) :], extra.items(), strict=True
                    ):
                        column.extend([_flat(values_.get(row[0])) for row in part])
                    for k, column in enumerate(columns[: len(own)]):
                        column.extend([value[k] for value in values])
                else:  # other columns than the group's: as parquet_bytes takes a row's values
                    for row_dict in self._spliced_as_dicts(plugin, fields, part, extra):
                        for column, name in zip(columns, names, strict=True):
                            column.append(_flat(row_dict.get(name)))
                n += len(part)
                at += len(part)
                if n >= batch_rows:
                    yield table()
                    names, columns, n = None, [], 0
        if names is not None:
            yield table()

    @staticmethod
    def _parquet_row(
        row: tuple[Any, ...],
        summary: ItemSummary,
        n_fields: int,
        field_value: Callable[[str | None], Any],
        summary_values: Any,
        label_values: Callable[[tuple[Any, ...]], str],
    ) -> list[Any]:
        """An item's values of the row's own columns (before the extra ones), flattened."""
        is_gold, gold_value, item_names, texts = row[2 + n_fields :]
        labels = label_values((tuple(item_names), tuple(texts)))
        distribution, majority, status = summary_values(summary)
        return [
            json.loads(row[1]),
            row[0],
            *[field_value(text) for text in row[2 : 2 + n_fields]],
            is_gold,
            field_value(gold_value),
            summary.n_annotations,
            labels,
            distribution,
            majority,
            status,
        ]

    def _spliced_as_dicts(
        self,
        plugin: Any,
        fields: list[str],
        chunk: list[tuple[Any, ...]],
        extra: dict[str, dict[int, Any]],
    ) -> Iterator[dict[str, Any]]:
        """The rows of a chunk read for ``_jsonl_lines`` as ``_dict_rows`` gives them."""
        summaries = _Summaries(plugin, config=self.project.config)
        n_fields = len(fields)
        for row in chunk:
            payload = {
                name: json.loads(text)
                for name, text in zip(fields, row[2 : 2 + n_fields], strict=True)
                if text is not None
            }
            is_gold, gold_value, item_names, texts = row[2 + n_fields :]
            values = [json.loads(text) for text in texts]
            item = ExportItem(
                pk=row[0],
                external_id=json.loads(row[1]),
                payload=payload,
                is_gold=is_gold,
                gold_value=None if gold_value is None else json.loads(gold_value),
            )
            labels = [
                {"annotator": name, "value": value}
                for name, value in zip(item_names, values, strict=True)
            ]
            out = _item_row(plugin, item, labels, summaries(values))
            out.update({column: values_.get(item.pk) for column, values_ in extra.items()})
            yield out


# The items row's columns after its item fields, in order.
_ITEM_COLUMNS = (
    "is_gold",
    "gold_value",
    "n_annotations",
    "labels",
    "label_distribution",
    "majority_label",
    "agreement_status",
)


def _extra_columns(item_ids: list[int]) -> dict[str, dict[int, Any]]:
    """Columns that apps built on this one add (models_runtime: "predictions"; analysis: the
    Dawid-Skene columns) for these items: ``{column: {item_id: value}}``, in the hook's order."""
    extra: dict[str, dict[int, Any]] = {}
    for columns in hooks.item_export_columns(item_ids=item_ids):
        extra.update(columns)
    return extra


_ROW_JSON = json.JSONEncoder(ensure_ascii=False).encode


def _json_text(value: Any) -> str:
    """``value`` as ``jsonl_bytes``'s encoder writes it inside a row, the common kinds first."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float and -_INF < value < _INF:  # finite (NaN and infinities: the encoder's names)
        return float.__repr__(value)
    if kind is list and not value:
        return "[]"
    return _ROW_JSON(value)


_INF = float("inf")


def _json_of_text(text: str) -> str:
    """The JSON text ``text`` (PostgreSQL's) as Python's encoder writes its value."""
    return _ROW_JSON(json.loads(text))


def _label_pattern_texts(convert: Callable[[Any], str]) -> _Bounded:
    """``convert`` of an item's labels ``[{annotator, value}]`` by their pattern ``(names,
    value texts)``, once per pattern (bounded)."""

    def labels(pattern: tuple[Any, ...]) -> str:
        names, texts = pattern
        return convert(
            [
                {"annotator": name, "value": json.loads(text)}
                for name, text in zip(names, texts, strict=True)
            ]
        )

    return _Bounded(labels)


def _header_at(header: list[str]) -> Callable[[tuple[str, Any]], int]:
    return lambda item: header.index(item[0])


class _PerSummary:
    """``make(summary)`` once per summary object (summaries are shared by the items with the
    same label pattern), the cache bounded."""

    def __init__(self, make: Callable[[ItemSummary], Any]) -> None:
        self.make = make
        self.cache: dict[int, tuple[ItemSummary, Any]] = {}

    def __call__(self, summary: ItemSummary) -> Any:
        found = self.cache.get(id(summary))
        if found is None or found[0] is not summary:
            if len(self.cache) >= _Bounded.LIMIT:
                self.cache.clear()
            found = self.cache[id(summary)] = (summary, self.make(summary))
        return found[1]


def _parquet_field_value(text: str | None) -> Any:
    """A payload value from its JSON as PostgreSQL gives it, as ``parquet_bytes`` flattens it."""
    if text is None:
        return None
    if text[0] == '"':
        return scanstring(text, 1)[0]
    return _flat(json.loads(text))


def _csv_field_cell(text: str | None) -> str:
    """A payload value's cell from its JSON as PostgreSQL gives it (``None``: absent)."""
    if text is None:
        return ""
    if text[0] == '"':
        return _csv_text(scanstring(text, 1)[0])
    return _csv_text(json.loads(text))


_HAS_DIGIT = re.compile("[0-9]").search


def _payload_json(text: str | None) -> str:
    """A payload value's JSON as PostgreSQL gives it (``None``: absent), as Python's encoder
    writes the value: PostgreSQL's text itself for a string or a value without a number (the
    same escapes, separators and key order), else decoded and encoded again (PostgreSQL keeps a
    number as written, ``1.50``; Python writes ``1.5``)."""
    if text is None:
        return "null"
    if text[0] == '"' or _HAS_DIGIT(text) is None:
        return text
    return _ROW_JSON(json.loads(text))


def _buffered_lines(
    chunks: Iterable[list[str]], *, progress: Callable[[int], Any], header: bool = False
) -> Iterator[bytes]:
    """Lists of lines, gathered into chunks of about ``FLUSH_BYTES`` characters; ``progress``
    hears of the rows written (with ``header``, the first line is not a row)."""
    buffer: list[str] = []
    size = 0
    uncounted = 1 if header else 0
    for lines in chunks:
        for line in lines:
            buffer.append(line)
            size += len(line)
            if size >= FLUSH_BYTES:
                yield "".join(buffer).encode()
                progress(len(buffer) - uncounted)
                uncounted = 0
                buffer.clear()
                size = 0
    if buffer:
        yield "".join(buffer).encode()
        progress(len(buffer) - uncounted)


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
    item: ExportItem,
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
    sql: bool | None = None,
) -> Iterable[dict[str, Any]]:
    """Rows of one shape; ``options`` are the shape's own, as its task type declares them
    (``ExportShape.options``); one it does not declare is an ``InvalidInput``.

    Annotations of flagged annotators (paused for low gold accuracy or by a lead) are left out
    unless ``include_flagged``. ``sql``: whether PostgreSQL builds the rows (default: when the
    database is PostgreSQL); ``False`` builds the same rows in Python.
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
        return annotation_rows(
            project, identities=identities, include_flagged=include_flagged, sql=sql
        )
    if shape == "items":
        return item_rows(project, identities=identities, include_flagged=include_flagged, sql=sql)
    records = item_records(project, identities=identities, include_flagged=include_flagged, sql=sql)
    rows = extra[shape].rows
    assert rows is not None  # only the platform's own shapes have none
    return rows(records, **checked)


# --- formats


_SORTED_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def _flat(value: Any) -> Any:
    if isinstance(value, dict | list):
        return _SORTED_JSON(value)
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
    """A header of the first row's keys, then each row's cells (nested values as JSON with
    sorted keys, formula-safe), exactly as ``csv.DictWriter`` writes them."""

    def lines() -> Iterator[str]:
        out = io.StringIO()
        dict_writer: csv.DictWriter[str] | None = None
        fields: list[str] = []
        keys: Any = None
        lines: list[str] = []
        size = 0
        for row in rows:
            if dict_writer is None:
                fields = list(row)
                keys = row.keys()
                dict_writer = csv.DictWriter(out, fieldnames=fields, extrasaction="raise")
                dict_writer.writeheader()
                lines.append(out.getvalue())
            if len(fields) > 1 and row.keys() == keys:
                # The usual row: its cells in the header's order, quoted as the csv module
                # quotes them (QUOTE_MINIMAL), joined here (several times faster for long text).
                line = ",".join([_csv_text(row[key]) for key in fields]) + "\r\n"
            else:  # missing or extra keys, or one column: DictWriter itself
                out.seek(0)
                out.truncate()
                dict_writer.writerow({key: _csv_cell(value) for key, value in row.items()})
                line = out.getvalue()
            lines.append(line)
            size += len(line)
            if size >= FLUSH_BYTES:
                yield "".join(lines)
                lines = []
                size = 0
        yield "".join(lines)

    return _buffered(lines())


def _csv_cell(value: Any) -> Any:
    """``csv_safe(_flat(value))``, the common cases first."""
    if isinstance(value, str):
        return csv_safe(value) if value[:1] in _FORMULA_FIRST else value
    if isinstance(value, dict | list):
        return csv_safe(_SORTED_JSON(value))
    return value


def _csv_text(value: Any) -> str:
    """``_csv_cell(value)`` as the csv module writes a cell of a row of several (``""`` for
    None, ``str`` of a number, quoted where it holds a comma, a quote, CR or LF)."""
    value = _csv_cell(value)
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return '"' + value + '"'
    return value


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


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

    def table(names: list[str], columns: list[list[Any]]) -> Any:
        return pa.table(
            {name: pa.array(column) for name, column in zip(names, columns, strict=True)}
        )

    def tables() -> Iterator[Any]:
        # Each batch as ``pa.Table.from_pylist`` of the flattened rows: its first row's keys, a
        # missing key as None, each column's type inferred from its values. The values go into
        # their columns as the rows come (no batch of rows held as dicts).
        names: list[str] | None = None
        columns: list[list[Any]] = []
        n = 0
        for row in rows:
            if names is None:
                names = list(row)
                columns = [[] for _ in names]
            for column, name in zip(columns, names, strict=True):
                column.append(_flat(row.get(name)))
            n += 1
            if n >= batch_rows:
                yield table(names, columns)
                names, columns, n = None, [], 0
        if names is not None:
            yield table(names, columns)

    return _parquet_tables(tables())


def _parquet_tables(tables: Iterable[Any]) -> Iterator[bytes]:
    """A Parquet file of ``tables`` (one row group each), streamed as it is written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = _Drain()
    writer = None
    schema = None
    for table in tables:
        if schema is None:
            # The first batch's types; a column that was all empty there is text, and later
            # values convert to it instead of failing (or truncating silently).
            schema = pa.schema(
                [
                    pa.field(f.name, pa.string() if pa.types.is_null(f.type) else f.type)
                    for f in table.schema
                ]
            )
            writer = pq.ParquetWriter(sink, schema)
        assert writer is not None
        writer.write_table(table.cast(schema))
        yield sink.take()
    if writer is None:
        empty = pa.table({"empty": pa.array([], pa.string())})
        writer = pq.ParquetWriter(sink, empty.schema)
        writer.write_table(empty)
    writer.close()
    yield sink.take()


def export_bytes(
    rows: Iterable[dict[str, Any]], *, fmt: str, progress: Callable[[int], Any] | None = None
) -> Iterator[bytes]:
    """The bytes of ``rows`` in ``fmt``, streamed; ``progress(n)`` hears of every ``n`` rows
    written when given (the annotations shape, written by PostgreSQL, counts newlines)."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})",
            detail=[FieldError("format", f"unknown format {fmt!r}")],
        )
    if isinstance(rows, AnnotationRows) and rows.sql:
        return rows.encoded(fmt, progress=progress or _ignore)
    if isinstance(rows, ItemRows):
        encoded = rows.encoded(fmt, progress=progress or _ignore)
        if encoded is not None:
            return encoded
    if progress is not None:
        rows = _counted_rows(rows, progress)
    if fmt == "jsonl":
        return jsonl_bytes(rows)
    if fmt == "csv":
        return csv_bytes(rows)
    return parquet_bytes(rows)


def _counted_rows(
    rows: Iterable[dict[str, Any]], progress: Callable[[int], Any]
) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield row
        progress(1)


def _ignore(n: int) -> None:
    pass

"""Reads the figures are computed from: reliability matrices and the other facts, in a few queries.

Every read goes through ``annotate.selectors.annotations_for_aggregates``: the annotations of
flagged (paused) annotators are left out. Gold items are checks on the annotators, not work, so
they are left out of agreement too (gold accuracy is read on its own). No query runs per item:
values are read as columns (JSON paths in SQL where the task type gives them) and placed into
NumPy arrays, annotators x items, ``NaN`` where an annotator did not label an item.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Count, Max, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import JSONObject, TruncDate

from annotate.models import Annotation, Item, Membership, Project
from annotate.selectors import annotations_for_aggregates
from annotate.tasktypes.base import AgreementField, SetField
from models_runtime.models import ModelRun, Prediction


def analysis_annotations(*, project: Project) -> QuerySet[Annotation]:
    """The annotations agreement is computed on: flagged annotators' and gold items' left out."""
    return annotations_for_aggregates(project=project).filter(item__is_gold=False)


def analysis_source_key(*, project: Project) -> tuple[str, int]:
    """What the figures depend on, as a short key, and the number of annotations counted.

    Annotations counted and their latest change, the flagged annotators, the finished model runs,
    the items (a re-import changes references and gold) and the project's configuration (the
    derailment threshold, the scale): figures computed under the same key are still right.
    """
    annotations = analysis_annotations(project=project).aggregate(
        n=Count("id"), latest=Max("updated_at")
    )
    flagged = Membership.objects.filter(project=project, flagged=True).aggregate(
        n=Count("id"), latest=Max("status_changed_at")
    )
    runs = ModelRun.objects.filter(project=project, status=ModelRun.Status.DONE).aggregate(
        n=Count("id"), latest=Max("id"), finished=Max("finished_at")
    )
    items = Item.objects.filter(project=project).aggregate(n=Count("id"), latest=Max("updated_at"))
    config = hashlib.sha256(
        json.dumps([project.config, project.overlap], sort_keys=True, default=str).encode()
    ).hexdigest()[:12]
    latest = annotations["latest"].isoformat() if annotations["latest"] else "-"
    flagged_at = flagged["latest"].isoformat() if flagged["latest"] else "-"
    finished = runs["finished"].isoformat() if runs["finished"] else "-"
    key = (
        f"a{annotations['n']}@{latest};f{flagged['n']}@{flagged_at};"
        f"r{runs['n']}:{runs['latest'] or 0}@{finished};"
        f"i{items['n']}@{items['latest'].isoformat() if items['latest'] else '-'};c{config}"
    )
    if len(key) > 200:  # the snapshot's column: a long key is kept as its digest
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key, int(annotations["n"])


@dataclass
class FieldData:
    """One agreement field's values, annotators x items (``NaN`` = no value)."""

    field: AgreementField
    data: np.ndarray
    # For nominal fields read as text: the label of each code (code = index). ``None`` when the
    # values are numbers already.
    codes: list[str] | None = None

    def label(self, code: float) -> str:
        if math.isnan(code):
            return ""
        text = self.codes[int(code)] if self.codes is not None else _number_text(code)
        return str(self.field.value_labels.get(text, text))

    def code_of(self, raw: Any) -> float:
        """The code of a value read in Python (a prediction), consistent with the annotations'."""
        if raw is None:
            return math.nan
        if self.codes is None:
            number = float(raw)
            if self.field.transform is not None:
                number = float(self.field.transform(number))
            return number
        text = raw if isinstance(raw, str) else json.dumps(raw)
        if text not in self.codes:
            self.codes.append(text)
        return float(self.codes.index(text))


@dataclass
class ReliabilityData:
    annotator_ids: np.ndarray
    item_ids: np.ndarray
    fields: dict[str, FieldData] = field(default_factory=dict)

    @property
    def n_annotations(self) -> int:
        if not self.fields:
            return 0
        first = next(iter(self.fields.values()))
        return int(np.count_nonzero(~np.isnan(first.data)))

    def item_index(self) -> dict[int, int]:
        return {int(item_id): column for column, item_id in enumerate(self.item_ids)}


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _path_expression(path: Sequence[str]) -> Any:
    expression: Any = "value"
    for key in path[:-1]:
        expression = KeyTransform(key, expression)
    return KeyTextTransform(path[-1], expression)


def _numbers(column: Iterable[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in column], dtype=float)


def _coded(field_: AgreementField, column: Sequence[Any]) -> tuple[np.ndarray, list[str] | None]:
    """Numbers for ordered levels (and for nominal fields with a transform); codes otherwise."""
    if field_.level != "nominal" or field_.transform is not None:
        numbers = _numbers(column)
        if field_.transform is not None:
            numbers = np.asarray(field_.transform(numbers), dtype=float)
        return numbers, None
    texts = [None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in column]
    codes = sorted({t for t in texts if t is not None})
    index = {text: code for code, text in enumerate(codes)}
    return np.array([math.nan if t is None else index[t] for t in texts], dtype=float), codes


def extract_py(field_: AgreementField, value: Mapping[str, Any], payload: Mapping[str, Any]) -> Any:
    """A field's raw value from an annotation (or prediction) value, in Python."""
    if field_.extract is not None:
        return field_.extract(value, payload)
    current: Any = value
    for key in field_.path:
        if not isinstance(current, Mapping) or key not in current:
            return None
        current = current[key]
    return current


def _needs_codes(field_: AgreementField) -> bool:
    return field_.level == "nominal" and field_.transform is None


def _empty_data(fields: Sequence[AgreementField]) -> ReliabilityData:
    empty = np.empty((0, 0))
    return ReliabilityData(
        annotator_ids=np.array([], dtype=np.int64),
        item_ids=np.array([], dtype=np.int64),
        fields={
            f.name: FieldData(f, empty.copy(), [] if f.level == "nominal" else None) for f in fields
        },
    )


def _array_columns(columns: Sequence[str], inner: str, params: Sequence[Any]) -> list[np.ndarray]:
    """Each of ``columns`` (SQL expressions over ``inner``'s rows, every one a non-null int8 or
    float8; the first two int8) aggregated into one array and sent in PostgreSQL's binary array
    form: one row of a few ``bytea``, read into NumPy with ``np.frombuffer`` (no Python object per
    value). The aggregates of one query see the rows in the same order, so the arrays line up."""
    select = ", ".join(f"array_send(array_agg({column}))" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM ({inner}) AS annotations", list(params))
        row = cursor.fetchone()
    out = []
    for k, sent in enumerate(row or [None] * len(columns)):
        kind = ">i8" if k < 2 else ">f8"
        if sent is None:  # no rows: array_agg is NULL
            out.append(np.empty(0, dtype=kind[1:]))
            continue
        data = bytes(sent)
        # ndim, has-nulls flag, element type; then per dimension its size and lower bound; then
        # per element a 32-bit length (8: no NULLs here) and the big-endian value.
        ndim = int.from_bytes(data[0:4], "big")
        elements = np.frombuffer(
            data, dtype=np.dtype([("n", ">i4"), ("v", kind)]), offset=12 + 8 * ndim
        )
        if (elements["n"] != 8).any():
            raise RuntimeError("unexpected NULL reading the reliability data")
        out.append(elements["v"].astype(kind[1:]))
    return out


def _reliability_data_copy(
    *, project: Project, fields: Sequence[AgreementField]
) -> ReliabilityData:
    """``reliability_data`` when every field is read by path, on PostgreSQL: one query of arrays of
    (annotator, item, one float per path: the number, or the code of the text for nominal fields
    read as text), with text codes ranked in SQL in code-point order (``COLLATE "C"``: the order
    of Python's ``sorted``), and their labels from one small DISTINCT query."""
    paths = sorted({f.path for f in fields})
    aliases = {path: f"v{n}" for n, path in enumerate(paths)}
    base = (
        analysis_annotations(project=project)
        .order_by()
        .annotate(**{alias: _path_expression(path) for path, alias in aliases.items()})
        .values("annotator_id", "item_id", *aliases.values())
    )
    inner, params = base.query.sql_with_params()
    numbers = sorted({f.path for f in fields if not _needs_codes(f)})
    texts = sorted({f.path for f in fields if _needs_codes(f)})
    select = ["annotator_id::int8", "item_id::int8"]
    for path in numbers:
        select.append(f"coalesce(({aliases[path]})::float8, 'NaN'::float8)")
    for path in texts:
        alias = aliases[path]
        select.append(
            f"CASE WHEN {alias} IS NULL THEN 'NaN'::float8 ELSE"
            f' (dense_rank() OVER (ORDER BY {alias} COLLATE "C") - 1)::float8 END'
        )
    # Window functions cannot sit inside an aggregate: rank in a subquery, aggregate outside.
    ranked = f"SELECT {', '.join(f'{e} AS c{k}' for k, e in enumerate(select))} FROM ({inner}) AS a"
    arrays = _array_columns([f"c{k}" for k in range(len(select))], ranked, params)
    if arrays[0].size == 0:
        return _empty_data(fields)
    labels: dict[tuple[str, ...], list[str]] = {}
    with connection.cursor() as cursor:
        for path in texts:
            alias = aliases[path]
            cursor.execute(
                f'SELECT DISTINCT {alias} COLLATE "C" FROM ({inner}) AS annotations'
                f" WHERE {alias} IS NOT NULL ORDER BY 1",
                list(params),
            )
            labels[path] = [row[0] for row in cursor.fetchall()]
    annotator_ids, rows_index = np.unique(arrays[0], return_inverse=True)
    item_ids, columns_index = np.unique(arrays[1], return_inverse=True)
    shape = (len(annotator_ids), len(item_ids))
    result = ReliabilityData(annotator_ids=annotator_ids, item_ids=item_ids)
    column_of = {("n", path): 2 + n for n, path in enumerate(numbers)}
    column_of.update({("t", path): 2 + len(numbers) + n for n, path in enumerate(texts)})
    for field_ in fields:
        codes = labels[field_.path] if _needs_codes(field_) else None
        key = ("t" if codes is not None else "n", field_.path)
        values = arrays[column_of[key]]
        if field_.transform is not None:
            values = np.asarray(field_.transform(values), dtype=float)
        data = np.full(shape, np.nan)
        data[rows_index, columns_index] = values
        result.fields[field_.name] = FieldData(field_, data, None if codes is None else list(codes))
    return result


def reliability_data(*, project: Project, fields: Sequence[AgreementField]) -> ReliabilityData:
    """Every field's annotators x items matrix: on PostgreSQL with every field read by path, one
    query of binary arrays (and a small one per nominal field read as text); otherwise from one
    query of rows (two when a field needs items)."""
    if connection.vendor == "postgresql" and all(f.extract is None for f in fields):
        return _reliability_data_copy(project=project, fields=fields)
    return _reliability_data_rows(project=project, fields=fields)


def _reliability_data_rows(
    *, project: Project, fields: Sequence[AgreementField]
) -> ReliabilityData:
    """``reliability_data`` from rows read into Python (any field, any database)."""
    by_path = [f for f in fields if f.extract is None]
    by_python = [f for f in fields if f.extract is not None]
    paths = sorted({f.path for f in by_path})
    aliases = {path: f"v{n}" for n, path in enumerate(paths)}
    annotations = analysis_annotations(project=project).order_by()
    if aliases:
        annotations = annotations.annotate(
            **{alias: _path_expression(path) for path, alias in aliases.items()}
        )
    columns = ["annotator_id", "item_id", *aliases.values()]
    if by_python:
        columns.append("value")
    rows = list(annotations.values_list(*columns))
    if not rows:
        return _empty_data(fields)
    transposed = list(zip(*rows, strict=True))
    annotator_ids, rows_index = np.unique(
        np.array(transposed[0], dtype=np.int64), return_inverse=True
    )
    item_ids, columns_index = np.unique(
        np.array(transposed[1], dtype=np.int64), return_inverse=True
    )
    shape = (len(annotator_ids), len(item_ids))
    result = ReliabilityData(annotator_ids=annotator_ids, item_ids=item_ids)

    def place(field_: AgreementField, column: Sequence[Any]) -> None:
        values, codes = _coded(field_, column)
        data = np.full(shape, np.nan)
        data[rows_index, columns_index] = values
        result.fields[field_.name] = FieldData(field_, data, codes)

    path_columns = {path: transposed[2 + n] for n, path in enumerate(paths)}
    if by_python:
        values = transposed[-1]
        payloads = item_payloads(item_ids=[int(i) for i in item_ids])
    for field_ in fields:
        if field_.extract is None:
            place(field_, path_columns[field_.path])
        else:
            place(
                field_,
                [
                    field_.extract(value, payloads[item_id])
                    for value, item_id in zip(values, transposed[1], strict=True)
                ],
            )
    return result


def set_units(*, project: Project, fields: Sequence[SetField]) -> dict[str, list[dict[int, Any]]]:
    """Every set field's units: one per (item, key of ``SetField.extract``), each a mapping
    annotator id -> that annotator's elements, in item order (two queries)."""
    if not fields:
        return {}
    rows = list(
        analysis_annotations(project=project)
        .order_by("item_id", "annotator_id")
        .values_list("annotator_id", "item_id", "value")
    )
    payloads = item_payloads(item_ids=sorted({item_id for _a, item_id, _v in rows}))
    out: dict[str, list[dict[int, Any]]] = {}
    for field_ in fields:
        units: dict[tuple[int, str], dict[int, Any]] = {}
        for annotator_id, item_id, value in rows:
            sets = field_.extract(value or {}, payloads.get(item_id, {}))
            for key, elements in (sets or {}).items():
                units.setdefault((item_id, str(key)), {})[annotator_id] = elements
        out[field_.name] = list(units.values())
    return out


def item_payloads(*, item_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    return dict(Item.objects.filter(pk__in=list(item_ids)).values_list("id", "payload"))


@dataclass
class AnnotationFacts:
    """Counted annotations grouped by who and (for position bias) the on-screen side they
    picked: ``counts[n]`` annotations of ``annotator_ids[n]`` picked ``picks[n]``."""

    annotator_ids: list[int]
    picks: list[str | None]
    counts: list[int]


def position_facts(
    *, project: Project, position_pick: Any, value_keys: Sequence[str] | None = None
) -> AnnotationFacts:
    """The on-screen side each counted annotation picked, through the task type's hook.

    With ``value_keys`` (``TaskType.position_keys``: what the hook reads of a value), equal
    (annotator, value, shown order) are counted in SQL and the hook runs once per group; without,
    once per annotation on the whole value."""
    annotations = analysis_annotations(project=project).order_by()
    if value_keys:
        value = JSONObject(**{key: KeyTransform(key, "value") for key in value_keys})
        rows: Iterable[tuple[int, Any, Any, int]] = (
            annotations.annotate(picked=value)
            .values("annotator_id", "picked", "shown_order")
            .annotate(n=Count("id"))
            .values_list("annotator_id", "picked", "shown_order", "n")
        )
    else:
        rows = (
            (annotator_id, value, shown_order, 1)
            for annotator_id, value, shown_order in annotations.values_list(
                "annotator_id", "value", "shown_order"
            ).iterator(chunk_size=5000)
        )
    facts = AnnotationFacts(annotator_ids=[], picks=[], counts=[])
    for annotator_id, value, shown_order, n in rows:
        facts.annotator_ids.append(annotator_id)
        facts.picks.append(position_pick(value, shown_order or {}))
        facts.counts.append(n)
    return facts


def annotations_per_day(*, project: Project) -> list[tuple[str, int]]:
    """Counted annotations per day of first submission, oldest first (the progress chart)."""
    rows = (
        analysis_annotations(project=project)
        .annotate(day=TruncDate("created_at"))
        .order_by("day")
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [(day.isoformat(), n) for day, n in rows]


def done_model_runs(*, project: Project) -> list[ModelRun]:
    runs = ModelRun.objects.filter(project=project, status=ModelRun.Status.DONE)
    return list(runs.order_by("id"))


def run_predictions(*, run: ModelRun) -> list[tuple[int, Any, float | None, Any]]:
    """``(item id, value, score, distribution)`` of every prediction of a run."""
    return list(
        Prediction.objects.filter(run=run)
        .order_by("item_id")
        .values_list("item_id", "value", "score", "distribution")
    )

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
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import TruncDate

from annotate.models import Annotation, Item, Membership, Project
from annotate.selectors import annotations_for_aggregates, flagged_annotators
from annotate.tasktypes.base import AgreementField, SetField
from models_runtime.models import ModelRun, Prediction


def analysis_annotations(*, project: Project) -> QuerySet[Annotation]:
    """The annotations agreement is computed on: flagged annotators' and gold items' left out.

    Gold items are left out by a subquery of the project's gold item ids (a few, read through
    the ``item_gold`` index), not by a join with every item: the items table is wide (payloads)
    and joining it doubled the cost of every full read of the annotations."""
    gold = Item.objects.filter(project=project, is_gold=True).values("pk")
    return annotations_for_aggregates(project=project).exclude(item_id__in=gold)


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


def array_sent(sent: Any, kind: str) -> np.ndarray:
    """A one-dimensional array without NULLs from PostgreSQL's binary form (``array_send``) of
    an int8 (``kind`` ``">i8"``) or float8 (``">f8"``) array, as NumPy: no Python object per
    value. ``None`` (``array_agg`` of no rows) gives an empty array."""
    if sent is None:
        return np.empty(0, dtype=kind[1:])
    data = bytes(sent)
    # ndim, has-nulls flag, element type; then per dimension its size and lower bound; then
    # per element a 32-bit length (8: no NULLs here) and the big-endian value.
    ndim = int.from_bytes(data[0:4], "big")
    elements = np.frombuffer(
        data, dtype=np.dtype([("n", ">i4"), ("v", kind)]), offset=12 + 8 * ndim
    )
    if (elements["n"] != 8).any():
        raise RuntimeError("unexpected NULL in an array read from the database")
    return elements["v"].astype(kind[1:])


@dataclass
class AnnotationGroups:
    """What ``analysis_reads`` gives besides the reliability data, from the same read:
    ``position``, the counted annotations grouped by (annotator, the values of the position keys,
    shown order) with their count, when position keys were asked for; ``times_ms``, every
    annotator's recorded times spent (all the project's annotations: gold items and flagged
    annotators too, as on the quality page), when asked for."""

    position: list[tuple[int, dict[str, Any], Any, int]] | None = None
    times_ms: dict[int, np.ndarray] | None = None


def _json(value: Any) -> Any:
    """A JSON value read by a raw cursor as text (``NULL``, a missing key, gives ``None``)."""
    return json.loads(value) if isinstance(value, str) else value


def _reliability_data_arrays(
    *,
    project: Project,
    fields: Sequence[AgreementField],
    position_keys: Sequence[str] = (),
    times: bool = False,
) -> tuple[ReliabilityData, AnnotationGroups]:
    """``reliability_data`` when every field is read by path, on PostgreSQL: one query, its rows
    the annotators (with ``position_keys``: the groups of ``AnnotationGroups.position``), each
    with arrays of its items and of one float per path (the number, or the code of the text for
    nominal fields read as text), aggregated and sent in PostgreSQL's binary array form and read
    by ``array_sent`` (no Python object per value). Text codes are ranked in SQL in code-point
    order (``COLLATE "C"``: the order of Python's ``sorted``), their labels read by one small
    DISTINCT query. With ``times``, the rows read are all the project's annotations, the ones
    counted in the analysis marked, and the times spent come as one more array."""
    paths = sorted({f.path for f in fields})
    aliases = {path: f"v{n}" for n, path in enumerate(paths)}
    counted = analysis_annotations(project=project)
    if times:
        gold = Item.objects.filter(project=project, is_gold=True).values("pk")
        base = Annotation.objects.filter(project=project).annotate(
            counted=ExpressionWrapper(
                ~Q(annotator_id__in=flagged_annotators(project=project)) & ~Q(item_id__in=gold),
                output_field=BooleanField(),
            )
        )
    else:
        base = counted.annotate(counted=Value(True, output_field=BooleanField()))
    keys = {f"g{n}": KeyTransform(key, "value") for n, key in enumerate(position_keys)}
    inner, params = (
        base.order_by()
        .annotate(**{alias: _path_expression(path) for path, alias in aliases.items()}, **keys)
        .values(
            "annotator_id",
            "item_id",
            "counted",
            "time_spent_ms",
            "shown_order",
            *keys,
            *aliases.values(),
        )
        .query.sql_with_params()
    )
    numbers = sorted({f.path for f in fields if not _needs_codes(f)})
    texts = sorted({f.path for f in fields if _needs_codes(f)})
    select = ["item_id::int8"]
    for path in numbers:
        select.append(f"coalesce(({aliases[path]})::float8, 'NaN'::float8)")
    for path in texts:
        alias = aliases[path]
        ranked_value = f"CASE WHEN counted THEN {alias} END"
        select.append(
            f"CASE WHEN {ranked_value} IS NULL THEN 'NaN'::float8 ELSE"
            f' (dense_rank() OVER (ORDER BY {ranked_value} COLLATE "C") - 1)::float8 END'
        )
    # Window functions cannot sit inside an aggregate: rank in a subquery, aggregate outside.
    # The position groups are keyed by the JSON values' text (canonical for jsonb, so equal
    # values have equal text, read back by ``_json``): hashing and comparing text costs PostgreSQL
    # a fraction of what jsonb keys cost. Numbers equal as jsonb but written differently (1 and
    # 1.0) fall into separate groups, which the counts per annotator and pick add up again.
    group = ["annotator_id", *keys, *(["shown_order"] if keys else [])]
    group_by = ["annotator_id", *(f"{column}::text" for column in group[1:])]
    columns = ", ".join(f"{e} AS c{k}" for k, e in enumerate(select))
    aggregates = [
        "count(*) FILTER (WHERE counted)",
        *(f"array_send(array_agg(c{k}) FILTER (WHERE counted))" for k in range(len(select))),
        "array_send(array_agg(time_spent_ms::int8) FILTER (WHERE time_spent_ms IS NOT NULL))"
        if times
        else "NULL",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(group_by)}, {', '.join(aggregates)} FROM"
            f" (SELECT {', '.join(group)}, counted, time_spent_ms, {columns}"
            f" FROM ({inner}) AS a) AS annotations GROUP BY {', '.join(group_by)}",
            list(params),
        )
        rows = cursor.fetchall()
    n_group = len(group)
    groups = AnnotationGroups()
    if times:
        spent: dict[int, list[np.ndarray]] = {}
        for row in rows:
            spent.setdefault(int(row[0]), []).append(array_sent(row[-1], ">i8"))
        groups.times_ms = {a: np.concatenate(v) for a, v in spent.items()}
    if keys:
        groups.position = [
            (
                int(row[0]),
                {
                    key: _json(v)
                    for key, v in zip(position_keys, row[1 : 1 + len(keys)], strict=True)
                },
                _json(row[n_group - 1]),
                int(row[n_group]),
            )
            for row in rows
            if row[n_group]
        ]
    rows = [row for row in rows if row[n_group]]
    if not rows:
        return _empty_data(fields), groups
    arrays = [
        np.concatenate(
            [array_sent(row[n_group + 1 + k], ">i8" if k == 0 else ">f8") for row in rows]
        )
        for k in range(len(select))
    ]
    labels: dict[tuple[str, ...], list[str]] = {}
    if texts:
        labels_inner, labels_params = (
            counted.order_by()
            .annotate(**{aliases[path]: _path_expression(path) for path in texts})
            .values(*(aliases[path] for path in texts))
            .query.sql_with_params()
        )
        with connection.cursor() as cursor:
            for path in texts:
                alias = aliases[path]
                cursor.execute(
                    f'SELECT DISTINCT {alias} COLLATE "C" FROM ({labels_inner}) AS annotations'
                    f" WHERE {alias} IS NOT NULL ORDER BY 1",
                    list(labels_params),
                )
                labels[path] = [row[0] for row in cursor.fetchall()]
    # Each row's annotator, repeated over the row's values: the unique of the few rows' ids.
    annotator_ids, row_annotator = np.unique(
        np.array([row[0] for row in rows], dtype=np.int64), return_inverse=True
    )
    rows_index = np.repeat(np.asarray(row_annotator).ravel(), [int(row[n_group]) for row in rows])
    item_ids, columns_index = unique_ids(arrays[0])
    shape = (len(annotator_ids), len(item_ids))
    result = ReliabilityData(annotator_ids=annotator_ids, item_ids=item_ids)
    column_of = {("n", path): 1 + n for n, path in enumerate(numbers)}
    column_of.update({("t", path): 1 + len(numbers) + n for n, path in enumerate(texts)})
    for field_ in fields:
        codes = labels[field_.path] if _needs_codes(field_) else None
        key = ("t" if codes is not None else "n", field_.path)
        values = arrays[column_of[key]]
        if field_.transform is not None:
            values = np.asarray(field_.transform(values), dtype=float)
        data = np.full(shape, np.nan)
        data[rows_index, columns_index] = values
        result.fields[field_.name] = FieldData(field_, data, None if codes is None else list(codes))
    return result, groups


def unique_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(ids, return_inverse=True)`` of int64 ids, without sorting when their range is
    at most a few times their count (a table of the ids present over it): the same two arrays."""
    if ids.size == 0:
        return np.unique(ids, return_inverse=True)
    low, high = int(ids.min()), int(ids.max())
    if high - low >= 4 * ids.size + 1024:
        unique, inverse = np.unique(ids, return_inverse=True)
        return unique, np.asarray(inverse).ravel()
    present = np.zeros(high - low + 1, dtype=bool)
    offsets = ids - low
    present[offsets] = True
    position = np.cumsum(present, dtype=np.intp) - 1
    return (np.flatnonzero(present) + low).astype(ids.dtype), position[offsets]


def reliability_data(*, project: Project, fields: Sequence[AgreementField]) -> ReliabilityData:
    """Every field's annotators x items matrix: on PostgreSQL with every field read by path, one
    query of binary arrays (and a small one per nominal field read as text); otherwise from one
    query of rows (two when a field needs items)."""
    if _arrays_apply(fields):
        return _reliability_data_arrays(project=project, fields=fields)[0]
    return _reliability_data_rows(project=project, fields=fields)


def _arrays_apply(fields: Sequence[AgreementField]) -> bool:
    return connection.vendor == "postgresql" and all(f.extract is None for f in fields)


def analysis_reads(
    *,
    project: Project,
    fields: Sequence[AgreementField],
    position_pick: Any = None,
    position_keys: Sequence[str] | None = None,
) -> tuple[ReliabilityData, AnnotationFacts | None, dict[int, float]]:
    """What the dashboard reads of the annotations: ``reliability_data``, ``position_facts``
    (``None`` without ``position_pick``) and ``median_ms_by_annotator``. On PostgreSQL, with every
    field read by path and the position keys known, one read of the annotations gives all three;
    otherwise each is read on its own."""
    if not _arrays_apply(fields) or (position_pick is not None and not position_keys):
        rd = reliability_data(project=project, fields=fields)
        facts = (
            position_facts(project=project, position_pick=position_pick, value_keys=position_keys)
            if position_pick is not None
            else None
        )
        return rd, facts, median_ms_by_annotator(project=project)
    rd, groups = _reliability_data_arrays(
        project=project, fields=fields, position_keys=position_keys or (), times=True
    )
    facts = _picks(groups.position or [], position_pick) if position_pick is not None else None
    return rd, facts, _medians(groups.times_ms or {})


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
        # Grouped by each key's JSON value (not by an object built per row: cheaper to build
        # and to hash); a missing key reads as None, as in ``JSONObject``.
        keys = {f"k{n}": key for n, key in enumerate(value_keys)}
        grouped = (
            annotations.annotate(
                **{alias: KeyTransform(key, "value") for alias, key in keys.items()}
            )
            .values("annotator_id", *keys, "shown_order")
            .annotate(n=Count("id"))
            .values_list("annotator_id", *keys, "shown_order", "n")
        )
        rows: Iterable[tuple[int, Any, Any, int]] = (
            (row[0], dict(zip(keys.values(), row[1:-2], strict=True)), row[-2], row[-1])
            for row in grouped
        )
    else:
        rows = (
            (annotator_id, value, shown_order, 1)
            for annotator_id, value, shown_order in annotations.values_list(
                "annotator_id", "value", "shown_order"
            ).iterator(chunk_size=5000)
        )
    return _picks(rows, position_pick)


def _picks(rows: Iterable[tuple[int, Any, Any, int]], position_pick: Any) -> AnnotationFacts:
    """``AnnotationFacts`` of (annotator, value, shown order, count) groups, through the hook."""
    facts = AnnotationFacts(annotator_ids=[], picks=[], counts=[])
    for annotator_id, value, shown_order, n in rows:
        facts.annotator_ids.append(annotator_id)
        facts.picks.append(position_pick(value, shown_order or {}))
        facts.counts.append(n)
    return facts


def median_ms_by_annotator(*, project: Project) -> dict[int, float]:
    """Each annotator's median ``time_spent_ms`` over every annotation of the project with one
    (gold items and flagged annotators included, as on the quality page); the median of an even
    count is the mean of the middle two, as ``PERCENTILE_CONT(0.5)``."""
    annotations = Annotation.objects.filter(project=project, time_spent_ms__isnull=False).order_by()
    times: list[tuple[int, np.ndarray]]
    if connection.vendor == "postgresql":  # each annotator's times as one binary array
        inner, params = annotations.values("annotator_id", "time_spent_ms").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT annotator_id, array_send(array_agg(time_spent_ms::int8))"
                f" FROM ({inner}) AS annotations GROUP BY annotator_id",
                list(params),
            )
            times = [(a, array_sent(sent, ">i8")) for a, sent in cursor.fetchall()]
    else:
        grouped: dict[int, list[int | None]] = {}
        for annotator_id, spent in annotations.values_list("annotator_id", "time_spent_ms"):
            grouped.setdefault(annotator_id, []).append(spent)
        times = [(a, np.array(v, dtype=np.int64)) for a, v in grouped.items()]
    return _medians(dict(times))


def _medians(times_ms: Mapping[int, np.ndarray]) -> dict[int, float]:
    return {int(a): float(np.median(t)) for a, t in times_ms.items() if t.size}


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

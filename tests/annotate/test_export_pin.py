"""Pin: every shape x format of the export gives the bytes (Parquet: the parsed rows) that the
Python row builders of session 3 gave, before PostgreSQL built the rows (issue #11, point 2).

``_Reference`` below is a frozen copy of those builders and writers; the data is built to catch
what a SQL rewrite gets wrong: several annotators, resubmissions (version 2, a later
``updated_at``), a flagged annotator, identities on and off, unicode, quotes, backslashes,
newlines and tabs, formula-looking strings, NULLs, timestamps with and without microseconds.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import connection

from annotate import exporting, hooks
from annotate.models import Annotation, Item, Membership
from annotate.selectors import annotations_for_aggregates
from annotate.tasktypes import get_task_type
from core.spreadsheet import csv_safe
from tests.analysis.conftest import add_value
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.typedata import structure_value, thread_record, tom_record

TRICKY = [
    'He said "hi", then\nleft;\ttab\\back\\slash',
    "=SUM(A1:A9)",
    "-1",
    "+cmd|' /C calc'!A0",
    "@handle",
    "ünïcödé — 漢字 🙂 \u2028 end",
    "",
    "\r carriage",
]


# --- the frozen reference (annotate/exporting.py as it was before the rewrite)


class _Reference:
    CHUNK = 2000

    @staticmethod
    def namer(project, identities):
        if identities:
            return lambda user_id, username: username
        return lambda user_id, username: exporting.annotator_pseudonym(
            project_id=project.pk, user_id=user_id
        )

    @classmethod
    def annotation_rows(cls, project, *, identities, include_flagged):
        name = cls.namer(project, identities)
        annotations = annotations_for_aggregates(project=project, include_flagged=include_flagged)
        for a in annotations.select_related("item", "annotator").order_by("pk"):
            yield {
                "annotation_id": a.pk,
                "external_id": a.item.external_id,
                "item_id": a.item_id,
                "annotator": name(a.annotator_id, a.annotator.username),
                "value": a.value,
                "shown_order": a.shown_order,
                "time_spent_ms": a.time_spent_ms,
                "version": a.version,
                "created_at": a.created_at.isoformat(),
                "updated_at": a.updated_at.isoformat(),
            }

    @classmethod
    def item_records(cls, project, *, identities, include_flagged):
        plugin = get_task_type(project.task_type)
        name = cls.namer(project, identities)
        annotations = annotations_for_aggregates(project=project, include_flagged=include_flagged)
        labels: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for a in annotations.select_related("annotator").order_by("item_id", "pk"):
            labels[a.item_id].append(
                {"annotator": name(a.annotator_id, a.annotator.username), "value": a.value}
            )
        for item in Item.objects.filter(project=project).order_by("pk"):
            item_labels = labels.get(item.pk, [])
            values = [label["value"] for label in item_labels]
            yield item, item_labels, plugin.summarize(values, config=project.config)

    @classmethod
    def item_rows(cls, project, *, identities, include_flagged):
        plugin = get_task_type(project.task_type)
        records = list(
            cls.item_records(project, identities=identities, include_flagged=include_flagged)
        )
        extra: dict[str, dict[int, Any]] = {}
        for columns in hooks.item_export_columns(item_ids=[item.pk for item, _, _ in records]):
            extra.update(columns)
        for item, labels, summary in records:
            row = {
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
            row.update({column: values.get(item.pk) for column, values in extra.items()})
            yield row

    @classmethod
    def rows(cls, project, *, shape, identities, include_flagged, options):
        if shape == "annotations":
            return cls.annotation_rows(
                project, identities=identities, include_flagged=include_flagged
            )
        if shape == "items":
            return cls.item_rows(project, identities=identities, include_flagged=include_flagged)
        spec = {s.name: s for s in get_task_type(project.task_type).export_shapes()}[shape]
        records = cls.item_records(project, identities=identities, include_flagged=include_flagged)
        return spec.rows(records, **options)

    @staticmethod
    def flat(value):
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return value

    @staticmethod
    def jsonl(rows) -> bytes:
        dumps = json.JSONEncoder(ensure_ascii=False).encode
        return "".join(dumps(row) + "\n" for row in rows).encode()

    @classmethod
    def csv(cls, rows) -> bytes:
        out = io.StringIO()
        writer = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row), extrasaction="raise")
                writer.writeheader()
            writer.writerow({key: csv_safe(cls.flat(value)) for key, value in row.items()})
        return out.getvalue().encode()

    @classmethod
    def parquet_rows(cls, rows) -> list[dict]:
        flat = [{key: cls.flat(value) for key, value in row.items()} for row in rows]
        if not flat:
            return []
        inferred = pa.Table.from_pylist(flat).schema
        schema = pa.schema(
            [
                pa.field(f.name, pa.string() if pa.types.is_null(f.type) else f.type)
                for f in inferred
            ]
        )
        return pa.Table.from_pylist(flat).cast(schema).to_pylist()


# --- the data


def _when(day: int, micro: int = 0) -> datetime:
    return datetime(2024, 3, day, 9, 30, 15, micro, tzinfo=UTC)


def _make_project(task_type: str, config: dict | None = None):
    lead = UserFactory(username=f"lead-{task_type}")
    project = ProjectFactory(created_by=lead, task_type=task_type, overlap=3, config=config or {})
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    names = ["ann=1", 'bo "quoted"', "çà漢", "flagged"]
    users = []
    for name in names:
        user = UserFactory(username=f"{task_type}-{name}")
        MembershipFactory(
            project=project, user=user, role=Membership.Role.ANNOTATOR, flagged=name == "flagged"
        )
        users.append(user)
    return project, users


def _items(project, payloads: list[tuple[str, dict]], *, gold: dict[int, dict] | None = None):
    items = []
    for n, (external_id, payload) in enumerate(payloads):
        gold_value = (gold or {}).get(n)
        items.append(
            Item.objects.create(
                project=project,
                external_id=external_id,
                payload=payload,
                is_gold=gold_value is not None,
                gold_value=gold_value,
            )
        )
    return items


def _annotate(items, users, value_of) -> None:
    """Each user labels each item ``value_of(n_item, n_user)`` gives a value for (None: not);
    every third annotation is resubmitted (version 2, a later update); times vary, some NULL."""
    count = 0
    for i, item in enumerate(items):
        for u, user in enumerate(users):
            value = value_of(i, u)
            if value is None:
                continue
            count += 1
            annotation = add_value(
                item,
                user,
                value,
                shown={"left": "b", "right": "a"} if count % 2 else {},
                when=_when(1 + i % 5, 0 if count % 4 == 0 else 123456 + count),
            )
            changes: dict[str, Any] = {"time_spent_ms": None if count % 5 == 0 else 1000 * count}
            if count % 3 == 0:
                changes.update(version=2, updated_at=annotation.created_at + timedelta(hours=1))
            Annotation.objects.filter(pk=annotation.pk).update(**changes)


def _pair_payload(n: int) -> dict:
    text = TRICKY[n % len(TRICKY)]
    return {
        "prompt": text or "plain prompt",
        "context": [{"role": "user", "content": TRICKY[(n + 1) % len(TRICKY)]}] if n % 2 else [],
        "response_a": f"A {n}: {TRICKY[(n + 2) % len(TRICKY)]}",
        "response_b": f"B {n}",
        "model_a": "m-x" if n % 3 else None,
        "model_b": "=m-y",
        "metadata": {"z": 1, "a": [TRICKY[n % len(TRICKY)]], "mid": {"k2": None, "k1": 1.5}},
    }


# Votes of the four annotators (the last is flagged) on each pair; None: no vote.
PAIR_VOTES = [
    (-2, -1, -1, 2),
    (-1, 1, None, -2),  # mean of the unflagged exactly 0: a tie
    (-2, 2, 1, None),
    (0, 0, 1, 0),
    (None, None, None, None),
    (1, 1, None, 2),
    (0, 0, -2, -2),
    (2, -1, None, None),
    (0, 0, 0, 0),  # all ties: mean 0
]


def _pair_value(vote: int, n: int, u: int) -> dict:
    return {
        "preference": vote,
        "aspects": {"helpfulness": vote, "honesty": -vote} if n % 2 else {},
        "rationale": TRICKY[(n + u) % len(TRICKY)],
        "flags": ["off topic"] if (n + u) % 3 == 0 else [],
    }


def preference_pair_project():
    project, users = _make_project("preference_pair")
    items = _items(
        project,
        [(f"{TRICKY[n % 3]}-pair-{n}", _pair_payload(n)) for n in range(len(PAIR_VOTES))],
        gold={3: {"preference": 0, "aspects": {}, "rationale": "", "flags": []}},
    )
    _annotate(
        items,
        users,
        lambda i, u: None if PAIR_VOTES[i][u] is None else _pair_value(PAIR_VOTES[i][u], i, u),
    )
    return project


def derailment_project():
    project, users = _make_project("derailment")
    payloads = []
    for n in range(4):
        record = thread_record(n)
        record.pop("external_id")
        record["title"] = TRICKY[n]
        if n == 1:
            record["reference"] = {
                "value": {
                    "toxic": True,
                    "toxic_comment": "t1c2",
                    "derailment_comment": "t1c1",
                    "tones": {},
                }
            }
        payloads.append((f"thread-{n}", record))
    items = _items(project, payloads)

    def value(i, u):
        if (i + u) % 4 == 3:
            return None
        derails = None if (i + u) % 3 == 0 else f"t{i}c{1 + (i + u) % 3}"
        return {
            "toxic": bool((i + u) % 2),
            "toxic_comment": f"t{i}c2" if (i + u) % 2 else None,
            "derailment_comment": derails,
            "tones": {f"t{i}c1": ["Mocking", TRICKY[u]]} if u % 2 else {},
        }

    _annotate(items, users, value)
    return project


def tom_project():
    project, users = _make_project("tom")
    payloads = []
    for n in range(3):
        record = tom_record(n)
        record.pop("external_id")
        record["story"] = TRICKY[n + 1] or "story"
        payloads.append((f"story-{n}", record))
    items = _items(project, payloads)
    question_ids = [q["id"] for q in payloads[0][1]["questions"]]

    def value(i, u):
        if (i + u) % 5 == 4:
            return None
        answers = {qid: "AB"[(i + u + k) % 2] for k, qid in enumerate(question_ids)}
        confidence = {question_ids[0]: 1 + (i + u) % 5} if u % 2 else {}
        return {"answers": answers, "confidence": confidence}

    _annotate(items, users, value)
    return project


def visual_argument_project():
    project, users = _make_project("visual_argument", {"mode": "structure"})
    payloads = []
    for n in range(3):
        payload: dict[str, Any] = {
            "image": {"path": f"images/{n}-{TRICKY[n][:3]}.png", "width": 200, "height": 100},
            "metadata": {"caption": TRICKY[n]},
        }
        if n == 0:
            payload["reference"] = structure_value(conclusion=TRICKY[0])
        payloads.append((f"image-{n}", payload))
    items = _items(project, payloads)

    def value(i, u):
        if (i + u) % 4 == 1:
            return None
        return structure_value(conclusion=TRICKY[(i + u) % len(TRICKY)] or "done")

    _annotate(items, users, value)
    return project


PROJECTS = {
    "preference_pair": preference_pair_project,
    "derailment": derailment_project,
    "tom": tom_project,
    "visual_argument": visual_argument_project,
}


def _shapes(task_type: str) -> list[tuple[str, dict[str, str]]]:
    shapes: list[tuple[str, dict[str, str]]] = [("annotations", {}), ("items", {})]
    for spec in get_task_type(task_type).export_shapes():
        shapes.append((spec.name, {}))
        for option in spec.options:
            for choice in option.values():
                shapes.append((spec.name, {option.name: choice}))
    return shapes


def _exported(project, *, shape, fmt, identities, include_flagged, options, sql) -> bytes:
    rows = exporting.export_rows(
        project,
        shape=shape,
        identities=identities,
        options=options,
        include_flagged=include_flagged,
        sql=sql,
    )
    return b"".join(exporting.export_bytes(rows, fmt=fmt))


def _reference_rows(project, *, shape, identities, include_flagged, options) -> list[dict]:
    return list(
        _Reference.rows(
            project,
            shape=shape,
            identities=identities,
            include_flagged=include_flagged,
            options=options,
        )
    )


@pytest.mark.parametrize("sql", [True, False], ids=["postgresql", "python"])
@pytest.mark.parametrize("task_type", list(PROJECTS))
def test_every_shape_and_format_gives_the_pinned_bytes(db, task_type, sql):
    """Both paths: PostgreSQL building the rows, and Python building them (other databases)."""
    project = PROJECTS[task_type]()
    checked = 0
    for shape, options in _shapes(task_type):
        for identities in (False, True):
            for include_flagged in (False, True):
                where = f"{shape} {options} identities={identities} flagged={include_flagged}"
                expected = _reference_rows(
                    project,
                    shape=shape,
                    identities=identities,
                    include_flagged=include_flagged,
                    options=options,
                )
                kwargs = dict(
                    shape=shape,
                    identities=identities,
                    include_flagged=include_flagged,
                    options=options,
                    sql=sql,
                )
                jsonl = _exported(project, fmt="jsonl", **kwargs)
                assert jsonl == _Reference.jsonl(expected), where
                assert _exported(project, fmt="csv", **kwargs) == _Reference.csv(expected), where
                parquet = _exported(project, fmt="parquet", **kwargs)
                table = pq.read_table(io.BytesIO(parquet))
                if expected:
                    assert table.to_pylist() == _Reference.parquet_rows(expected), where
                    assert table.column_names == list(expected[0]), where
                else:
                    assert table.num_rows == 0, where
                checked += 1
    assert checked >= 8


def test_the_pin_data_has_what_it_claims(db):
    """Guards the fixture: resubmissions, NULL times, a flagged annotator's labels, microsecond
    and whole-second timestamps, and formula-looking strings are really in the data."""
    project = preference_pair_project()
    annotations = Annotation.objects.filter(project=project)
    assert annotations.filter(version=2).exists()
    assert annotations.filter(time_spent_ms__isnull=True).exists()
    assert annotations.filter(annotator__memberships__flagged=True).exists()
    micros = {a.created_at.microsecond == 0 for a in annotations}
    assert micros == {True, False}
    assert Item.objects.filter(project=project, external_id__startswith="=").exists()


@pytest.mark.parametrize("task_type", list(PROJECTS))
def test_summaries_computed_once_per_label_pattern_equal_each_items_own(db, task_type):
    """The export summarizes once per sequence of ``summary_key``s; each item's summary is
    still what the type's ``summarize`` gives for its own labels (ItemSummary equality)."""
    project = PROJECTS[task_type]()
    plugin = get_task_type(task_type)
    records = list(exporting.item_records(project, include_flagged=True))
    for _item, labels, summary in records:
        assert summary == plugin.summarize([lab["value"] for lab in labels], config=project.config)
    assert plugin.summary_key() is not None  # every type declares what its summary reads


def test_csv_rows_are_written_as_the_csv_module_writes_them():
    """``csv_bytes`` joins the usual rows' cells itself: the same bytes as ``csv.DictWriter``
    for every kind of cell (text that needs quoting, numbers, booleans, None, nested values),
    and for rows with missing keys or a single column (DictWriter itself)."""
    cells: list[Any] = [*TRICKY, 'quo"te', "a,b", "\n", 0, -1, 1.5, 1e-07, 10**20, True, False]
    cells += [None, {"b": [1, 2.5], "a": "=x"}, ["-y", None], {}, [], 'x"\r\n,y']
    rows = [{"first": cell, "second": cells[-1 - n], "third": n} for n, cell in enumerate(cells)]
    rows.append({"third": 1, "first": "keys in another order"})  # a missing key
    single = [{"only": ""}, {"only": "=1"}, {"only": None}]
    for batch in (rows, single):
        written = b"".join(exporting.csv_bytes(iter(batch)))
        assert written == _Reference.csv(batch)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_items_spliced_from_texts_give_the_bytes_of_the_row_dicts(db, monkeypatch, fmt):
    """On PostgreSQL the items shape is written from texts (``ItemRows.encoded``): the same bytes
    as its row dicts through the generic writers, with payload numbers PostgreSQL keeps as
    written (``1.50``), and chunks whose extra columns take an item column's name, or lack one
    the first chunk has (CSV: an empty cell; Parquet: None)."""
    project = preference_pair_project()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotate_item SET payload = jsonb_set(payload, '{metadata,w}',"
            ' \'[1.50, 2.0e0, 1e2, {"b": 0.10, "a": "=1"}]\'::jsonb)'
            " WHERE project_id = %s AND id %% 2 = 0",
            [project.pk],
        )
        cursor.execute(
            "UPDATE annotate_item SET payload = payload - 'model_a' WHERE project_id = %s"
            " AND id %% 3 = 0",
            [project.pk],
        )
    first = Item.objects.filter(project=project).order_by("pk").first().pk
    monkeypatch.setattr(exporting, "CHUNK", 2)

    def columns(*, item_ids):
        kind = (min(item_ids) - first) // 2 % 3
        if kind == 0:  # named as an item column: the dicts keep its place, take this value
            return {"n_annotations": dict.fromkeys(item_ids, 99), "extra": {item_ids[0]: [1.50]}}
        if kind == 1:
            return {"extra": {i: [i, "=y", None] for i in item_ids}}
        return {}  # no "extra" column

    hooks.item_export_columns.connect(columns)
    try:
        for identities in (False, True):
            kwargs = dict(shape="items", identities=identities, include_flagged=True, sql=True)
            rows = exporting.export_rows(project, **kwargs)
            assert rows.encoded(fmt, progress=lambda n: None) is not None  # the spliced path
            spliced = b"".join(exporting.export_bytes(rows, fmt=fmt))
            dicts = list(exporting.export_rows(project, **kwargs))
            assert any(row["n_annotations"] == 99 for row in dicts)
            assert b"".join(exporting.export_bytes(iter(dicts), fmt=fmt)) == spliced, identities
    finally:
        hooks.item_export_columns.disconnect(columns)

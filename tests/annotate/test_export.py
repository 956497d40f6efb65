"""Export: shapes × formats with exact rows, filters, pseudonyms, bad parameters and streaming."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analysis.figures import dawid_skene
from annotate import exporting, services
from annotate.models import Annotation, Assignment, Item
from core.errors import InvalidInput
from tests.conftest import jsonl
from tests.factories import pair_record

# Votes of ann1, ann2, ann3 on each item (None: that annotator skipped it), and what follows.
# fmt: off
VOTES = {
    "pair-0": (-2, -1, -1),        # all for A
    "pair-1": (-1, 1, 0),          # both sides, mean exactly 0: no pair
    "pair-2": (-2, 2, 1),          # both sides with a "much better"
    "pair-3": (0, 0, 1),           # a majority of ties
    "pair-4": (None, None, None),  # nobody voted: no pair
    "pair-5": (1, 1, None),        # two votes, both for B
    "pair-6": (0, 0, -2),          # ties against a "much better" for A
    "pair-7": (2, -1, None),       # two votes, one each side: majority tie, mean 0.5
}
SUMMARIES = {
    # external_id: (votes at -2, -1, 0, 1, 2), majority_label, agreement_status
    "pair-0": ((1, 2, 0, 0, 0), -1,   "high_agreement_preference"),
    "pair-1": ((0, 1, 1, 1, 0), None, "diverging"),
    "pair-2": ((1, 0, 0, 1, 1), None, "diverging_significant"),
    "pair-3": ((0, 0, 2, 1, 0), 0,    "high_agreement_tie"),
    "pair-4": ((0, 0, 0, 0, 0), None, None),
    "pair-5": ((0, 0, 0, 2, 0), 1,    "high_agreement_preference"),
    "pair-6": ((1, 0, 2, 0, 0), 0,    "mixed"),
    "pair-7": ((0, 1, 0, 0, 1), None, "diverging_significant"),
}
PAIRS = {
    # external_id: (chosen side, margin, n_annotators)
    "pair-0": ("a", Fraction(4, 3), 3),
    "pair-2": ("b", Fraction(1, 3), 3),
    "pair-3": ("b", Fraction(1, 3), 3),
    "pair-5": ("b", Fraction(1),    2),
    "pair-6": ("a", Fraction(2, 3), 3),
    "pair-7": ("b", Fraction(1, 2), 2),
}
# fmt: on
DIVERGING = {"pair-2", "pair-7"}

ANNOTATION_COLUMNS = [
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
]
ITEM_COLUMNS = [
    "external_id",
    "item_id",
    "prompt",
    "context",
    "response_a",
    "response_b",
    "model_a",
    "model_b",
    "metadata",
    "is_gold",
    "gold_value",
    "n_annotations",
    "labels",
    "label_distribution",
    "majority_label",
    "agreement_status",
    # The analysis app's Dawid-Skene columns (tests/analysis/test_dawid_skene.py checks them).
    "dawid_skene_label",
    "dawid_skene_posterior",
    "predictions",
]
PAIR_COLUMNS = [
    "external_id",
    "prompt",
    "context",
    "chosen",
    "rejected",
    "chosen_model",
    "rejected_model",
    "margin",
    "vote_distribution",
    "agreement_status",
    "n_annotators",
    "tie",
]
COLUMNS = {
    "annotations": ANNOTATION_COLUMNS,
    "items": ITEM_COLUMNS,
    "preference_pairs": PAIR_COLUMNS,
}


def _value(vote: int) -> dict:
    return {"preference": vote, "aspects": {}, "rationale": "", "flags": []}


def _distribution(counts) -> dict[str, int]:
    return {str(vote): n for vote, n in zip((-2, -1, 0, 1, 2), counts, strict=True)}


def cast_votes(project, annotators, votes=VOTES) -> None:
    """Each annotator takes items with ``next`` until none is left, and votes as the table says."""
    for index, user in enumerate(annotators):
        while assignment := services.assignment_reserve_next(project=project, annotator=user):
            vote = votes[assignment.item.external_id][index]
            if vote is None:
                services.assignment_skip(assignment_id=assignment.pk, annotator=user)
            else:
                services.annotation_submit(
                    assignment_id=assignment.pk, annotator=user, value={"preference": vote}
                )


@pytest.fixture
def voted(project, make_annotator, import_pairs):
    import_pairs(len(VOTES))
    annotators = [make_annotator(f"ann{i}") for i in (1, 2, 3)]
    cast_votes(project, annotators)
    return annotators


def names_of(project, annotators, *, identities=False) -> list[str]:
    if identities:
        return [user.username for user in annotators]
    return [exporting.annotator_pseudonym(project_id=project.pk, user_id=u.pk) for u in annotators]


def expected_annotation_rows(project, annotators, *, identities=False) -> list[dict]:
    names = dict(
        zip(
            (u.pk for u in annotators),
            names_of(project, annotators, identities=identities),
            strict=True,
        )
    )
    return [
        {
            "annotation_id": a.pk,
            "external_id": a.item.external_id,
            "item_id": a.item_id,
            "annotator": names[a.annotator_id],
            "value": a.value,
            "shown_order": a.shown_order,
            "time_spent_ms": a.time_spent_ms,
            "version": 1,
            "created_at": a.created_at.isoformat(),
            "updated_at": a.updated_at.isoformat(),
        }
        for a in Annotation.objects.filter(project=project).select_related("item").order_by("pk")
    ]


def expected_item_rows(project, annotators, *, identities=False) -> list[dict]:
    names = names_of(project, annotators, identities=identities)
    # Dawid-Skene's values are checked against crowd-kit in tests/analysis/test_dawid_skene.py;
    # here, that the columns carry them.
    ds = dawid_skene.export_columns(
        item_ids=list(Item.objects.filter(project=project).values_list("pk", flat=True))
    )
    rows = []
    for item in Item.objects.filter(project=project).order_by("pk"):
        n = int(item.external_id.removeprefix("pair-"))
        counts, majority, status = SUMMARIES[item.external_id]
        votes = VOTES[item.external_id]
        record = pair_record(n)
        rows.append(
            {
                "external_id": item.external_id,
                "item_id": item.pk,
                "prompt": record["prompt"],
                "context": [],
                "response_a": record["response_a"],
                "response_b": record["response_b"],
                "model_a": "model-x",
                "model_b": "model-y",
                "metadata": {},
                "is_gold": False,
                "gold_value": None,
                "n_annotations": sum(v is not None for v in votes),
                "labels": [
                    {"annotator": names[i], "value": _value(v)}
                    for i, v in enumerate(votes)
                    if v is not None
                ],
                "label_distribution": _distribution(counts),
                "majority_label": majority,
                "agreement_status": status,
                "dawid_skene_label": ds["dawid_skene_label"][item.pk],
                "dawid_skene_posterior": ds["dawid_skene_posterior"][item.pk],
                "predictions": [],
            }
        )
    return rows


def expected_pair_rows(project, *, diverging="keep") -> list[dict]:
    rows = []
    for item in Item.objects.filter(project=project).order_by("pk"):
        if item.external_id not in PAIRS:
            continue
        is_diverging = item.external_id in DIVERGING
        if (diverging == "drop" and is_diverging) or (diverging == "only" and not is_diverging):
            continue
        side, margin, n_annotators = PAIRS[item.external_id]
        other = "b" if side == "a" else "a"
        record = pair_record(int(item.external_id.removeprefix("pair-")))
        counts, _majority, status = SUMMARIES[item.external_id]
        rows.append(
            {
                "external_id": item.external_id,
                "prompt": record["prompt"],
                "context": [],
                "chosen": record[f"response_{side}"],
                "rejected": record[f"response_{other}"],
                "chosen_model": record[f"model_{side}"],
                "rejected_model": record[f"model_{other}"],
                "margin": float(margin),
                "vote_distribution": _distribution(counts),
                "agreement_status": status,
                "n_annotators": n_annotators,
                "tie": False,
            }
        )
    return rows


def expected_rows(shape, project, annotators, **kwargs) -> list[dict]:
    if shape == "annotations":
        return expected_annotation_rows(project, annotators, **kwargs)
    if shape == "items":
        return expected_item_rows(project, annotators, **kwargs)
    return expected_pair_rows(project, **kwargs)


# --- decoding the three formats


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_csv_cells(row: dict) -> dict[str, str]:
    def cell(value):
        if value is None:
            return ""
        if isinstance(value, dict | list):
            return _json_text(value)
        return str(value)

    return {key: cell(value) for key, value in row.items()}


def as_parquet_cells(row: dict) -> dict:
    return {
        key: _json_text(value) if isinstance(value, dict | list) else value
        for key, value in row.items()
    }


def decode(data: bytes, fmt: str) -> tuple[list[str], list[dict]]:
    """(column names, rows) as the format stores them."""
    if fmt == "jsonl":
        rows = [json.loads(line) for line in data.decode().splitlines()]
        return (list(rows[0]) if rows else []), rows
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
        rows = list(reader)
        return list(reader.fieldnames or []), rows
    table = pq.read_table(io.BytesIO(data))
    return table.column_names, table.to_pylist()


def encode_expected(rows: list[dict], fmt: str) -> list[dict]:
    if fmt == "csv":
        return [as_csv_cells(row) for row in rows]
    if fmt == "parquet":
        return [as_parquet_cells(row) for row in rows]
    return rows


def api_export(api, user, project, query: str):
    return api(user).get(f"/api/v1/projects/{project.pk}/export/?{query}")


def api_bytes(api, user, project, query: str) -> bytes:
    response = api_export(api, user, project, query)
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def direct_bytes(project, *, shape, fmt, identities=False, options=None) -> bytes:
    rows = exporting.export_rows(project, shape=shape, identities=identities, options=options)
    return b"".join(exporting.export_bytes(rows, fmt=fmt))


SHAPES = ("annotations", "items", "preference_pairs")
FORMATS = ("jsonl", "csv", "parquet")


@pytest.mark.parametrize("via", ["api", "exporting"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shape", SHAPES)
def test_export_rows_are_exact_for_each_shape_and_format(
    project, lead, voted, api, shape, fmt, via
):
    if via == "api":
        data = api_bytes(api, lead, project, f"shape={shape}&format={fmt}")
    else:
        data = direct_bytes(project, shape=shape, fmt=fmt)

    columns, rows = decode(data, fmt)

    assert columns == COLUMNS[shape]
    assert rows == encode_expected(expected_rows(shape, project, voted), fmt)


@pytest.mark.parametrize("shape", ["annotations", "items"])
def test_export_with_identities_names_annotators_by_username(project, lead, voted, api, shape):
    data = api_bytes(api, lead, project, f"shape={shape}&format=jsonl&identities=1")

    _, rows = decode(data, "jsonl")

    assert rows == expected_rows(shape, project, voted, identities=True)


def test_items_export_summarizes_each_items_votes(project, lead, voted, api):
    _, rows = decode(api_bytes(api, lead, project, "shape=items"), "jsonl")

    summaries = {
        row["external_id"]: (
            tuple(row["label_distribution"][str(v)] for v in (-2, -1, 0, 1, 2)),
            row["majority_label"],
            row["agreement_status"],
        )
        for row in rows
    }
    assert summaries == SUMMARIES
    assert {
        row["external_id"]: [lb["value"]["preference"] for lb in row["labels"]] for row in rows
    } == {ext: [v for v in votes if v is not None] for ext, votes in VOTES.items()}


@pytest.mark.parametrize(
    ("diverging", "expected_ids"),
    [
        ("keep", ["pair-0", "pair-2", "pair-3", "pair-5", "pair-6", "pair-7"]),
        ("drop", ["pair-0", "pair-3", "pair-5", "pair-6"]),
        ("only", ["pair-2", "pair-7"]),
    ],
)
def test_preference_pairs_diverging_filter(project, lead, voted, api, diverging, expected_ids):
    data = api_bytes(api, lead, project, f"shape=preference_pairs&diverging={diverging}")
    direct = direct_bytes(
        project, shape="preference_pairs", fmt="jsonl", options={"diverging": diverging}
    )

    _, rows = decode(data, "jsonl")

    assert [row["external_id"] for row in rows] == expected_ids
    assert rows == expected_pair_rows(project, diverging=diverging)
    assert decode(direct, "jsonl")[1] == rows


def test_preference_pairs_default_keeps_diverging_items(project, lead, voted, api):
    default = api_bytes(api, lead, project, "shape=preference_pairs")
    keep = api_bytes(api, lead, project, "shape=preference_pairs&diverging=keep")

    assert default == keep


def test_items_without_votes_or_with_a_mean_tie_give_no_pair(project, lead, voted, api):
    _, rows = decode(api_bytes(api, lead, project, "shape=preference_pairs"), "jsonl")

    exported = {row["external_id"] for row in rows}
    assert "pair-4" not in exported  # no votes
    assert "pair-1" not in exported  # votes -1, 1, 0: mean exactly 0
    assert exported == set(PAIRS)


def test_ties_drop_is_the_default_and_leaves_mean_ties_out(project, lead, voted, api):
    default = api_bytes(api, lead, project, "shape=preference_pairs")
    drop = api_bytes(api, lead, project, "shape=preference_pairs&ties=drop")

    assert default == drop
    _, rows = decode(drop, "jsonl")
    assert "pair-1" not in {row["external_id"] for row in rows}
    assert not any(row["tie"] for row in rows)


@pytest.mark.parametrize("fmt", FORMATS)
def test_ties_keep_gives_mean_ties_in_a_b_order_with_margin_0(project, lead, voted, api, fmt):
    data = api_bytes(api, lead, project, f"shape=preference_pairs&ties=keep&format={fmt}")
    _, rows = decode(data, fmt)
    decoded = {row["external_id"]: row for row in rows}

    # pair-1: votes -1, 1, 0, mean exactly 0; pair-4 (no votes) still gives no pair.
    assert set(decoded) == set(PAIRS) | {"pair-1"}
    record = pair_record(1)
    counts, _majority, status = SUMMARIES["pair-1"]
    tie = {
        "external_id": "pair-1",
        "prompt": record["prompt"],
        "context": [],
        "chosen": record["response_a"],
        "rejected": record["response_b"],
        "chosen_model": "model-x",
        "rejected_model": "model-y",
        "margin": 0.0,
        "vote_distribution": _distribution(counts),
        "agreement_status": status,
        "n_annotators": 3,
        "tie": True,
    }
    assert decoded["pair-1"] == encode_expected([tie], fmt)[0]
    others = [row for row in encode_expected(expected_pair_rows(project), fmt)]
    assert [row for row in rows if row["external_id"] != "pair-1"] == others


def test_ties_and_diverging_combine(project, voted):
    # pair-1 is a tie and diverging: "only" the diverging with ties kept includes it.
    rows = exporting.export_rows(
        project, shape="preference_pairs", options={"ties": "keep", "diverging": "only"}
    )
    assert [row["external_id"] for row in rows] == ["pair-1", "pair-2", "pair-7"]


def test_a_bad_ties_value_is_a_400_naming_the_option(project, lead, voted, api):
    response = api_export(api, lead, project, "shape=preference_pairs&ties=maybe")

    assert response.status_code == 400
    assert response.json()["message"] == "ties must be drop or keep"


def test_preference_pair_puts_the_side_preferred_on_average_first(project, lead, voted, api):
    _, rows = decode(api_bytes(api, lead, project, "shape=preference_pairs"), "jsonl")
    by_id = {row["external_id"]: row for row in rows}

    assert by_id["pair-0"]["chosen"] == "Answer A to 0."
    assert by_id["pair-0"]["chosen_model"] == "model-x"
    assert by_id["pair-0"]["margin"] == pytest.approx(4 / 3)
    assert by_id["pair-7"]["chosen"] == "Answer B to 7, longer and with **markdown**."
    assert by_id["pair-7"]["rejected_model"] == "model-x"
    assert by_id["pair-7"]["margin"] == 0.5
    assert by_id["pair-7"]["vote_distribution"] == {"-2": 0, "-1": 1, "0": 0, "1": 0, "2": 1}


@pytest.mark.parametrize("shape", SHAPES)
def test_csv_nested_columns_are_json_strings_under_a_fixed_header(project, lead, voted, api, shape):
    text = api_bytes(api, lead, project, f"shape={shape}&format=csv").decode()

    header = text.splitlines()[0]
    rows = list(csv.DictReader(io.StringIO(text, newline="")))

    assert header == ",".join(COLUMNS[shape])
    nested = {
        "annotations": ["value", "shown_order"],
        "items": ["context", "metadata", "labels", "label_distribution"],
        "preference_pairs": ["context", "vote_distribution"],
    }[shape]
    for row in rows:
        for column in nested:
            assert isinstance(json.loads(row[column]), dict | list), (column, row[column])


def test_pseudonyms_are_stable_across_exports(project, lead, voted, api):
    first = decode(api_bytes(api, lead, project, "shape=annotations"), "jsonl")[1]
    second = decode(api_bytes(api, lead, project, "shape=annotations"), "jsonl")[1]
    items = decode(direct_bytes(project, shape="items", fmt="jsonl"), "jsonl")[1]

    assert [r["annotator"] for r in first] == [r["annotator"] for r in second]
    assert {r["annotator"] for r in first} == set(names_of(project, voted))
    assert {label["annotator"] for row in items for label in row["labels"]} == set(
        names_of(project, voted)
    )


def test_pseudonyms_differ_between_projects(project, lead, voted, api, import_pairs):
    from tests.factories import MembershipFactory, ProjectFactory

    other = ProjectFactory(created_by=lead)
    MembershipFactory(project=other, user=lead, role="lead")
    ann1 = voted[0]
    MembershipFactory(project=other, user=ann1, role="annotator")
    import_pairs(1, into=other)
    cast_votes(other, [ann1], votes={"pair-0": (1,)})

    here = decode(api_bytes(api, lead, project, "shape=annotations&identities=1"), "jsonl")[1]
    here_pseudo = decode(api_bytes(api, lead, project, "shape=annotations"), "jsonl")[1]
    there = decode(api_bytes(api, lead, other, "shape=annotations"), "jsonl")[1]

    ann1_here = {
        p["annotator"]
        for p, named in zip(here_pseudo, here, strict=True)
        if named["annotator"] == "ann1"
    }
    assert len(ann1_here) == 1
    assert len(there) == 1
    assert there[0]["annotator"] not in ann1_here
    assert there[0]["annotator"] == exporting.annotator_pseudonym(
        project_id=other.pk, user_id=ann1.pk
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("format=xml", "format"),
        ("format=", "format"),
        ("shape=everything", "shape"),
        ("shape=", "shape"),
        ("shape=items&format=xlsx", "format"),
    ],
)
def test_bad_export_parameter_is_a_400_naming_the_field(project, lead, voted, api, query, field):
    response = api_export(api, lead, project, query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert [error["field"] for error in body["errors"]] == [field]
    assert field in body["message"]


def test_bad_diverging_filter_is_a_400_before_any_byte_is_sent(project, lead, voted, api):
    response = api_export(api, lead, project, "shape=preference_pairs&diverging=sideways")

    assert response.status_code == 400
    assert not getattr(response, "streaming", False)
    assert "diverging" in response.json()["message"]


def test_exporting_rejects_bad_shape_format_and_options_eagerly(project, voted):
    with pytest.raises(InvalidInput) as bad_shape:
        exporting.export_rows(project, shape="everything")
    with pytest.raises(InvalidInput) as bad_format:
        exporting.export_bytes(iter([]), fmt="xml")
    with pytest.raises(InvalidInput) as bad_filter:
        exporting.export_rows(project, shape="preference_pairs", options={"diverging": "x"})
    with pytest.raises(InvalidInput) as unknown_option:
        exporting.export_rows(project, shape="preference_pairs", options={"colour": "red"})

    assert bad_shape.value.as_dict()["errors"] == [
        {"field": "shape", "message": "unknown shape 'everything'"}
    ]
    assert bad_format.value.as_dict()["errors"] == [
        {"field": "format", "message": "unknown format 'xml'"}
    ]
    assert "diverging" in bad_filter.value.message
    assert unknown_option.value.as_dict()["errors"][0]["field"] == "options"
    assert "colour" in unknown_option.value.message


def test_export_shapes_of_a_preference_pair_project(project):
    assert exporting.export_shapes(project) == ("annotations", "items", "preference_pairs")


def test_parquet_keeps_a_column_whose_first_batch_was_all_empty(
    project, make_annotator, import_pairs
):
    """A project whose first items have no votes yet still exports later majorities."""
    import_pairs(4)
    annotator = make_annotator("late")
    cast_votes(
        project,
        [annotator],
        votes={
            "pair-0": (None,),
            "pair-1": (None,),
            "pair-2": (1,),
            "pair-3": (-2,),
        },
    )

    data = b"".join(
        exporting.parquet_bytes(exporting.export_rows(project, shape="items"), batch_rows=2)
    )

    rows = pq.read_table(io.BytesIO(data)).to_pylist()
    assert [row["external_id"] for row in rows] == ["pair-0", "pair-1", "pair-2", "pair-3"]
    assert [row["majority_label"] for row in rows][:2] == [None, None]
    # The column's type was fixed by the first (empty) batch, so later values come back as text.
    assert [str(row["majority_label"]) for row in rows][2:] == ["1", "-2"]
    assert [row["n_annotations"] for row in rows] == [0, 0, 1, 1]


# --- streaming at constant memory


@pytest.fixture
def many_annotations(project, make_annotator):
    """5,000 submitted annotations, written in bulk (the services would take far longer)."""
    annotator = make_annotator("bulk")
    now = timezone.now()
    items = Item.objects.bulk_create(
        Item(
            project=project,
            external_id=f"bulk-{n}",
            payload={
                "prompt": f"p{n}",
                "response_a": "a",
                "response_b": "b",
                "context": [],
                "metadata": {},
            },
            n_submitted=1,
        )
        for n in range(5000)
    )
    assignments = Assignment.objects.bulk_create(
        Assignment(
            project=project,
            item=item,
            annotator=annotator,
            status="submitted",
            shown_order={"left": "a", "right": "b"},
            reserved_at=now,
            expires_at=now,
            finished_at=now,
        )
        for item in items
    )
    Annotation.objects.bulk_create(
        Annotation(
            assignment=assignment,
            project=project,
            item=assignment.item,
            annotator=annotator,
            value=_value(n % 5 - 2),
            shown_order=assignment.shown_order,
            time_spent_ms=1000,
        )
        for n, assignment in enumerate(assignments)
    )
    return 5000


def _annotation_selects(queries) -> list[str]:
    return [q["sql"] for q in queries if "FROM annotate_annotation" in q["sql"].replace('"', "")]


def test_annotation_rows_read_the_table_chunk_by_chunk(project, many_annotations):
    rows = iter(exporting.annotation_rows(project))

    with CaptureQueriesContext(connection) as first_row:
        first = next(rows)
    with CaptureQueriesContext(connection) as the_rest:
        rest = list(rows)

    assert first["external_id"] == "bulk-0"
    # The annotators' names, then one chunk read before the first row is out.
    assert len(first_row.captured_queries) == 2
    assert f"LIMIT {exporting.CHUNK}" in first_row.captured_queries[1]["sql"]
    assert 1 + len(rest) == many_annotations
    selects = _annotation_selects(the_rest.captured_queries)
    # 5,000 rows in chunks of 2,000: two more full or partial chunks, then one empty read.
    assert len(selects) == len(the_rest.captured_queries) == 3
    assert all(f"LIMIT {exporting.CHUNK}" in sql for sql in selects)
    ids = [row["annotation_id"] for row in [first, *rest]]
    assert ids == sorted(ids) and len(set(ids)) == many_annotations


def test_item_rows_read_items_and_labels_chunk_by_chunk(project, many_annotations):
    rows = exporting.export_rows(project, shape="items")

    with CaptureQueriesContext(connection) as first_row:
        first = next(rows)
    with CaptureQueriesContext(connection) as the_rest:
        rest = list(rows)

    assert first["external_id"] == "bulk-0" and first["n_annotations"] == 1
    # The annotators' names; the first chunk of items with their labels (one query), and of
    # their model predictions; and, once per export, the six reads of the Dawid-Skene columns
    # (the items' project, the four of the analysis's source key, the labels of the field).
    assert len(first_row.captured_queries) == 3 + 6
    assert 1 + len(rest) == many_annotations
    # Two more chunks (with their project, for the Dawid-Skene columns), then the empty read.
    assert len(the_rest.captured_queries) == 3 + 3 + 1


def test_api_export_streams_without_buffering(project, lead, api, many_annotations):
    response = api_export(api, lead, project, "shape=annotations&format=jsonl")

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert not response.has_header("Content-Length")
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"] == (
        f'attachment; filename="project-{project.pk}-annotations.jsonl"'
    )
    with CaptureQueriesContext(connection) as streamed:
        chunks = list(response.streaming_content)
    assert len(chunks) > 1
    assert all(len(chunk) <= 2 * exporting.FLUSH_BYTES for chunk in chunks)
    assert sum(chunk.count(b"\n") for chunk in chunks) == many_annotations
    # The annotators' names are read before streaming starts; the rows come from one COPY
    # (outside Django's query log), not from a query per chunk.
    assert _annotation_selects(streamed.captured_queries) == []


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("jsonl", "application/x-ndjson"),
        ("csv", "text/csv; charset=utf-8"),
        ("parquet", "application/vnd.apache.parquet"),
    ],
)
def test_api_export_content_type_and_filename_follow_the_format(
    project, lead, voted, api, fmt, content_type
):
    response = api_export(api, lead, project, f"shape=items&format={fmt}")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].endswith(f'-items.{fmt}"')


def test_imported_item_reimport_keeps_its_votes_in_the_export(project, lead, voted, api):
    services.items_import(
        project=project, stream=jsonl([pair_record(0, prompt="Reworded?")]), fmt="jsonl"
    )

    _, rows = decode(api_bytes(api, lead, project, "shape=items"), "jsonl")

    first = next(row for row in rows if row["external_id"] == "pair-0")
    assert first["prompt"] == "Reworded?"
    assert first["n_annotations"] == 3


def test_items_export_shows_finished_model_runs_next_to_the_human_labels(project, lead, voted, api):
    from models_runtime.models import ModelRun, Prediction

    first, second = Item.objects.filter(project=project).order_by("pk")[:2]
    done = ModelRun.objects.create(
        project=project, model_name="judge", source="import", status="done"
    )
    running = ModelRun.objects.create(
        project=project, model_name="judge-wip", source="import", status="running"
    )
    value = {"preference": 1, "aspects": {}, "rationale": "", "flags": []}
    Prediction.objects.create(run=done, item=first, value=value, score=0.8)
    Prediction.objects.create(run=running, item=first, value=value, score=0.9)
    Prediction.objects.create(run=running, item=second, value=value, score=0.7)

    rows = {
        row["external_id"]: row
        for row in map(json.loads, api_bytes(api, lead, project, "shape=items").splitlines())
    }

    assert rows[first.external_id]["predictions"] == [
        {"run_id": done.pk, "model": "judge", "value": value, "score": 0.8}
    ]
    assert rows[second.external_id]["predictions"] == []  # an unfinished run is not shown


def test_predictions_of_items_between_a_chunks_ids_are_not_the_chunks(project, voted):
    """The predictions are read by the chunk's id range: another project's item whose id lies
    inside it keeps its predictions out of the chunk's."""
    from models_runtime.models import ModelRun, Prediction
    from models_runtime.selectors import predictions_by_item
    from tests.factories import ProjectFactory

    other = ProjectFactory(created_by=project.created_by, task_type=project.task_type)
    between = Item.objects.create(project=other, external_id="other", payload=pair_record(9))
    last = Item.objects.create(project=project, external_id="after", payload=pair_record(8))
    value = {"preference": 1, "aspects": {}, "rationale": "", "flags": []}
    for item in (between, last):
        run = ModelRun.objects.create(
            project=item.project, model_name="judge", source="import", status="done"
        )
        Prediction.objects.create(run=run, item=item, value=value, score=0.5)
    first = Item.objects.filter(project=project).order_by("pk").first()

    found = predictions_by_item(item_ids=[first.pk, last.pk])

    assert set(found) == {last.pk}
    assert predictions_by_item(item_ids=[]) == {}


def test_on_a_database_other_than_postgresql_the_export_is_built_in_python(
    project, voted, monkeypatch
):
    """SQLite (the demo's database) has no ``COPY``: the same bytes come from the Python path."""
    expected = {
        (shape, fmt): b"".join(
            exporting.export_bytes(exporting.export_rows(project, shape=shape), fmt=fmt)
        )
        for shape in exporting.export_shapes(project)
        for fmt in ("jsonl", "csv")
    }
    monkeypatch.setattr(connection, "vendor", "sqlite")
    for (shape, fmt), data in expected.items():
        rows = exporting.export_rows(project, shape=shape)
        with CaptureQueriesContext(connection) as queries:
            assert b"".join(exporting.export_bytes(rows, fmt=fmt)) == data, (shape, fmt)
        assert not any("COPY" in q["sql"] or "unnest" in q["sql"] for q in queries), shape

"""derailment: schemas and the ordering rule, the paper's CSV adapter, API, form and export."""

from __future__ import annotations

import io
import json

import pytest
from django.http import QueryDict

from annotate import exporting, services
from annotate.models import Item
from annotate.tasktypes import get_task_type
from core.errors import ImportFailed, InvalidInput, SchemaError
from tests.factories import UserFactory
from tests.typedata import (
    PAPER_COLUMNS_LONG,
    jsonl_bytes,
    paper_csv,
    paper_rows,
    rows_of,
    thread_record,
)

PLUGIN = get_task_type("derailment")
PAYLOAD = PLUGIN.validate_item({k: v for k, v in thread_record(0).items() if k != "external_id"})
IDS = [c["id"] for c in PAYLOAD["comments"]]  # t0c0 .. t0c3
CONFIG = PLUGIN.config({})


@pytest.fixture
def dproject(lead):
    return services.project_create(
        name="threads", task_type="derailment", created_by=lead, overlap=2
    )


def check(value, config=CONFIG):
    return PLUGIN.validate_annotation(value, config=config, payload=PAYLOAD)


def fields_of(exc) -> set[str]:
    return {error.field for error in exc.value.errors}


def value(**overrides):
    base = {
        "toxic": True,
        "toxic_comment": IDS[2],
        "derailment_comment": IDS[1],
        "tones": {IDS[2]: ["Insulting"]},
    }
    base.update(overrides)
    return base


# --- annotation rules


def test_valid_annotation_is_kept_as_given():
    assert check(value()) == value()


def test_derailment_at_the_toxic_comment_is_valid():
    assert check(value(derailment_comment=IDS[2]))["derailment_comment"] == IDS[2]


def test_toxic_thread_that_never_derails_is_rejected():
    # Issue 10: "comment #2 is toxic" with "never derails" contradicts itself: a thread that
    # turns toxic derails at its toxic comment at the latest.
    with pytest.raises(SchemaError) as exc:
        check(value(derailment_comment=None))
    assert fields_of(exc) == {"value.derailment_comment"}
    assert "toxic" in exc.value.errors[0].message


def test_a_reference_label_may_turn_toxic_without_derailing_first():
    # The paper's data records a toxic thread with no earlier tone as never derailing.
    record = {k: v for k, v in thread_record(0).items() if k != "external_id"}
    record["reference"] = {"source": "paper", "value": value(derailment_comment=None)}
    assert PLUGIN.validate_item(record)["reference"]["value"]["derailment_comment"] is None


def test_derailment_after_the_toxic_comment_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check(value(derailment_comment=IDS[3]))
    assert fields_of(exc) == {"value.derailment_comment"}
    assert "before" in exc.value.errors[0].message


def test_unknown_toxic_comment_id_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check(value(toxic_comment="nope"))
    assert fields_of(exc) == {"value.toxic_comment"}


def test_unknown_derailment_comment_id_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check(value(derailment_comment="nope"))
    assert fields_of(exc) == {"value.derailment_comment"}


def test_not_toxic_with_a_toxic_comment_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check(value(toxic=False, derailment_comment=None))
    assert fields_of(exc) == {"value.toxic_comment"}


def test_not_toxic_with_a_derailment_point_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check(value(toxic=False, toxic_comment=None))
    assert fields_of(exc) == {"value.derailment_comment"}


def test_not_toxic_and_never_derails_is_valid():
    assert check(value(toxic=False, toxic_comment=None, derailment_comment=None, tones={}))


def test_toxic_without_its_comment_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check(value(toxic_comment=None, derailment_comment=None))
    assert fields_of(exc) == {"value.toxic_comment"}


def test_toxic_must_be_a_boolean_not_a_string():
    with pytest.raises(SchemaError) as exc:
        check(value(toxic="yes"))
    assert fields_of(exc) == {"value.toxic"}


def test_missing_derailment_answer_is_named():
    answer = value()
    del answer["derailment_comment"]
    with pytest.raises(SchemaError) as exc:
        check(answer)
    assert fields_of(exc) == {"value.derailment_comment"}


def test_tone_outside_the_project_set_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check(value(tones={IDS[0]: ["Sarcasm"]}))
    assert fields_of(exc) == {f"value.tones.{IDS[0]}"}


def test_tone_set_is_editable_per_project():
    config = PLUGIN.config({"tones": ["Sarcasm"]})
    assert check(value(tones={IDS[0]: ["Sarcasm"]}), config)["tones"] == {IDS[0]: ["Sarcasm"]}
    with pytest.raises(SchemaError):
        check(value(), config)  # "Insulting" is not in this project's set


def test_tone_on_an_unknown_comment_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check(value(tones={"ghost": ["Mocking"]}))
    assert fields_of(exc) == {"value.tones.ghost"}


def test_project_config_rejects_a_bad_tone_set(lead):
    with pytest.raises(InvalidInput):
        services.project_create(
            name="x",
            task_type="derailment",
            created_by=lead,
            config={"tones": ["Mocking", "Mocking"]},
        )


# --- items


def test_item_with_duplicate_comment_ids_is_rejected():
    record = thread_record(1)
    record["comments"][2]["id"] = record["comments"][0]["id"]
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item({k: v for k, v in record.items() if k != "external_id"})
    assert fields_of(exc) == {"comments.2.id"}


def test_item_needs_at_least_one_comment():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item({"title": "t", "comments": []})
    assert fields_of(exc) == {"comments"}


def test_reference_label_breaking_the_order_rule_fails_its_line(dproject):
    record = thread_record(1)
    ids = [c["id"] for c in record["comments"]]
    record["reference"] = {
        "source": "paper",
        "value": {
            "toxic": True,
            "toxic_comment": ids[0],
            "derailment_comment": ids[2],
            "tones": {},
        },
    }
    with pytest.raises(ImportFailed) as exc:
        services.items_import(
            project=dproject, stream=io.BytesIO(jsonl_bytes([record])), fmt="jsonl"
        )
    assert exc.value.detail == [
        {
            "line": 1,
            "errors": [
                {
                    "field": "reference.value.derailment_comment",
                    "message": exc.value.detail[0]["errors"][0]["message"],
                }
            ],
        }
    ]


# --- the paper's CSV adapter

DERAILED = paper_rows(
    "111",
    [
        "The build is broken.",
        "Works for me.",
        "Did you even read it??",
        "Read the docs, genius.",
        "Closing.",
    ],
    toxic_at=4,
    tbdf={3: "Impatience", 4: "Identity attacks/Name-Calling"},
)
SUDDEN = paper_rows(
    "222",
    ["Feature request: dark mode.", "This is garbage, like you."],
    toxic_at=2,
    tbdf={2: "Insulting"},
)
CALM = paper_rows("333", ["Typo in README.", "Fixed, thanks!\nMerged in #4."])


def import_paper(project, rows, columns=None):
    data = paper_csv(rows, columns) if columns else paper_csv(rows)
    return services.items_import(
        project=project, stream=io.BytesIO(data), fmt="csv", adapter="github_derailment"
    )


def test_paper_csv_groups_rows_into_one_thread_per_issue(dproject):
    result = import_paper(dproject, DERAILED + SUDDEN + CALM)
    assert result.as_dict() == {"total": 3, "created": 3, "updated": 0}
    item = Item.objects.get(project=dproject, external_id="111")
    assert item.payload["title"] == "Build fails on ARM"
    assert [c["id"] for c in item.payload["comments"]] == [f"111{i:03d}" for i in range(1, 6)]
    assert item.payload["comments"][2] == {
        "id": "111003",
        "author": "user0",
        "body": "Did you even read it??",
    }


def test_paper_csv_reference_marks_first_earlier_tone_as_derailment(dproject):
    import_paper(dproject, DERAILED + SUDDEN + CALM)
    refs = {i.external_id: i.payload["reference"] for i in Item.objects.filter(project=dproject)}
    assert refs["111"] == {
        "source": "github_derailment",
        "value": {
            "toxic": True,
            "toxic_comment": "111004",
            "derailment_comment": "111003",
            "tones": {"111003": ["Impatience"], "111004": ["Identity attack / name-calling"]},
        },
    }
    # Toxic with no tone-bearing comment before it: turned toxic without derailing first.
    assert refs["222"]["value"]["toxic_comment"] == "222002"
    assert refs["222"]["value"]["derailment_comment"] is None
    assert refs["333"]["value"] == {
        "toxic": False,
        "toxic_comment": None,
        "derailment_comment": None,
        "tones": {},
    }


def test_paper_csv_without_label_columns_gives_no_reference(dproject):
    columns = [c for c in PAPER_COLUMNS_LONG if c not in {"toxic", "tbdf"}]
    import_paper(dproject, CALM, columns)
    assert "reference" not in Item.objects.get(project=dproject).payload


def test_paper_csv_long_layout_fills_metadata_and_comment_fields(dproject):
    rows = [
        dict(
            row,
            link="https://api.github.com/repos/acme/rocket/issues/42",
            comments_count="2",
            timestamp=f"2020-05-0{n}T00:00:00Z",
            author_association="MEMBER",
            reply_to="0" if n == 1 else "333001",
        )
        for n, row in enumerate(CALM, start=1)
    ]
    import_paper(dproject, rows, PAPER_COLUMNS_LONG)
    payload = Item.objects.get(project=dproject).payload
    assert payload["metadata"] == {
        "issue_id": "333",
        "repository": "acme/rocket",
        "issue_number": 42,
        "comments_count": 2,
        "link": "https://github.com/acme/rocket/issues/42",
    }
    assert payload["comments"][1] == {
        "id": "333002",
        "author": "user2",
        "author_association": "MEMBER",
        "created_at": "2020-05-02T00:00:00Z",
        "reply_to": "333001",
        "body": "Fixed, thanks!\nMerged in #4.",
    }


def test_paper_csv_orders_comments_by_sequence(dproject):
    import_paper(dproject, list(reversed(DERAILED)))
    ids = [c["id"] for c in Item.objects.get(project=dproject).payload["comments"]]
    assert ids == sorted(ids)


def test_paper_csv_rejects_an_issue_whose_rows_are_not_contiguous(dproject):
    # Lines: 1 header; CALM's first row on 2; SUDDEN on 3 and 4; CALM's second row on 5.
    rows = CALM[:1] + SUDDEN + CALM[1:]
    with pytest.raises(ImportFailed) as exc:
        import_paper(dproject, rows)
    assert [line["line"] for line in exc.value.detail] == [5]
    assert exc.value.detail[0]["errors"][0]["field"] == "issue_id"
    assert "line 2" in exc.value.detail[0]["errors"][0]["message"]
    assert not Item.objects.filter(project=dproject).exists()


def test_paper_csv_reports_each_bad_row_by_its_own_line(dproject):
    rows = [dict(r) for r in CALM + DERAILED]
    rows[1]["comment_sequence"] = "two"  # line 3 (its text spans lines 3-4)
    rows[3]["toxic"] = "maybe"  # line 6
    rows[4]["tbdf"] = "Grumpiness"  # line 7
    with pytest.raises(ImportFailed) as exc:
        import_paper(dproject, rows)
    assert [(d["line"], [e["field"] for e in d["errors"]]) for d in exc.value.detail] == [
        (3, ["comment_sequence"]),
        (6, ["toxic"]),
        (7, ["tbdf"]),
    ]


def test_paper_csv_rejects_a_second_toxic_comment(dproject):
    rows = [dict(r) for r in DERAILED]
    rows[4]["toxic"] = "1"  # line 6
    with pytest.raises(ImportFailed) as exc:
        import_paper(dproject, rows)
    assert exc.value.detail[0]["line"] == 6
    assert exc.value.detail[0]["errors"][0]["field"] == "toxic"


def test_paper_csv_rejects_rows_missing_required_columns(dproject):
    rows = [dict(r) for r in CALM]
    rows[0]["issue_id"] = ""
    with pytest.raises(ImportFailed) as exc:
        import_paper(dproject, rows)
    assert exc.value.detail[0] == {
        "line": 2,
        "errors": [{"field": "issue_id", "message": "required in every row"}],
    }


def test_reimporting_the_paper_csv_updates_instead_of_duplicating(dproject):
    import_paper(dproject, DERAILED)
    result = import_paper(dproject, DERAILED)
    assert result.as_dict() == {"total": 1, "created": 0, "updated": 1}


# --- through the API and the annotator form


def test_next_never_shows_the_reference_label(dproject, make_annotator, api):
    import_paper(dproject, DERAILED)
    annie = make_annotator("annie", in_project=dproject)
    response = api(annie).post(f"/api/v1/projects/{dproject.pk}/next/")
    assert response.status_code == 200
    assert "reference" not in response.json()["item"]["payload"]
    assert "reference" not in json.dumps(response.json())


def test_submit_through_the_api_names_the_broken_rule(dproject, make_annotator, api):
    import_paper(dproject, DERAILED)
    annie = make_annotator("annie", in_project=dproject)
    client = api(annie)
    assignment = client.post(f"/api/v1/projects/{dproject.pk}/next/").json()["assignment"]["id"]
    bad = {"toxic": True, "toxic_comment": "111002", "derailment_comment": "111004"}
    response = client.post(
        f"/api/v1/assignments/{assignment}/submit/", {"value": bad}, format="json"
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["value.derailment_comment"]
    good = dict(bad, derailment_comment="111001")
    response = client.post(
        f"/api/v1/assignments/{assignment}/submit/", {"value": good}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["value"] == dict(good, tones={})


def test_form_values_become_the_canonical_annotation():
    form = QueryDict(mutable=True)
    form.update({"toxic_comment": f"c:{IDS[2]}", "derailment_comment": f"c:{IDS[0]}"})
    form.setlist(f"tones:{IDS[2]}", ["Mocking", "Irony"])
    assert PLUGIN.form_to_value(form, shown_order={}, config={}) == {
        "toxic": True,
        "toxic_comment": IDS[2],
        "derailment_comment": IDS[0],
        "tones": {IDS[2]: ["Mocking", "Irony"]},
    }
    form = QueryDict("toxic_comment=none&derailment_comment=never")
    assert PLUGIN.form_to_value(form, shown_order={}, config={}) == {
        "toxic": False,
        "toxic_comment": None,
        "derailment_comment": None,
        "tones": {},
    }


def test_unanswered_form_is_reported_field_by_field():
    value = PLUGIN.form_to_value(QueryDict(""), shown_order={}, config={})
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert fields_of(exc) == {"value.toxic", "value.toxic_comment", "value.derailment_comment"}


# --- export


@pytest.fixture
def annotated(dproject):
    import_paper(dproject, DERAILED + CALM)
    votes = {
        "ann1": {"111": ("111004", "111003"), "333": (None, None)},
        # A toxic thread derails at its toxic comment at the latest (issue 10): ann2 sees it
        # derail early, at comment 1, two comments before ann1's point (beyond the tolerance).
        "ann2": {"111": ("111004", "111001"), "333": (None, None)},
    }
    for username, answers in votes.items():
        user = UserFactory(username=username)
        services.membership_add(project=dproject, user=user, role="annotator")
        for _ in answers:
            assignment = services.assignment_reserve_next(project=dproject, annotator=user)
            toxic, derail = answers[assignment.item.external_id]
            services.annotation_submit(
                assignment_id=assignment.pk,
                annotator=user,
                value={
                    "toxic": toxic is not None,
                    "toxic_comment": toxic,
                    "derailment_comment": derail,
                    "tones": {},
                },
            )
    return dproject


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_derailment_points_export_gives_positions_and_reference(annotated, fmt):
    rows = sorted(
        rows_of(annotated, "derailment_points", fmt),
        key=lambda r: (r["external_id"], r["annotator"]),
    )
    picked = [
        (
            r["external_id"],
            r["annotator"],
            str(r["derailment_position"]),
            str(r["toxic_position"]),
            str(r["reference_derailment_position"]),
        )
        for r in rows
    ]
    none = "" if fmt == "csv" else "None"
    assert picked == [
        ("111", "ann1", "3", "4", "3"),
        ("111", "ann2", "1", "4", "3"),
        ("333", "ann1", none, none, none),
        ("333", "ann2", none, none, none),
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_items_export_keeps_reference_apart_from_labels(annotated, fmt):
    rows = {r["external_id"]: r for r in rows_of(annotated, "items", fmt)}
    assert set(rows) == {"111", "333"}
    row = rows["111"]
    reference = row["reference"] if fmt == "jsonl" else json.loads(row["reference"])
    distribution = (
        row["label_distribution"] if fmt == "jsonl" else json.loads(row["label_distribution"])
    )
    assert reference["value"]["derailment_comment"] == "111003"
    assert distribution == {"111003": 1, "111001": 1}
    assert str(row["n_annotations"]) == "2"
    assert row["agreement_status"] == "split"
    assert rows["333"]["agreement_status"] == "unanimous"


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_annotations_export_has_one_row_per_annotation(annotated, fmt):
    rows = rows_of(annotated, "annotations", fmt)
    assert len(rows) == 4
    assert {r["external_id"] for r in rows} == {"111", "333"}


def test_derailment_project_offers_its_own_export_shape(dproject):
    assert exporting.export_shapes(dproject) == ("annotations", "items", "derailment_points")

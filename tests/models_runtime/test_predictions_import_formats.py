"""The predictions import: formats (JSON Lines, JSON array, CSV), ``?adapter=`` (derailment's
``ltm``), ``?unknown=skip|error``, score-only rows, ``details``, and bad input (all or nothing)."""

from __future__ import annotations

import json

import pytest

from analysis.figures.compute import agreement_compute
from annotate import services
from models_runtime.models import ModelRun, Prediction
from tests.conftest import jsonl
from tests.typedata import thread_record

URL = "/api/v1/projects/{}/predictions/"


@pytest.fixture
def threads(lead):
    """A derailment project with threads 101..104; 101 and 102 carry a reference label."""
    project = services.project_create(name="threads", task_type="derailment", created_by=lead)
    records = []
    for n in (101, 102, 103, 104):
        record = thread_record(n, external_id=str(n))
        if n in (101, 102):
            toxic = n == 101
            record["reference"] = {
                "source": "paper",
                "value": {
                    "toxic": toxic,
                    "toxic_comment": f"t{n}c3" if toxic else None,
                    "derailment_comment": None,
                },
            }
        records.append(record)
    services.items_import(project=project, stream=jsonl(records), fmt="jsonl")
    return project


def post(api, user, project, body: bytes, query: str, content_type="text/csv"):
    return api(user).post(URL.format(project.pk) + query, body, content_type=content_type)


def stored(run_id):
    return {
        p.item.external_id: (p.value, p.score, p.details)
        for p in Prediction.objects.filter(run_id=run_id).select_related("item")
    }


LTM = b"issue_id,possibility_toxic,true_label\n101,0.53,1\n102,0.2,0\n103,0.0,0\n"


def test_the_ltm_adapter_imports_one_score_only_prediction_per_thread(threads, lead, api):
    response = post(api, lead, threads, LTM, "?model=LtM&adapter=ltm")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["n_predictions"], body["n_skipped_unknown"], body["source"]) == (3, 0, "import")
    assert stored(body["id"]) == {
        "101": ({}, 0.53, {"adapter": "ltm", "true_label": True}),
        "102": ({}, 0.2, {"adapter": "ltm", "true_label": False}),
        "103": ({}, 0.0, {"adapter": "ltm", "true_label": False}),
    }
    # the file's label is not written to the items: 103 still has no reference
    assert "reference" not in threads.items.get(external_id="103").payload
    metrics = agreement_compute(project=threads).models[0].metrics
    reference = metrics["vs_reference"]
    assert (reference["tp"], reference["tn"], reference["n"], reference["n_left_out"]) == (
        1,
        1,
        2,
        1,
    )
    assert metrics["vs_file_label"]["n"] == 3


def test_rows_naming_no_item_are_each_listed_or_skipped_and_counted(threads, lead, api):
    body = LTM + b"999,0.9,1\n998,0.1,0\n"
    refused = post(api, lead, threads, body, "?model=LtM&adapter=ltm")
    assert refused.status_code == 400
    errors = {e["line"]: e["errors"] for e in refused.json()["errors"]}
    assert sorted(errors) == [5, 6]
    assert "'999'" in errors[5][0]["message"] and errors[5][0]["field"] == "external_id"
    assert "'998'" in errors[6][0]["message"]
    assert not ModelRun.objects.exists()

    skipped = post(api, lead, threads, body, "?model=LtM&adapter=ltm&unknown=skip")
    assert skipped.status_code == 201, skipped.json()
    assert (skipped.json()["n_predictions"], skipped.json()["n_skipped_unknown"]) == (3, 2)

    only_unknown = post(
        api,
        lead,
        threads,
        b"issue_id,possibility_toxic\n999,0.9\n",
        "?model=m&adapter=ltm&unknown=skip",
    )
    assert only_unknown.status_code == 400
    assert "1 skipped" in only_unknown.json()["errors"][0]["message"]


def test_a_skipped_row_must_still_be_well_formed(threads, lead, api):
    body = b"issue_id,possibility_toxic\n101,0.5\n999,high\n"
    response = post(api, lead, threads, body, "?model=m&adapter=ltm&unknown=skip")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "line": 3,
            "errors": [{"field": "possibility_toxic", "message": "must be a number, not 'high'"}],
        }
    ]


def test_an_unknown_adapter_or_unknown_mode_is_a_400_naming_the_known_ones(threads, lead, api):
    response = post(api, lead, threads, LTM, "?model=m&adapter=nope")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "adapter"
    assert "known: ltm" in response.json()["errors"][0]["message"]
    response = post(api, lead, threads, LTM, "?model=m&adapter=ltm&unknown=maybe")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "unknown"
    assert not ModelRun.objects.exists()


def test_wrong_columns_and_bad_cells_name_line_and_field_and_import_nothing(threads, lead, api):
    wrong = b"thread,probability\n101,0.5\n"
    response = post(api, lead, threads, wrong, "?model=m&adapter=ltm")
    assert response.status_code == 400
    assert {f["field"] for f in response.json()["errors"][0]["errors"]} == {
        "issue_id",
        "possibility_toxic",
    }
    bad = (
        b"issue_id,possibility_toxic,true_label\n"
        b"101,0.5,1\n"
        b"102,1.5,0\n"
        b"abc,0.2,0\n"
        b"103,0.2,yes\n"
        b"101,0.7,1\n"
    )
    response = post(api, lead, threads, bad, "?model=m&adapter=ltm")
    assert response.status_code == 400
    errors = {e["line"]: {f["field"] for f in e["errors"]} for e in response.json()["errors"]}
    assert errors == {
        3: {"possibility_toxic"},
        4: {"issue_id"},
        5: {"true_label"},
        6: {"external_id"},  # 101 again
    }
    assert not ModelRun.objects.exists() and not Prediction.objects.exists()


def test_score_only_rows_in_the_platforms_own_format_json_array_and_csv(threads, lead, api):
    rows = [
        {"external_id": "101", "score": 0.8, "details": {"note": "prefix model"}},
        {
            "external_id": "102",
            "value": {"toxic": False, "toxic_comment": None, "derailment_comment": None},
            "score": 0.1,
            "distribution": {"no": 0.9, "yes": 0.1},
        },
    ]
    response = post(
        api, lead, threads, json.dumps(rows).encode(), "?model=a", content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    got = stored(response.json()["id"])
    assert got["101"] == ({}, 0.8, {"note": "prefix model"})
    assert got["102"][0]["toxic"] is False and got["102"][1] == 0.1

    csv_body = (
        b'external_id,score,value,details\n103,0.4,,"{""k"": 1}"\n'
        b'104,,"{""toxic"": false, ""toxic_comment"": null, ""derailment_comment"": null}",\n'
    )
    response = post(api, lead, threads, csv_body, "?model=b")
    assert response.status_code == 201, response.json()
    got = stored(response.json()["id"])
    assert got["103"] == ({}, 0.4, {"k": 1})
    assert got["104"][0]["derailment_comment"] is None and got["104"][1] is None

    # a row with neither score nor value is still a missing value
    response = post(
        api,
        lead,
        threads,
        b'{"external_id": "101"}\n',
        "?model=c",
        content_type="application/x-ndjson",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 1
    assert response.json()["errors"][0]["errors"][0]["field"].startswith("value")


def test_score_only_predictions_do_not_break_the_dashboard_figures(threads, lead, api):
    value = {"toxic": True, "toxic_comment": "t101c3", "derailment_comment": "t101c2"}
    rows = [{"external_id": "101", "annotator": name, "value": value} for name in ("a1", "a2")]
    services.labels_import(project=threads, stream=jsonl(rows), fmt="jsonl")
    assert post(api, lead, threads, LTM, "?model=LtM&adapter=ltm").status_code == 201
    figures = agreement_compute(project=threads)
    (model,) = figures.models
    assert model.n_predictions == 1 and model.n_compared == 0  # no value to compare
    assert [f.alpha_with_model for f in model.fields] == [f.alpha_humans for f in model.fields]
    assert model.metrics["vs_majority"]["tp"] == 1
    assert figures.to_dict()["models"][0]["metrics"]["vs_reference"]["n"] == 2


def test_a_type_without_score_only_predictions_still_needs_a_value(
    project, lead, import_pairs, api
):
    import_pairs(1)
    response = post(
        api,
        lead,
        project,
        b'{"external_id": "pair-0", "score": 0.7}\n',
        "?model=m",
        content_type="application/x-ndjson",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["errors"][0]["field"].startswith("value")
    response = post(api, lead, project, LTM, "?model=m&adapter=ltm")
    assert response.status_code == 400 and "known: none" in response.json()["errors"][0]["message"]

"""Item import: JSON Lines, JSON array and CSV; all or nothing; every bad line reported."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate import services
from annotate.models import Item
from core.errors import ImportFailed, InvalidInput
from tests.factories import pair_record


def jsonl_bytes(records):
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def csv_bytes(rows, header=("external_id", "prompt", "response_a", "response_b")):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def do_import(project, data, fmt=None):
    return services.items_import(project=project, stream=io.BytesIO(data), fmt=fmt)


def failure(project, data, fmt=None):
    with pytest.raises(ImportFailed) as exc:
        do_import(project, data, fmt)
    return exc.value


def lines_of(exc):
    return [entry["line"] for entry in exc.detail]


def fields_at(exc, line):
    entry = next(entry for entry in exc.detail if entry["line"] == line)
    return [error["field"] for error in entry["errors"]]


def payloads(project):
    return {item.external_id: item.payload for item in Item.objects.filter(project=project)}


# --- formats


def test_jsonl_import_creates_every_item_with_its_validated_payload(project):
    result = do_import(project, jsonl_bytes(pair_record(i) for i in range(5)), "jsonl")
    assert result.as_dict() == {"total": 5, "created": 5, "updated": 0}
    stored = payloads(project)
    assert sorted(stored) == [f"pair-{i}" for i in range(5)]
    assert stored["pair-3"] == {
        "prompt": "Question number 3?",
        "context": [],
        "response_a": "Answer A to 3.",
        "response_b": "Answer B to 3, longer and with **markdown**.",
        "model_a": "model-x",
        "model_b": "model-y",
        "metadata": {},
    }
    assert not Item.objects.filter(project=project, is_gold=True).exists()


def test_jsonl_format_is_sniffed_when_not_given_and_blank_lines_are_ignored(project):
    data = b"\n" + jsonl_bytes([pair_record(1)]) + b"\n  \n" + jsonl_bytes([pair_record(2)])
    assert do_import(project, data).as_dict() == {"total": 2, "created": 2, "updated": 0}


def test_a_numeric_external_id_is_stored_as_a_string(project):
    do_import(project, jsonl_bytes([pair_record(0, external_id=17)]), "jsonl")
    assert list(payloads(project)) == ["17"]


def test_json_array_import(project):
    records = [pair_record(i, context=[{"role": "user", "content": f"turn {i}"}]) for i in range(3)]
    result = do_import(project, json.dumps(records, indent=2).encode(), "json")
    assert result.as_dict() == {"total": 3, "created": 3, "updated": 0}
    assert payloads(project)["pair-2"]["context"] == [{"role": "user", "content": "turn 2"}]


def test_json_array_is_sniffed_and_errors_name_the_record_number(project):
    records = [pair_record(1), pair_record(2, prompt=""), pair_record(3)]
    exc = failure(project, b"  " + json.dumps(records).encode())
    assert lines_of(exc) == [2]
    assert fields_at(exc, 2) == ["prompt"]


def test_a_broken_json_array_is_reported_and_imports_nothing(project):
    exc = failure(project, b'[{"external_id": "x", "prompt": "p", "response_a": "a", ', "json")
    assert len(exc.detail) == 1
    assert exc.detail[0]["errors"][0]["field"] == "(line)"
    assert "JSON" in exc.detail[0]["errors"][0]["message"]
    assert not Item.objects.exists()


def test_a_json_array_element_that_is_not_an_object_is_reported(project):
    exc = failure(project, json.dumps([pair_record(1), "just a string"]).encode(), "json")
    assert exc.detail == [
        {"line": 2, "errors": [{"field": "(row)", "message": "must be a JSON object"}]}
    ]


def test_csv_import_parses_the_json_columns_context_and_metadata(project):
    header = ("external_id", "prompt", "context", "response_a", "response_b", "model_a", "metadata")
    rows = [
        (
            "c1",
            "Hi",
            json.dumps([{"role": "user", "content": "earlier"}]),
            "A",
            "B",
            "m1",
            json.dumps({"lang": "en", "n": 2}),
        ),
        ("c2", "Line one\nline two", "", "A, with a comma", 'B "quoted"', "", ""),
    ]
    result = do_import(project, csv_bytes(rows, header), "csv")
    assert result.as_dict() == {"total": 2, "created": 2, "updated": 0}
    stored = payloads(project)
    assert stored["c1"]["context"] == [{"role": "user", "content": "earlier"}]
    assert stored["c1"]["metadata"] == {"lang": "en", "n": 2}
    assert stored["c1"]["model_a"] == "m1"
    assert stored["c2"] == {
        "prompt": "Line one\nline two",
        "context": [],
        "response_a": "A, with a comma",
        "response_b": 'B "quoted"',
        "metadata": {},
    }


def test_csv_is_sniffed_and_a_utf8_bom_is_ignored(project):
    data = "\ufeff".encode() + csv_bytes([("c1", "Grüße?", "Hallo", "Servus")])
    do_import(project, data)
    assert payloads(project)["c1"]["prompt"] == "Grüße?"


def test_csv_errors_name_the_physical_line_of_the_record(project):
    data = (
        b"external_id,prompt,response_a,response_b\n"  # line 1
        b'c1,"a prompt\nover\nthree lines",A,B\n'  # lines 2-4
        b"c2,p,,B\n"  # line 5: empty response_a
        b"\n"  # line 6: blank
        b"c3,p,A,B\n"  # line 7
        b'c4,p,A,"B\nB"\n'  # lines 8-9
        b"c5,,A,B\n"  # line 10: empty prompt
    )
    exc = failure(project, data, "csv")
    assert lines_of(exc) == [5, 10]
    assert fields_at(exc, 5) == ["response_a"]
    assert fields_at(exc, 10) == ["prompt"]


def test_csv_error_on_the_first_record_is_line_two(project):
    exc = failure(project, csv_bytes([("c1", "", "A", "B")]), "csv")
    assert exc.detail == [{"line": 2, "errors": [exc.detail[0]["errors"][0]]}]
    assert fields_at(exc, 2) == ["prompt"]


def test_csv_bad_json_cell_and_too_many_cells_are_reported(project):
    header = ("external_id", "prompt", "response_a", "response_b", "metadata")
    rows = [("c1", "p", "A", "B", "{not json"), ("c2", "p", "A", "B", "{}", "surplus")]
    exc = failure(project, csv_bytes(rows, header), "csv")
    assert lines_of(exc) == [2, 3]
    assert "column metadata" in exc.detail[0]["errors"][0]["message"]
    assert "more cells" in exc.detail[1]["errors"][0]["message"]


def test_csv_bad_context_turn_is_reported_with_its_field(project):
    header = ("external_id", "prompt", "context", "response_a", "response_b")
    rows = [("c1", "p", json.dumps([{"role": "robot", "content": "x"}]), "A", "B")]
    exc = failure(project, csv_bytes(rows, header), "csv")
    assert fields_at(exc, 2) == ["context.0.role"]


# --- line numbers, every bad line, all or nothing


def test_jsonl_errors_name_the_file_line_counting_blank_lines(project):
    data = (
        jsonl_bytes([pair_record(1)])  # line 1
        + b"\n\n"  # lines 2-3
        + jsonl_bytes([pair_record(2, response_b="")])  # line 4
        + b"\n"  # line 5
        + jsonl_bytes([pair_record(3)])  # line 6
        + jsonl_bytes([pair_record(4, unexpected=1)])  # line 7
    )
    exc = failure(project, data, "jsonl")
    assert lines_of(exc) == [4, 7]
    assert fields_at(exc, 4) == ["response_b"]
    assert fields_at(exc, 7) == ["unexpected"]
    assert "2 of 4 records are invalid" in exc.message


def test_an_invalid_json_line_is_reported_and_the_rest_still_checked(project):
    data = (
        jsonl_bytes([pair_record(1)])
        + b'{"external_id": "x", oops\n'
        + jsonl_bytes([pair_record(3, prompt="")])
    )
    exc = failure(project, data, "jsonl")
    assert lines_of(exc) == [2, 3]
    assert exc.detail[0]["errors"][0]["field"] == "(line)"
    assert "not valid JSON" in exc.detail[0]["errors"][0]["message"]
    assert fields_at(exc, 3) == ["prompt"]


def test_every_bad_line_is_listed_with_every_field_error(project):
    records = [pair_record(i) for i in range(20)]
    records[3] = pair_record(3, prompt="")
    records[9] = {"prompt": "no id", "response_a": "A", "response_b": "B"}
    records[15] = pair_record(15, response_a="", context=[{"role": "bot", "content": "x"}])
    exc = failure(project, jsonl_bytes(records), "jsonl")
    assert lines_of(exc) == [4, 10, 16]
    assert fields_at(exc, 10) == ["external_id"]
    assert sorted(fields_at(exc, 16)) == ["context.0.role", "response_a"]
    assert exc.as_dict()["code"] == "import_failed"


def test_one_bad_line_among_many_imports_nothing(project):
    records = [pair_record(i) for i in range(50)]
    records[49] = pair_record(49, response_a="")
    failure(project, jsonl_bytes(records), "jsonl")
    assert not Item.objects.filter(project=project).exists()


def test_a_bad_line_after_several_flushed_batches_rolls_back_everything(project, settings):
    settings.DISSENSUS_IMPORT_BATCH_SIZE = 3
    do_import(project, jsonl_bytes([pair_record(0, prompt="kept as it was")]), "jsonl")
    records = [pair_record(i, prompt=f"new {i}") for i in range(12)]
    records.append({"external_id": "bad"})  # line 13, after four full batches
    exc = failure(project, jsonl_bytes(records), "jsonl")
    assert lines_of(exc) == [13]
    assert list(payloads(project)) == ["pair-0"]
    assert payloads(project)["pair-0"]["prompt"] == "kept as it was"


def test_a_bad_csv_record_after_several_batches_imports_nothing(project, settings):
    settings.DISSENSUS_IMPORT_BATCH_SIZE = 2
    rows = [(f"c{i}", f"p{i}", "A", "B") for i in range(9)] + [("c9", "p", "A", "")]
    exc = failure(project, csv_bytes(rows), "csv")
    assert lines_of(exc) == [11]
    assert not Item.objects.filter(project=project).exists()


def test_tabs_newlines_and_backslashes_survive_the_bulk_write(project):
    awkward = 'a\tb\nc\\d \\N e\r f\\\\t "q" é'
    record = pair_record(1, prompt=awkward)
    record["external_id"] = "id\twith\\tab"
    do_import(project, jsonl_bytes([record]), "jsonl")
    assert list(payloads(project)) == ["id\twith\\tab"]
    assert payloads(project)["id\twith\\tab"]["prompt"] == awkward


def test_the_error_list_is_capped_but_the_count_is_exact(project, settings):
    settings.DISSENSUS_IMPORT_MAX_ERRORS = 3
    records = [pair_record(i, prompt="") for i in range(10)]
    exc = failure(project, jsonl_bytes(records), "jsonl")
    assert lines_of(exc) == [1, 2, 3]
    assert "10 of 10 records are invalid" in exc.message
    assert "first 3" in exc.message


def test_a_repeated_external_id_in_one_file_names_both_lines(project):
    records = [pair_record(1), pair_record(2), pair_record(1, prompt="again")]
    exc = failure(project, jsonl_bytes(records), "jsonl")
    assert lines_of(exc) == [3]
    error = exc.detail[0]["errors"][0]
    assert error["field"] == "external_id"
    assert "'pair-1'" in error["message"] and "line 1" in error["message"]
    assert not Item.objects.exists()


def test_a_repeated_external_id_in_a_csv_names_both_physical_lines(project):
    data = b'external_id,prompt,response_a,response_b\nc1,"two\nlines",A,B\nc2,p,A,B\nc1,p,A,B\n'
    exc = failure(project, data, "csv")
    assert lines_of(exc) == [5]
    assert "line 2" in exc.detail[0]["errors"][0]["message"]


# --- re-import


def test_reimporting_an_external_id_updates_the_item_and_never_duplicates(project):
    first = do_import(project, jsonl_bytes(pair_record(i) for i in range(3)), "jsonl")
    ids = dict(Item.objects.filter(project=project).values_list("external_id", "id"))
    second = do_import(
        project,
        jsonl_bytes([pair_record(1, prompt="Edited?"), pair_record(2), pair_record(3)]),
        "jsonl",
    )
    assert first.as_dict() == {"total": 3, "created": 3, "updated": 0}
    assert second.as_dict() == {"total": 3, "created": 1, "updated": 2}
    assert Item.objects.filter(project=project).count() == 4
    assert payloads(project)["pair-1"]["prompt"] == "Edited?"
    again = dict(Item.objects.filter(project=project).values_list("external_id", "id"))
    assert {key: again[key] for key in ids} == ids  # same rows, updated in place


def test_reimport_keeps_the_items_annotation_counts(project, make_annotator, import_pairs):
    import_pairs(1)
    annotator = make_annotator("ann")
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    services.annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, value={"preference": 1}
    )
    do_import(project, jsonl_bytes([pair_record(0, prompt="Edited")]), "jsonl")
    item = Item.objects.get(project=project)
    assert (item.n_submitted, item.payload["prompt"]) == (1, "Edited")


def test_the_same_external_id_in_another_project_is_a_different_item(project, lead):
    other = services.project_create(name="other", task_type="preference_pair", created_by=lead)
    do_import(project, jsonl_bytes([pair_record(1)]), "jsonl")
    result = do_import(other, jsonl_bytes([pair_record(1)]), "jsonl")
    assert result.created == 1
    assert Item.objects.filter(external_id="pair-1").count() == 2


# --- gold answers


def test_a_gold_field_makes_a_gold_item_with_its_validated_value(project):
    do_import(
        project,
        jsonl_bytes([pair_record(1, gold={"preference": -2}), pair_record(2)]),
        "jsonl",
    )
    gold = Item.objects.get(external_id="pair-1")
    plain = Item.objects.get(external_id="pair-2")
    assert gold.is_gold is True
    assert gold.gold_value == {"preference": -2, "aspects": {}, "rationale": "", "flags": []}
    assert "gold" not in gold.payload
    assert (plain.is_gold, plain.gold_value) == (False, None)


def test_a_gold_column_in_csv_is_parsed_as_json(project):
    header = ("external_id", "prompt", "response_a", "response_b", "gold")
    rows = [("g1", "p", "A", "B", json.dumps({"preference": 1})), ("c2", "p", "A", "B", "")]
    do_import(project, csv_bytes(rows, header), "csv")
    assert Item.objects.get(external_id="g1").gold_value["preference"] == 1
    assert Item.objects.get(external_id="c2").is_gold is False


def test_reimport_without_gold_clears_the_gold_answer(project):
    do_import(project, jsonl_bytes([pair_record(1, gold={"preference": 0})]), "jsonl")
    do_import(project, jsonl_bytes([pair_record(1)]), "jsonl")
    item = Item.objects.get(external_id="pair-1")
    assert (item.is_gold, item.gold_value) == (False, None)


@pytest.mark.parametrize("gold", [{"preference": 3}, {"preference": "1"}, {"preference": True}])
def test_a_bad_gold_answer_is_reported_as_gold_preference(project, gold):
    exc = failure(project, jsonl_bytes([pair_record(1), pair_record(2, gold=gold)]), "jsonl")
    assert lines_of(exc) == [2]
    assert fields_at(exc, 2) == ["gold.preference"]
    assert not Item.objects.exists()


def test_a_gold_answer_with_an_unconfigured_aspect_is_reported(project):
    exc = failure(
        project,
        jsonl_bytes([pair_record(1, gold={"preference": 1, "aspects": {"humour": 1}})]),
        "jsonl",
    )
    assert fields_at(exc, 1) == ["gold.aspects.humour"]


# --- empty files and formats


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"", None),
        (b"", "jsonl"),
        (b"\n\n", "jsonl"),
        (b"[]", "json"),
        (b"", "csv"),
        (b"a,b\n", "csv"),
    ],
)
def test_an_empty_file_is_an_error(project, data, fmt):
    exc = failure(project, data, fmt)
    assert "no records" in exc.message
    assert exc.detail == []


def test_an_unknown_format_is_rejected_naming_the_format(project):
    with pytest.raises(InvalidInput) as exc:
        do_import(project, jsonl_bytes([pair_record(1)]), "xml")
    assert exc.value.as_dict()["errors"] == [{"field": "format", "message": "unknown format 'xml'"}]
    assert not Item.objects.exists()


def test_an_unknown_adapter_is_rejected(project):
    with pytest.raises(InvalidInput) as exc:
        services.items_import(
            project=project, stream=io.BytesIO(jsonl_bytes([pair_record(1)])), adapter="nope"
        )
    assert exc.value.detail[0].field == "adapter"


def test_progress_is_reported_per_batch(project, settings):
    settings.DISSENSUS_IMPORT_BATCH_SIZE = 4
    seen = []
    services.items_import(
        project=project,
        stream=io.BytesIO(jsonl_bytes(pair_record(i) for i in range(10))),
        fmt="jsonl",
        progress=seen.append,
    )
    assert seen == [4, 4, 2]


# --- over the REST API


def items_url(project):
    return f"/api/v1/projects/{project.pk}/items/"


def test_api_imports_a_json_array_body(project, lead, api):
    response = api(lead).post(items_url(project), [pair_record(i) for i in range(3)], format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"total": 3, "created": 3, "updated": 0}
    assert Item.objects.filter(project=project).count() == 3


def test_api_imports_an_ndjson_body_and_reports_updates(project, lead, api):
    body = jsonl_bytes(pair_record(i) for i in range(4))
    first = api(lead).post(items_url(project), body, content_type="application/x-ndjson")
    second = api(lead).post(items_url(project), body, content_type="application/x-ndjson")
    assert first.status_code == 201, first.content
    assert second.json() == {"total": 4, "created": 0, "updated": 4}
    assert Item.objects.filter(project=project).count() == 4


def test_api_imports_a_multipart_csv_upload(project, lead, api):
    header = ("external_id", "prompt", "response_a", "response_b", "metadata")
    data = csv_bytes([("u1", "p", "A", "B", '{"k": 1}'), ("u2", "q", "A", "B", "")], header)
    upload = SimpleUploadedFile("items.csv", data, content_type="text/csv")
    response = api(lead).post(items_url(project), {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 2
    assert payloads(project)["u1"]["metadata"] == {"k": 1}


def test_api_imports_a_raw_csv_body(project, lead, api):
    data = csv_bytes([("r1", "p", "A", "B")])
    response = api(lead).post(items_url(project), data, content_type="text/csv")
    assert response.status_code == 201, response.content
    assert list(payloads(project)) == ["r1"]


def test_api_imports_a_multipart_jsonl_upload(project, lead, api):
    upload = SimpleUploadedFile(
        "items.jsonl", jsonl_bytes(pair_record(i) for i in range(2)), content_type="text/plain"
    )
    response = api(lead).post(items_url(project), {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 2


def test_api_import_failure_is_400_listing_every_bad_line(project, lead, api):
    body = jsonl_bytes([pair_record(1), pair_record(2, prompt=""), pair_record(3, preference=1)])
    response = api(lead).post(items_url(project), body, content_type="application/x-ndjson")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "import_failed"
    assert "nothing was imported" in body["message"]
    assert [(e["line"], [f["field"] for f in e["errors"]]) for e in body["errors"]] == [
        (2, ["prompt"]),
        (3, ["preference"]),
    ]
    assert not Item.objects.exists()


def test_api_multipart_upload_failure_names_csv_lines(project, lead, api):
    data = b'external_id,prompt,response_a,response_b\nc1,"multi\nline",A,B\nc2,p,A,\n'
    upload = SimpleUploadedFile("items.csv", data, content_type="text/csv")
    response = api(lead).post(items_url(project), {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 4


def test_api_multipart_without_a_file_is_400(project, lead, api):
    response = api(lead).post(items_url(project), {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"


def test_api_unknown_format_parameter_is_400(project, lead, api):
    response = api(lead).post(
        items_url(project) + "?format=xml",
        jsonl_bytes([pair_record(1)]),
        content_type="application/x-ndjson",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "format", "message": "unknown format 'xml'"}]


def test_api_empty_body_is_400(project, lead, api):
    response = api(lead).post(items_url(project), b"", content_type="application/x-ndjson")
    assert response.status_code == 400
    assert "no records" in response.json()["message"]


def test_api_import_needs_the_lead_role(project, make_annotator, api):
    annotator = make_annotator("ann")
    response = api(annotator).post(items_url(project), [pair_record(1)], format="json")
    assert response.status_code == 403
    assert api().post(items_url(project), [pair_record(1)], format="json").status_code in (401, 403)
    assert not Item.objects.exists()

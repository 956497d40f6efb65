"""Hostile input answers 4xx with the API's error body, never 500 (issue 13, item 4 and 5):
text PostgreSQL cannot store, JSON nested 100,000 deep, lines longer than the limit."""

import io
import json
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from django.test import override_settings

from annotate import images, services
from annotate.images import ImageRejected, image_inspect
from annotate.models import Item
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import not_blank
from core.errors import ImportFailed, InvalidInput, SchemaError
from models_runtime.models import ModelRun
from tests.factories import UserFactory, pair_record

DEEP = 100_000
NUL = "\x00"


def jsonl_bytes(records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def import_failure(project, data: bytes, fmt: str) -> ImportFailed:
    with pytest.raises(ImportFailed) as exc:
        services.items_import(project=project, stream=io.BytesIO(data), fmt=fmt)
    return exc.value


def fields_by_line(exc: ImportFailed) -> dict[int, set[str]]:
    return {
        entry["line"]: {
            error["field"] if isinstance(error, dict) else error.field for error in entry["errors"]
        }
        for entry in exc.as_dict()["errors"]
    }


@pytest.fixture
def annotator_client(project, make_annotator, import_pairs, api):
    import_pairs(1)
    client = api(make_annotator("hostile"))
    assignment = client.post(f"/api/v1/projects/{project.pk}/next/").json()["assignment"]["id"]
    return client, f"/api/v1/assignments/{assignment}/submit/"


# --- API bodies


def test_a_nul_in_a_rationale_is_a_400_naming_the_field(annotator_client):
    client, url = annotator_client
    response = client.post(
        url, {"value": {"preference": 1, "rationale": f"fine{NUL}text"}}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["message"]
    assert [error["field"] for error in body["errors"]] == ["value.rationale"]
    assert "NUL" in body["errors"][0]["message"]


def test_a_lone_surrogate_in_a_json_body_is_a_400_naming_the_field(annotator_client):
    client, url = annotator_client
    raw = '{"value": {"preference": 1, "rationale": "half \\ud800 a pair"}}'
    response = client.post(url, raw, content_type="application/json")
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["value.rationale"]


def test_a_body_nested_100k_deep_is_a_400_with_the_error_body(annotator_client):
    client, url = annotator_client
    response = client.post(
        url, '{"value": ' + deep_json(DEEP) + "}", content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == [{"field": "(body)", "message": "nested deeper than 64 levels"}]


def test_brackets_inside_strings_do_not_count_as_nesting(annotator_client):
    client, url = annotator_client
    rationale = "[" * 1000 + "{" * 1000
    response = client.post(url, {"value": {"preference": 1, "rationale": rationale}}, format="json")
    assert response.status_code == 201, response.json()


def test_a_project_config_with_a_nul_key_is_a_400(db, api):
    staff = UserFactory(username="staffer", is_staff=True)
    response = api(staff).post(
        "/api/v1/projects/",
        {"name": "P", "task_type": "preference_pair", "config": {f"aspects{NUL}": ["x"]}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "config"


def test_a_nul_in_a_form_submitted_annotation_is_a_schema_error_naming_the_field():
    plugin = get_task_type("preference_pair")
    with pytest.raises(SchemaError) as exc:
        plugin.validate_annotation({"preference": 1, "rationale": f"a{NUL}"}, config={}, payload={})
    assert [error.field for error in exc.value.errors] == ["value.rationale"]


# --- imports


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"prompt": f"a{NUL}b"}, "prompt"),
        ({"external_id": f"id{NUL}"}, "external_id"),
        ({"metadata": {"deep": [{"note": f"x{NUL}"}]}}, "metadata.deep.0.note"),
    ],
)
def test_a_nul_in_an_imported_jsonl_record_names_its_line_and_field(project, overrides, field):
    data = jsonl_bytes([pair_record(1), pair_record(2, **overrides)])
    assert fields_by_line(import_failure(project, data, "jsonl")) == {2: {field}}
    assert not Item.objects.exists()


def test_a_nul_in_a_json_array_import_names_its_record(project):
    data = json.dumps([pair_record(1), pair_record(2, response_a=f"{NUL}")]).encode()
    assert fields_by_line(import_failure(project, data, "json")) == {2: {"response_a"}}


def test_a_nul_in_a_csv_import_names_its_line_and_column(project):
    data = (f"external_id,prompt,response_a,response_b\na,p,x,y\nb,p{NUL},x,y\n").encode()
    assert fields_by_line(import_failure(project, data, "csv")) == {3: {"prompt"}}


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_an_import_nested_100k_deep_is_a_problem_of_its_record(project, fmt):
    deep = '{"external_id": "deep", "metadata": ' + deep_json(DEEP) + "}"
    first = json.dumps(pair_record(1))
    data = (f"{first}\n{deep}\n" if fmt == "jsonl" else f"[{first}, {deep}]").encode()
    exc = import_failure(project, data, fmt)
    assert fields_by_line(exc) == {2: {"(line)"}}
    assert "nested deeper than 64 levels" in json.dumps(exc.as_dict())


def test_a_json_array_nested_120kb_deep_is_refused(project):
    exc = import_failure(project, deep_json(60_000).encode(), "json")
    assert "nested deeper than 64 levels" in json.dumps(exc.as_dict())


def test_a_csv_json_cell_nested_deep_is_a_problem_of_its_line(project):
    data = (
        f"external_id,prompt,response_a,response_b,metadata\na,p,x,y,{deep_json(1000)}\n"
    ).encode()
    exc = import_failure(project, data, "csv")
    assert fields_by_line(exc) == {2: {"(line)"}}
    assert "nested deeper" in json.dumps(exc.as_dict())


@override_settings(DISSENSUS_MAX_LINE_BYTES=1000)
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_line_longer_than_the_limit_stops_the_import_naming_the_line(project, fmt):
    if fmt == "jsonl":
        data = jsonl_bytes([pair_record(1), pair_record(2, prompt="x" * 5000)])
    else:
        data = (
            "external_id,prompt,response_a,response_b\na,p,x,y\nb," + "p" * 5000 + ",x,y\n"
        ).encode()
    exc = import_failure(project, data, fmt)
    assert exc.as_dict()["errors"] == [
        {
            "line": 2 if fmt == "jsonl" else 3,
            "errors": [{"field": "(line)", "message": "the line is longer than 1000 bytes"}],
        }
    ]
    assert not Item.objects.exists()


@override_settings(DISSENSUS_MAX_LINE_BYTES=1000)
def test_lines_up_to_the_limit_import(project):
    record = pair_record(1)
    record["prompt"] = "x" * (1000 - len(json.dumps(record)) + len(record["prompt"]))
    data = jsonl_bytes([record])
    assert len(data) == 1001  # 1000 bytes and the newline
    result = services.items_import(project=project, stream=io.BytesIO(data), fmt="jsonl")
    assert result.created == 1


# --- predictions import


def test_prediction_rows_with_nul_or_deep_nesting_are_400_naming_line_and_field(
    project, lead, import_pairs, api
):
    import_pairs(2)
    body = (
        json.dumps({"external_id": f"pair-0{NUL}", "value": {"preference": 1}})
        + "\n"
        + '{"external_id": "pair-1", "value": '
        + deep_json(DEEP)
        + "}\n"
    ).encode()
    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/predictions/?model=m",
        body,
        content_type="application/x-ndjson",
    )
    assert response.status_code == 400
    errors = {e["line"]: {f["field"] for f in e["errors"]} for e in response.json()["errors"]}
    assert errors == {1: {"external_id"}, 2: {"(row)"}}
    assert not ModelRun.objects.exists()


# --- the blank check


@pytest.mark.parametrize("text", ["\u200b", " \u200c\u200d ", "\u2060\n", "\ufeff\t\u200b", "   "])
def test_zero_width_only_text_is_blank(text):
    with pytest.raises(ValueError, match="must not be blank"):
        not_blank(text)


def test_text_with_zero_width_characters_around_a_word_is_not_blank():
    assert not_blank("\u200bword\u200b") == "\u200bword\u200b"


# --- uploads: zip bounds, images decoded once, truncated images


def raw_png(width: int, height: int, *, interlaced: bool = False, keep: float = 1.0) -> bytes:
    """An 8-bit RGB PNG built by hand (Pillow cannot write interlaced ones) whose zlib stream is
    complete but holds only ``keep`` of the scanline bytes the header declares."""
    passes = (
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
        + [(0, 1, 1, 2)]
        if interlaced
        else [(0, 0, 1, 1)]
    )
    raw = b""
    for x, y, dx, dy in passes:
        columns, rows = (width - x + dx - 1) // dx, (height - y + dy - 1) // dy
        if columns and rows:
            raw += (b"\x00" + bytes(i * 7 % 256 for i in range(3 * columns))) * rows
    raw = raw[: int(len(raw) * keep)]

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1 if interlaced else 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("interlaced", [False, True])
def test_a_complete_hand_made_png_is_accepted(interlaced):
    assert image_inspect(raw_png(37, 29, interlaced=interlaced)) == ("png", 37, 29)


@pytest.mark.parametrize("interlaced", [False, True])
def test_a_png_whose_pixel_data_stops_short_is_refused(interlaced):
    with pytest.raises(ImageRejected, match="truncated"):
        image_inspect(raw_png(50, 7000, interlaced=interlaced, keep=16 / 7000))


@pytest.fixture
def vproject(lead, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return services.project_create(
        name="args", task_type="visual_argument", created_by=lead, overlap=2
    )


def test_a_zip_manifest_that_is_one_400_mb_line_is_refused_early(vproject):
    spool = io.BytesIO()
    block = b'{"external_id": "' + b"x" * (1 << 20)
    with (
        zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("manifest.jsonl", "w", force_zip64=True) as manifest,
    ):
        for _ in range(400):
            manifest.write(block)
    compressed = spool.getvalue()
    tracemalloc.start()
    try:
        with pytest.raises(ImportFailed) as exc:
            services.items_import(project=vproject, stream=io.BytesIO(compressed))
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exc.value.as_dict()["errors"] == [
        {
            "line": 1,
            "errors": [{"field": "(line)", "message": "the line is longer than 10485760 bytes"}],
        }
    ]
    assert peak < 64 * 1024 * 1024  # the line is 400 MB; at most the limit and a chunk are read
    assert not Item.objects.exists()


def test_the_archive_limit_counts_uncompressed_bytes(vproject, settings):
    settings.DISSENSUS_IMPORT_ARCHIVE_MAX_BYTES = 1_000_000
    files = {"manifest.jsonl": b"\n" * 10, "zeros.bin": bytes(2_000_000)}
    data = zip_bytes_deflated(files)
    assert len(data) < 1_000_000
    with pytest.raises(InvalidInput) as exc:
        services.items_import(project=vproject, stream=io.BytesIO(data))
    assert "uncompressed" in exc.value.message
    assert exc.value.as_dict()["errors"] == [
        {"field": "file", "message": "archive too large once uncompressed"}
    ]


def zip_bytes_deflated(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_an_image_referenced_by_many_rows_is_decoded_once(vproject, monkeypatch):
    decoded: list[int] = []
    real = images._image_decode

    def counting(data: bytes):
        decoded.append(len(data))
        return real(data)

    monkeypatch.setattr(images, "_image_decode", counting)
    picture = raw_png(333, 211)
    rows = [{"external_id": f"v{n}", "image": "big.png"} for n in range(40)]
    data = zip_bytes_deflated({"manifest.jsonl": jsonl_bytes(rows), "big.png": picture})
    result = services.items_import(project=vproject, stream=io.BytesIO(data))
    assert result.created == 40
    assert decoded == [len(picture)]


# --- query strings


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(project, lead, import_pairs, api):
    import_pairs(1)
    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/predictions/?model=m%00x",
        jsonl_bytes([{"external_id": "pair-0", "value": {"preference": 1}}]),
        content_type="application/x-ndjson",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "model",
            "message": "contains a character that cannot be stored (NUL or a lone surrogate)",
        }
    ]
    assert not ModelRun.objects.exists()


def test_a_nul_in_a_page_query_is_a_400(client, lead):
    client.force_login(lead)
    assert client.get("/?q=%00").status_code == 400

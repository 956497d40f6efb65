"""visual_argument: structure and identification rules, image import (zip, URL, stored path) with
content checks, the VisArgs adapter, the permission-checked image view and export."""

from __future__ import annotations

import http.server
import io
import json
import threading

import pytest
from django.core.files.storage import default_storage
from django.http import QueryDict

from annotate import exporting, services
from annotate.images import ImageRejected, image_inspect
from annotate.models import Item
from annotate.tasktypes import get_task_type
from annotate.tasktypes.visual_argument.adapters import parse_reasoning_step
from core.errors import ImportFailed, InvalidInput, SchemaError
from tests.factories import UserFactory
from tests.typedata import jsonl_bytes, png_bytes, rows_of, structure_value, zip_bytes

PLUGIN = get_task_type("visual_argument")
PAYLOAD = {
    "image": {"path": "item-images/x/y.png", "width": 200, "height": 100},
    "premise_options": [
        {"id": "A", "text": "a"},
        {"id": "B", "text": "b"},
        {"id": "C", "text": "c"},
    ],
    "answer": "B",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def vproject(lead):
    return services.project_create(
        name="args", task_type="visual_argument", created_by=lead, overlap=2
    )


def check(value, config=None):
    return PLUGIN.validate_annotation(value, config=config or {}, payload=PAYLOAD)


def fields_of(exc) -> set[str]:
    return {error.field for error in exc.value.errors}


def steps(*triples):
    return [{"from": list(f), "to": t, "text": ""} for f, t in triples]


# --- structure rules


def test_valid_structure_is_kept_with_from_as_its_key():
    cleaned = check(structure_value())
    assert cleaned["reasoning_steps"][0]["from"] == ["VP1", "CP1"]
    assert cleaned == structure_value()


def test_box_reaching_past_the_right_edge_is_rejected():
    value = structure_value()
    value["visual_premises"][0]["box"] = {"x": 180, "y": 0, "w": 30, "h": 10}
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert fields_of(exc) == {"value.visual_premises.0.box"}


def test_box_reaching_past_the_bottom_edge_is_rejected():
    value = structure_value()
    value["visual_premises"][1]["box"] = {"x": 0, "y": 1, "w": 200, "h": 100}
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert fields_of(exc) == {"value.visual_premises.1.box"}


@pytest.mark.parametrize(
    "box,field",
    [
        ({"x": -1, "y": 0, "w": 5, "h": 5}, "value.visual_premises.0.box.x"),
        ({"x": 0, "y": 0, "w": 0, "h": 5}, "value.visual_premises.0.box.w"),
        ({"x": 0, "y": 0, "w": 5, "h": "5"}, "value.visual_premises.0.box.h"),
        ({"x": 0, "y": True, "w": 5, "h": 5}, "value.visual_premises.0.box.y"),
    ],
)
def test_box_coordinates_must_be_non_negative_numbers_and_sizes_positive(box, field):
    value = structure_value()
    value["visual_premises"][0]["box"] = box
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert fields_of(exc) == {field}


def test_premise_ids_must_follow_the_vp_and_cp_pattern():
    value = structure_value()
    value["visual_premises"][0]["id"] = "P1"
    value["commonsense_premises"][0]["id"] = "VP3"
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert fields_of(exc) == {"value.visual_premises.0.id", "value.commonsense_premises.0.id"}


def test_a_premise_id_used_twice_is_rejected():
    value = structure_value()
    value["visual_premises"][1]["id"] = "VP1"
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert "value.visual_premises.1.id" in fields_of(exc)


def test_a_step_using_an_unknown_id_is_rejected():
    value = structure_value(reasoning_steps=steps((["VP1", "VP9"], "C")))
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert fields_of(exc) == {"value.reasoning_steps.0.from"}
    assert "VP9" in exc.value.errors[0].message


def test_a_step_using_an_intermediate_nobody_produces_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check(structure_value(reasoning_steps=steps((["VP1", "IC4"], "C"))))
    assert fields_of(exc) == {"value.reasoning_steps.0.from"}


def test_steps_must_end_in_the_conclusion():
    with pytest.raises(SchemaError) as exc:
        check(structure_value(reasoning_steps=steps((["VP1"], "IC1"))))
    assert "value.reasoning_steps" in fields_of(exc)


def test_an_intermediate_conclusion_that_is_never_used_is_rejected():
    value = structure_value(reasoning_steps=steps((["VP1"], "IC1"), (["VP2"], "C")))
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert fields_of(exc) == {"value.reasoning_steps.0.to"}


def test_an_intermediate_conclusion_feeding_two_steps_is_not_a_tree():
    value = structure_value(
        reasoning_steps=steps((["VP1"], "IC1"), (["IC1"], "IC2"), (["IC1", "IC2"], "C"))
    )
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert fields_of(exc) == {"value.reasoning_steps.0.to"}


def test_two_steps_producing_the_same_node_are_rejected():
    value = structure_value(reasoning_steps=steps((["VP1"], "C"), (["VP2"], "C")))
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert fields_of(exc) == {"value.reasoning_steps.1.to"}


def test_a_cycle_of_intermediate_conclusions_is_rejected():
    value = structure_value(
        reasoning_steps=steps((["IC2"], "IC1"), (["IC1"], "IC2"), (["VP1"], "C"))
    )
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert any("cycle" in e.message for e in exc.value.errors)


def test_the_conclusion_cannot_be_an_input():
    value = structure_value(reasoning_steps=steps((["VP1"], "IC1"), (["IC1", "C"], "C")))
    with pytest.raises(SchemaError) as exc:
        check(value)
    assert "value.reasoning_steps.1.from" in fields_of(exc)


def test_premises_may_feed_several_steps():
    value = structure_value(reasoning_steps=steps((["VP1"], "IC1"), (["VP1", "IC1"], "C")))
    assert check(value)["reasoning_steps"][1]["from"] == ["VP1", "IC1"]


def test_structure_needs_a_box_a_step_and_a_conclusion():
    with pytest.raises(SchemaError) as exc:
        check({"visual_premises": [], "reasoning_steps": [], "conclusion": " "})
    assert fields_of(exc) == {"value.visual_premises", "value.reasoning_steps", "value.conclusion"}


# --- identification mode

IDENT = {"mode": "identification"}


def test_identification_accepts_one_of_the_options():
    assert check({"choice": "C"}, IDENT) == {"choice": "C"}


def test_identification_rejects_an_unknown_option():
    with pytest.raises(SchemaError) as exc:
        check({"choice": "D"}, IDENT)
    assert fields_of(exc) == {"value.choice"}


def test_identification_rejects_a_structure_value():
    with pytest.raises(SchemaError) as exc:
        check(structure_value(), IDENT)
    assert "value.choice" in fields_of(exc)


def test_project_mode_must_be_known(lead):
    with pytest.raises(InvalidInput):
        services.project_create(
            name="x", task_type="visual_argument", created_by=lead, config={"mode": "guessing"}
        )


def test_identification_options_are_shuffled_and_the_answer_hidden():
    import random

    orders = {tuple(PLUGIN.shown_order(PAYLOAD, random.Random(s))["options"]) for s in range(60)}
    assert len(orders) == 6
    shown = PLUGIN.display_context(PAYLOAD, shown_order={"options": ["C", "A", "B"]}, config=IDENT)
    assert [(o["key"], o["id"]) for o in shown["options"]] == [(1, "C"), (2, "A"), (3, "B")]
    assert "answer" not in PLUGIN.annotator_payload(PAYLOAD)


# --- image checks


def test_png_is_accepted_with_its_dimensions():
    assert image_inspect(png_bytes(64, 32)) == ("png", 64, 32)


def test_text_named_like_an_image_is_rejected_by_content():
    with pytest.raises(ImageRejected, match="not an image"):
        image_inspect(b"<svg><script>alert(1)</script></svg>")


def test_truncated_image_is_rejected():
    data = png_bytes(300, 300)
    with pytest.raises(ImageRejected, match="truncated"):
        image_inspect(data[: len(data) // 2])


def test_image_over_the_size_limit_is_rejected(settings):
    settings.DISSENSUS_IMAGE_MAX_BYTES = 100
    with pytest.raises(ImageRejected, match="larger than the limit of 100 bytes"):
        image_inspect(png_bytes())


def test_image_format_outside_the_allowed_set_is_rejected():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="BMP")
    with pytest.raises(ImageRejected, match="BMP images are not accepted"):
        image_inspect(out.getvalue())


def test_image_with_too_many_pixels_is_rejected(settings):
    settings.DISSENSUS_IMAGE_MAX_PIXELS = 1000
    with pytest.raises(ImageRejected, match="pixels"):
        image_inspect(png_bytes(50, 50))


# --- import: zip of images plus a manifest


def import_zip(project, files, adapter=None):
    return services.items_import(
        project=project, stream=io.BytesIO(zip_bytes(files)), adapter=adapter
    )


def test_zip_with_jsonl_manifest_stores_images_with_their_size(vproject):
    image = png_bytes(200, 100)
    manifest = jsonl_bytes(
        [
            {"external_id": "a1", "image": "images/one.png", "conclusion": "Buy it."},
            {"external_id": "a2", "image": "./images/one.png"},
        ]
    )
    result = import_zip(vproject, {"manifest.jsonl": manifest, "images/one.png": image})
    assert result.as_dict() == {"total": 2, "created": 2, "updated": 0}
    payload = Item.objects.get(project=vproject, external_id="a1").payload
    assert payload["image"]["width"] == 200 and payload["image"]["height"] == 100
    assert payload["image"]["source"] == "images/one.png"
    with default_storage.open(payload["image"]["path"]) as handle:
        assert handle.read() == image
    # The same content is stored once.
    assert Item.objects.get(external_id="a2").payload["image"]["path"] == payload["image"]["path"]


def test_zip_with_csv_manifest(vproject):
    manifest = b"external_id,image,description\nc1,pic.png,A poster\n"
    import_zip(vproject, {"manifest.csv": manifest, "pic.png": png_bytes()})
    assert Item.objects.get(project=vproject).payload["description"] == "A poster"


def test_zip_rejects_bad_images_line_by_line_and_writes_nothing(vproject, settings, media):
    settings.DISSENSUS_IMAGE_MAX_BYTES = 5000
    big = png_bytes(400, 400)
    # noise does not compress: make a PNG over the 5000-byte limit
    import random

    from PIL import Image

    noisy = Image.frombytes("RGB", (60, 60), random.Random(0).randbytes(60 * 60 * 3))
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    manifest = jsonl_bytes(
        [
            {"external_id": "ok", "image": "ok.png"},
            {"external_id": "text", "image": "fake.png"},
            {"external_id": "cut", "image": "cut.png"},
            {"external_id": "big", "image": "big.png"},
            {"external_id": "gone", "image": "missing.png"},
        ]
    )
    files = {
        "manifest.jsonl": manifest,
        "ok.png": png_bytes(),
        "fake.png": b"hello, world",
        "cut.png": big[: len(big) // 3],
        "big.png": out.getvalue(),
    }
    with pytest.raises(ImportFailed) as exc:
        import_zip(vproject, files)
    got = {
        d["line"]: (d["errors"][0]["field"], d["errors"][0]["message"]) for d in exc.value.detail
    }
    assert set(got) == {2, 3, 4, 5}
    assert all(field == "image" for field, _ in got.values())
    assert "not an image" in got[2][1]
    assert "truncated" in got[3][1]
    assert "larger than the limit" in got[4][1]
    assert "not a file in the archive" in got[5][1]
    assert not Item.objects.filter(project=vproject).exists()


def test_zip_without_a_manifest_is_refused(vproject):
    with pytest.raises(InvalidInput, match="no manifest"):
        import_zip(vproject, {"one.png": png_bytes()})


def test_manifest_image_url_is_refused_unless_fetching_is_turned_on(vproject):
    manifest = json.dumps({"external_id": "u1", "image": "http://127.0.0.1:9/poster.png"})
    with pytest.raises(ImportFailed) as info:
        services.items_import(project=vproject, stream=io.BytesIO(manifest.encode()), fmt="jsonl")
    assert "fetching image URLs is turned off" in str(info.value.detail)


def test_manifest_image_url_is_fetched_at_import(vproject, settings):
    settings.DISSENSUS_IMAGE_FETCH_URLS = True
    image = png_bytes(120, 80)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            body = image if self.path == "/pic.png" else b"nope"
            self.send_response(200 if self.path == "/pic.png" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        services.items_import(
            project=vproject,
            fmt="jsonl",
            stream=io.BytesIO(jsonl_bytes([{"external_id": "u1", "image": f"{base}/pic.png"}])),
        )
        with pytest.raises(ImportFailed) as exc:
            services.items_import(
                project=vproject,
                fmt="jsonl",
                stream=io.BytesIO(
                    jsonl_bytes([{"external_id": "u2", "image": f"{base}/missing.png"}])
                ),
            )
    finally:
        server.shutdown()
    payload = Item.objects.get(external_id="u1").payload
    assert (payload["image"]["width"], payload["image"]["height"]) == (120, 80)
    assert exc.value.detail[0]["errors"][0]["field"] == "image"


def test_manifest_can_point_at_an_image_already_stored(vproject):
    import_zip(
        vproject,
        {
            "manifest.jsonl": jsonl_bytes([{"external_id": "s1", "image": "a.png"}]),
            "a.png": png_bytes(30, 20),
        },
    )
    stored = Item.objects.get(external_id="s1").payload["image"]
    services.items_import(
        project=vproject,
        fmt="jsonl",
        stream=io.BytesIO(
            jsonl_bytes(
                [
                    {"external_id": "s2", "image": stored["path"]},
                    {
                        "external_id": "s3",
                        "image": {"path": stored["path"], "width": 1, "height": 1},
                    },
                ]
            )
        ),
    )
    for external_id in ("s2", "s3"):
        image = Item.objects.get(external_id=external_id).payload["image"]
        assert (image["path"], image["width"], image["height"]) == (stored["path"], 30, 20)


def test_a_path_outside_the_image_store_is_refused(vproject):
    with pytest.raises(ImportFailed) as exc:
        services.items_import(
            project=vproject,
            fmt="jsonl",
            stream=io.BytesIO(
                jsonl_bytes(
                    [
                        {
                            "external_id": "x",
                            "image": {"path": "../../etc/passwd", "width": 1, "height": 1},
                        }
                    ]
                )
            ),
        )
    assert exc.value.detail[0]["errors"][0]["field"] == "image"


# --- VisArgs adapter


def visargs_row(**overrides):
    row = {
        "id": "ad-1",
        "url": "posters/ad-1.png",
        "visual_premises": ["A red square", "A grey field"],
        "b_box": [
            {"startX": 50, "startY": 25, "w": 50, "h": 25},
            {"startX": 0, "startY": 0, "w": 200, "h": 100},
        ],
        "commonsense_premises": ["Red draws the eye."],
        "reasoning_steps": [
            "(VP1, CP1 -> IC1): The square is the focus.",
            "(IC1,VP2->C): It stands out.",
        ],
        "conclusion": "The square stands out.",
    }
    row.update(overrides)
    return row


def test_parse_reasoning_step():
    assert parse_reasoning_step("(VP1, CP1 -> IC1): Because.") == {
        "from": ["VP1", "CP1"],
        "to": "IC1",
        "text": "Because.",
    }
    assert parse_reasoning_step("(IC1,IC2->C):x")["from"] == ["IC1", "IC2"]
    with pytest.raises(ValueError):
        parse_reasoning_step("VP1 leads to C")


def test_visargs_rows_become_items_with_their_structure_as_reference(vproject):
    manifest = jsonl_bytes([visargs_row()])
    import_zip(
        vproject,
        {"manifest.jsonl": manifest, "posters/ad-1.png": png_bytes(200, 100)},
        adapter="visargs",
    )
    payload = Item.objects.get(project=vproject, external_id="ad-1").payload
    assert payload["conclusion"] == "The square stands out."
    assert payload["reference"] == structure_value()


def test_visargs_reference_box_out_of_bounds_fails_its_line(vproject):
    row = visargs_row(
        b_box=[
            {"startX": 190, "startY": 0, "w": 50, "h": 10},
            {"startX": 0, "startY": 0, "w": 10, "h": 10},
        ]
    )
    with pytest.raises(ImportFailed) as exc:
        import_zip(
            vproject,
            {
                "manifest.jsonl": jsonl_bytes([visargs_row(id="ok"), row]),
                "posters/ad-1.png": png_bytes(200, 100),
            },
            adapter="visargs",
        )
    assert exc.value.detail == [
        {
            "line": 2,
            "errors": [
                {
                    "field": "reference.visual_premises.0.box",
                    "message": exc.value.detail[0]["errors"][0]["message"],
                }
            ],
        }
    ]


def test_visargs_bad_rows_are_reported_with_their_fields(vproject):
    rows = [
        visargs_row(id="a", reasoning_steps=["(VP1 -> C): ok", "VP2 therefore C"]),
        visargs_row(id="b", b_box=[{"startX": 1, "startY": 1, "w": 2, "h": 2}]),
    ]
    with pytest.raises(ImportFailed) as exc:
        import_zip(
            vproject,
            {"manifest.jsonl": jsonl_bytes(rows), "posters/ad-1.png": png_bytes()},
            adapter="visargs",
        )
    assert [(d["line"], [e["field"] for e in d["errors"]]) for d in exc.value.detail] == [
        (1, ["reasoning_steps.1"]),
        (2, ["b_box"]),
    ]


# --- the image view


def one_item(project):
    import_zip(
        project,
        {
            "manifest.jsonl": jsonl_bytes(
                [
                    {
                        "external_id": "v1",
                        "image": "p.png",
                        "premise_options": [
                            {"id": "A", "text": "a"},
                            {"id": "B", "text": "b"},
                            {"id": "C", "text": "c"},
                        ],
                        "answer": "A",
                        "conclusion": "Buy it.",
                    }
                ]
            ),
            "p.png": png_bytes(40, 30),
        },
    )
    return Item.objects.get(project=project)


def test_image_is_served_to_project_members_only(vproject, make_annotator, client):
    item = one_item(vproject)
    url = f"/i/{item.pk}/files/image/"
    assert client.get(url).status_code == 302  # to the login page
    stranger = UserFactory(username="stranger")
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(make_annotator("annie", in_project=vproject))
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png_bytes(40, 30)
    assert client.get(f"/i/{item.pk}/files/other/").status_code == 404


def test_next_hides_the_identification_answer(lead, make_annotator, api):
    project = services.project_create(
        name="ident",
        task_type="visual_argument",
        created_by=lead,
        config={"mode": "identification"},
    )
    one_item(project)
    annie = make_annotator("annie", in_project=project)
    body = api(annie).post(f"/api/v1/projects/{project.pk}/next/").json()
    assert "answer" not in body["item"]["payload"]
    assert sorted(body["assignment"]["shown_order"]["options"]) == ["A", "B", "C"]
    assignment = body["assignment"]["id"]
    response = api(annie).post(
        f"/api/v1/assignments/{assignment}/submit/", {"value": {"choice": "B"}}, format="json"
    )
    assert response.status_code == 201


def test_form_value_json_is_read_and_bad_json_is_named_by_the_schema():
    form = QueryDict(mutable=True)
    form["value_json"] = json.dumps(structure_value())
    assert PLUGIN.form_to_value(form, shown_order={}, config={}) == structure_value()
    form["value_json"] = "{not json"
    with pytest.raises(SchemaError) as exc:
        check(PLUGIN.form_to_value(form, shown_order={}, config={}))
    assert "value.visual_premises" in fields_of(exc)


# --- export


@pytest.fixture
def annotated(vproject):
    import_zip(
        vproject,
        {"manifest.jsonl": jsonl_bytes([visargs_row()]), "posters/ad-1.png": png_bytes(200, 100)},
        adapter="visargs",
    )
    user = UserFactory(username="ann1")
    services.membership_add(project=vproject, user=user, role="annotator")
    assignment = services.assignment_reserve_next(project=vproject, annotator=user)
    value = structure_value()
    value["visual_premises"] = value["visual_premises"][:1]
    value["reasoning_steps"] = steps((["VP1", "CP1"], "C"))
    services.annotation_submit(assignment_id=assignment.pk, annotator=user, value=value)
    return vproject


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_boxes_export_in_pixels_and_normalised_with_the_image_path(annotated, fmt):
    rows = rows_of(annotated, "boxes", fmt)
    path = Item.objects.get(project=annotated).payload["image"]["path"]
    got = [
        (
            r["annotator"],
            r["premise_id"],
            float(r["x"]),
            float(r["y"]),
            float(r["w"]),
            float(r["h"]),
            float(r["x_norm"]),
            float(r["y_norm"]),
            float(r["w_norm"]),
            float(r["h_norm"]),
            r["image_path"],
        )
        for r in rows
    ]
    assert got == [
        ("ann1", "VP1", 50, 25, 50, 25, 0.25, 0.25, 0.25, 0.25, path),
        ("reference", "VP1", 50, 25, 50, 25, 0.25, 0.25, 0.25, 0.25, path),
        ("reference", "VP2", 0, 0, 200, 100, 0.0, 0.0, 1.0, 1.0, path),
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_items_and_annotations_export_carry_the_image(annotated, fmt):
    item = rows_of(annotated, "items", fmt)[0]
    assert item["image_path"].startswith("item-images/")
    assert str(item["image_width"]) == "200" and str(item["image_height"]) == "100"
    assert len(rows_of(annotated, "annotations", fmt)) == 1


def test_boxes_export_can_leave_out_the_reference(annotated):
    rows = list(
        exporting.export_rows(annotated, shape="boxes", options={"include_reference": "no"})
    )
    assert [r["annotator"].startswith("ann-") for r in rows] == [True]


def test_lead_imports_a_zip_on_the_project_page_and_through_the_api(vproject, lead, client, api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = zip_bytes(
        {"manifest.jsonl": jsonl_bytes([visargs_row()]), "posters/ad-1.png": png_bytes(200, 100)}
    )
    client.force_login(lead)
    response = client.post(
        f"/p/{vproject.pk}/import/",
        {
            "file": SimpleUploadedFile("visargs.zip", data, content_type="application/zip"),
            "adapter": "visargs",
        },
    )
    assert response.status_code == 302
    assert Item.objects.get(project=vproject).payload["reference"] == structure_value()
    upload = SimpleUploadedFile("again.zip", data, content_type="application/zip")
    response = api(lead).post(
        f"/api/v1/projects/{vproject.pk}/items/?adapter=visargs",
        {"file": upload},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json() == {"total": 1, "created": 0, "updated": 1}

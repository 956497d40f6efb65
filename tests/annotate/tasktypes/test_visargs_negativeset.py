"""The VisArgs ``negativeset`` adapter: one identification item per negative set, with the set's
name kept, the answer as the item's reference; bad rows named by line and field, nothing half
imported. The rows are made up in the dataset's layout (``negativeset`` entries with
``description``, ``<set>_vp_options`` and ``<set>_answer``, a 0-based index)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from annotate import services
from annotate.models import Item
from core.errors import ImportFailed, InvalidInput
from tests.typedata import jsonl_bytes, png_bytes, zip_bytes

SETS = ("easy", "hard_semantic", "hard_clip", "hard_colbert", "hard_colbert_clip")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def vproject(lead):
    return services.project_create(
        name="neg", task_type="visual_argument", created_by=lead, overlap=2
    )


def entry(**overrides):
    """One negative set entry: every set's three options, the right one at a different place."""
    data: dict = {"description": "A poster: a red square on a grey field."}
    for n, name in enumerate(SETS):
        data[f"{name}_vp_options"] = [f"{name} premise {k}" for k in range(3)]
        data[f"{name}_answer"] = n % 3
    data.update(overrides)
    return data


def row(**overrides):
    data = {
        "id": "ad-1",
        "url": "posters/ad-1.png",
        "conclusion": "The square stands out.",
        "negativeset": [entry()],
    }
    data.update(overrides)
    return data


def csv_bytes(rows) -> bytes:
    """A CSV manifest; lists as JSON text, as the platform's CSV layout holds them."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for data in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in data.items()})
    return out.getvalue().encode()


def import_rows(project, rows, *, fmt="jsonl"):
    manifest = {"jsonl": jsonl_bytes, "csv": csv_bytes}[fmt](rows)
    files = {f"manifest.{fmt}": manifest, "posters/ad-1.png": png_bytes(200, 100)}
    return services.items_import(
        project=project, stream=io.BytesIO(zip_bytes(files)), adapter="visargs_negativeset"
    )


def test_each_negative_set_becomes_an_identification_item(vproject):
    import_rows(vproject, [row()])
    items = {i.external_id: i for i in Item.objects.filter(project=vproject)}
    assert sorted(items) == sorted(f"ad-1:{name}" for name in SETS)
    hard = items["ad-1:hard_semantic"].payload
    assert hard["premise_options"] == [
        {"id": "A", "text": "hard_semantic premise 0"},
        {"id": "B", "text": "hard_semantic premise 1"},
        {"id": "C", "text": "hard_semantic premise 2"},
    ]
    assert hard["answer"] == "B"  # hard_semantic_answer = 1, 0-based
    assert items["ad-1:easy"].payload["answer"] == "A"
    assert items["ad-1:hard_clip"].payload["answer"] == "C"
    assert hard["metadata"] == {"negative_set": "hard_semantic", "visargs_id": "ad-1"}
    assert hard["conclusion"] == "The square stands out."
    assert hard["description"] == "A poster: a red square on a grey field."
    # One image stored for the five items; the answer is a reference, not a gold check.
    assert len({i.payload["image"]["path"] for i in items.values()}) == 1
    assert not any(i.is_gold for i in items.values())
    vproject.refresh_from_db()
    assert vproject.config["mode"] == "identification"


def test_flat_rows_and_a_csv_manifest_are_read_too(vproject):
    flat = {"url": "posters/ad-1.png", "conclusion": "Buy it.", **entry()}
    flat_csv = {k: v for k, v in flat.items() if not k.startswith("hard")}
    import_rows(vproject, [flat_csv], fmt="csv")
    item = Item.objects.get(project=vproject)
    # No id: the image's file name stands in.
    assert item.external_id == "ad-1.png:easy"
    assert item.payload["answer"] == "A"
    assert len(item.payload["premise_options"]) == 3


def test_several_entries_in_a_row_are_numbered(vproject):
    import_rows(vproject, [row(negativeset=[entry(), entry(description="Again.")])])
    ids = set(Item.objects.filter(project=vproject).values_list("external_id", flat=True))
    assert "ad-1:1:easy" in ids and "ad-1:2:hard_clip" in ids and len(ids) == 10


def test_the_answer_may_be_the_text_of_one_option(vproject):
    bare = entry()
    bare = {"easy_vp_options": bare["easy_vp_options"], "easy_answer": "easy premise 2"}
    import_rows(vproject, [row(negativeset=[bare])])
    assert Item.objects.get(project=vproject).payload["answer"] == "C"


def test_bad_rows_are_named_by_line_and_field_and_nothing_is_imported(vproject):
    rows = [
        row(id="ok"),
        row(id="out", negativeset=[entry(easy_answer=3)]),
        row(id="lonely", negativeset=[{"easy_answer": 0, "hard_clip_vp_options": ["a", "b"]}]),
        row(id="none", negativeset=[{"description": "no sets"}]),
        row(id="notlist", negativeset="easy"),
        {"id": "flat", "conclusion": "x", "easy_vp_options": "a; b", "easy_answer": 0},
        row(id="noconc", conclusion=""),
        row(id="text", negativeset=[entry(hard_clip_answer="not an option")]),
    ]
    with pytest.raises(ImportFailed) as exc:
        import_rows(vproject, rows)
    found = {d["line"]: {e["field"]: e["message"] for e in d["errors"]} for d in exc.value.detail}
    assert sorted(found) == [2, 3, 4, 5, 6, 7, 8]
    assert "not among the options" in found[2]["negativeset.0.easy_answer"]
    assert "0 to 2" in found[2]["negativeset.0.easy_answer"]
    assert "no easy_vp_options" in found[3]["negativeset.0.easy_answer"]
    assert "required" in found[3]["negativeset.0.hard_clip_answer"]
    assert "no negative set" in found[4]["negativeset.0"]
    assert "list of negative set entries" in found[5]["negativeset"]
    assert set(found[6]) == {"url", "easy_vp_options"}
    assert set(found[7]) == {"conclusion"}
    assert "got 'not an option'" in found[8]["negativeset.0.hard_clip_answer"]
    assert not Item.objects.filter(project=vproject).exists()


def test_a_structure_project_with_items_refuses_the_identification_import(vproject):
    services.items_import(
        project=vproject,
        stream=io.BytesIO(
            zip_bytes(
                {
                    "manifest.jsonl": jsonl_bytes([{"external_id": "s", "image": "p.png"}]),
                    "p.png": png_bytes(),
                }
            )
        ),
    )
    with pytest.raises(InvalidInput) as exc:
        import_rows(vproject, [row()])
    assert "mode='identification'" in exc.value.detail[0].message
    assert Item.objects.filter(project=vproject).count() == 1

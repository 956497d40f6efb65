"""The rows an import stores, pinned across its write paths: PostgreSQL's binary COPY (straight
into the item table, or through the staging table's upsert) and the ORM's ``bulk_create`` (the
generic path, SQLite's) store the same items for the same file."""

import io
import json
from datetime import timedelta

import pytest
from django.db import connection

from annotate import services
from annotate.models import Item
from annotate.services import importing
from tests.factories import ProjectFactory, pair_record

RANKS = 2**31 - 1

# Text that the COPY formats treat specially (backslashes, tabs, newlines, quotes, a NUL-free
# escape, characters outside the BMP, a BOM-like character), nested metadata, a null left out,
# an integer external id, gold answers.
SAMPLE = [
    pair_record(0),
    pair_record(1, prompt='tab\there, new\nline, cr\r, back\\slash, \\N, quote " end'),
    pair_record(2, response_a="émoji 🎉 ünïcödé \u2028 \ufeff", model_a=None),
    pair_record(3, metadata={"nested": {"list": [1, 2.5, None, True, "x\\y"]}, "n": -7}),
    pair_record(4, gold={"preference": -2, "rationale": "a\tb\\c"}),
    {**pair_record(5), "external_id": 12345},
    pair_record(6, context=[{"role": "user", "content": "earlier \\ turn"}]),
    pair_record(7, gold={"preference": 1, "flags": []}),
]
UPDATE = [
    pair_record(1, prompt="Edited\\again\t"),
    pair_record(4),  # no gold any more
    pair_record(8, gold={"preference": 0}),
]


def jsonl(records):
    return io.BytesIO("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode())


def stored(project):
    rows = Item.objects.filter(project=project).order_by("external_id")
    out = {}
    for item in rows:
        assert 0 <= item.rank < RANKS
        assert abs(item.updated_at - item.created_at) < timedelta(minutes=5)
        out[item.external_id] = (
            item.payload,
            item.is_gold,
            item.gold_value,
            item.is_qualification,
            item.n_submitted,
            item.extra_overlap,
        )
    return out


def import_twice(project):
    first = services.items_import(project=project, stream=jsonl(SAMPLE), fmt="jsonl")
    after_first = stored(project)
    created = {i.external_id: i.created_at for i in Item.objects.filter(project=project)}
    second = services.items_import(project=project, stream=jsonl(UPDATE), fmt="jsonl")
    for item in Item.objects.filter(project=project):
        if item.external_id in created:
            assert item.created_at == created[item.external_id]  # created_at kept on update
    return first.as_dict(), second.as_dict(), after_first, stored(project)


@pytest.mark.django_db
def test_copy_and_orm_paths_store_the_same_rows(monkeypatch):
    copy_project = ProjectFactory()
    assert importing._copy_supported() is (connection.vendor == "postgresql")
    by_copy = import_twice(copy_project)

    monkeypatch.setattr(importing, "_copy_supported", lambda: False)
    orm_project = ProjectFactory()
    by_orm = import_twice(orm_project)

    assert by_copy == by_orm
    first, second, after_first, after_second = by_copy
    assert first == {"total": 8, "created": 8, "updated": 0}
    assert second == {"total": 3, "created": 1, "updated": 2}
    assert after_first["pair-1"][0]["prompt"] == SAMPLE[1]["prompt"]
    assert "model_a" not in after_first["pair-2"][0]
    assert after_first["12345"][0]["prompt"] == SAMPLE[5]["prompt"]
    assert after_first["pair-4"][1:3] == (
        True,
        {"preference": -2, "aspects": {}, "rationale": "a\tb\\c", "flags": []},
    )
    assert after_second["pair-1"][0]["prompt"] == "Edited\\again\t"
    assert after_second["pair-4"][1:3] == (False, None)
    assert after_second["pair-8"][1] is True


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's COPY writer")
@pytest.mark.django_db
def test_a_direct_copy_that_meets_an_existing_row_falls_back_to_the_upsert(monkeypatch):
    """As when another transaction adds one of the file's items while the import runs: the
    batch that meets it is rolled back to its savepoint and upserted, as are the later ones."""
    project = ProjectFactory()
    services.items_import(project=project, stream=jsonl([pair_record(2)]), fmt="jsonl")
    kept = Item.objects.get(project=project, external_id="pair-2")
    original_init = importing._PostgresWriter.__init__

    def init_direct(self, project):
        original_init(self, project)
        self.direct = True  # as though the project had had no items when the import began

    monkeypatch.setattr(importing._PostgresWriter, "__init__", init_direct)
    monkeypatch.setattr("django.conf.settings.DISSENSUS_IMPORT_BATCH_SIZE", 2)
    records = [
        pair_record(0),
        pair_record(1),
        pair_record(2, prompt="New"),
        *map(pair_record, (3, 4)),
    ]
    result = services.items_import(project=project, stream=jsonl(records), fmt="jsonl")

    assert result.as_dict() == {"total": 5, "created": 4, "updated": 1}
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    assert sorted(items) == [f"pair-{n}" for n in range(5)]
    assert items["pair-2"].pk == kept.pk
    assert items["pair-2"].payload["prompt"] == "New"

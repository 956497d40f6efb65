"""Importing existing labels: external annotators, all or nothing, re-import with history,
leads only, overlap, and position bias leaving imported labels out."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from analysis.figures import agreement_compute
from annotate import hooks, services
from annotate.models import Annotation, AnnotationVersion, Assignment, Item, Membership
from core.errors import ImportFailed

User = get_user_model()

pytestmark = pytest.mark.django_db


def jsonl(rows) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def vote(preference, **more):
    return {"preference": preference, **more}


def do_import(project, rows, fmt="jsonl"):
    return services.labels_import(project=project, stream=io.BytesIO(jsonl(rows)), fmt=fmt)


def failure(project, rows):
    with pytest.raises(ImportFailed) as exc:
        do_import(project, rows)
    return exc.value


def errors_at(exc, line):
    entry = next(entry for entry in exc.detail if entry["line"] == line)
    return {(error["field"], error["message"]) for error in entry["errors"]}


def fields_at(exc, line):
    return {field for field, _message in errors_at(exc, line)}


@pytest.fixture
def pairs(project, import_pairs):
    import_pairs(3)
    return project


ROWS = [
    {
        "external_id": "pair-0",
        "annotator": "w1",
        "value": vote(-2),
        "created_at": "2024-05-01T10:00:00+00:00",
        "time_spent_ms": 42000,
        "metadata": {"confidence": 4},
        "cohort": "crowd",
    },
    {"external_id": "pair-0", "annotator": "w2", "value": vote(1), "cohort": "expert"},
    {"external_id": "pair-1", "annotator": "w1", "value": vote(0, rationale="same")},
]


def test_labels_become_annotations_of_external_annotators(pairs):
    result = do_import(pairs, ROWS)
    assert result.as_dict() == {
        "total": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "annotators_created": 2,
    }
    members = {m.external_name: m for m in Membership.objects.filter(project=pairs, external=True)}
    assert set(members) == {"w1", "w2"}
    assert members["w1"].cohort == "crowd" and members["w2"].cohort == "expert"
    assert members["w1"].role == Membership.Role.ANNOTATOR
    for member in members.values():
        assert member.user.username == f"ext-{pairs.pk}-{member.external_name}"
        assert not member.user.has_usable_password()
    first = Annotation.objects.get(item__external_id="pair-0", annotator=members["w1"].user)
    assert first.value == {"preference": -2, "aspects": {}, "rationale": "", "flags": []}
    assert first.shown_order == {}
    assert first.time_spent_ms == 42000
    assert first.metadata == {"confidence": 4}
    assert first.created_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert first.version == 1
    assert first.assignment.status == Assignment.Status.SUBMITTED
    other = Annotation.objects.get(item__external_id="pair-1")
    assert other.value["rationale"] == "same"
    assert other.time_spent_ms is None


def test_an_external_annotator_cannot_log_in(pairs):
    do_import(pairs, ROWS)
    user = Membership.objects.get(project=pairs, external_name="w1").user
    assert not Client().login(username=user.username, password="")


def test_csv_rows_carry_value_and_metadata_as_json(pairs):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["external_id", "annotator", "value", "metadata", "time_spent_ms"])
    writer.writerow(["pair-2", "csv-rater", json.dumps(vote(2)), json.dumps({"k": 1}), "900"])
    result = services.labels_import(
        project=pairs, stream=io.BytesIO(out.getvalue().encode()), fmt="csv"
    )
    assert result.created == 1
    annotation = Annotation.objects.get(item__external_id="pair-2")
    assert annotation.value["preference"] == 2
    assert annotation.metadata == {"k": 1}
    assert annotation.time_spent_ms == 900


def test_imported_labels_count_towards_overlap(pairs, make_annotator):
    # overlap is 3: three imported labels fill pair-0, so a real annotator never gets it.
    do_import(
        pairs, [{"external_id": "pair-0", "annotator": f"w{k}", "value": vote(1)} for k in range(3)]
    )
    assert Item.objects.get(project=pairs, external_id="pair-0").n_submitted == 3
    annotator = make_annotator("real")
    served = set()
    while assignment := services.assignment_reserve_next(project=pairs, annotator=annotator):
        served.add(assignment.item.external_id)
        services.annotation_submit(assignment_id=assignment.pk, annotator=annotator, value=vote(0))
    assert served == {"pair-1", "pair-2"}


def test_a_bad_file_imports_nothing_and_lists_every_bad_line(pairs):
    rows = [
        {"external_id": "pair-0", "annotator": "ok", "value": vote(1)},
        {"external_id": "nope", "annotator": "a", "value": vote(1)},
        {"external_id": "pair-1", "annotator": "a", "value": vote(5)},
        {"external_id": "pair-0", "annotator": "ok", "value": vote(-1)},
        {"external_id": "pair-2", "annotator": "", "value": vote(0), "created_at": "yesterday"},
        {"external_id": "pair-2", "annotator": "b", "value": vote(0), "extra": 1},
        {
            "external_id": "pair-2",
            "annotator": "c",
            "value": {"preference": 1, "aspects": {"x": 1}},
        },
    ]
    exc = failure(pairs, rows)
    assert [entry["line"] for entry in exc.detail] == [2, 3, 4, 5, 6, 7]
    assert errors_at(exc, 2) == {("external_id", "no item 'nope' in this project")}
    assert fields_at(exc, 3) == {"value.preference"}
    assert errors_at(exc, 4) == {("annotator", "'ok' already labels 'pair-0' on line 1")}
    assert fields_at(exc, 5) == {"annotator", "created_at"}
    assert fields_at(exc, 6) == {"extra"}
    assert fields_at(exc, 7) == {"value.aspects.x"}
    assert not Annotation.objects.exists()
    assert not Membership.objects.filter(external=True).exists()
    assert not User.objects.filter(username__startswith="ext-").exists()
    assert set(Item.objects.values_list("n_submitted", flat=True)) == {0}


def test_reimporting_updates_in_place_with_history(pairs):
    do_import(pairs, ROWS)
    changed = [dict(ROWS[0], value=vote(-1, rationale="on second thought")), ROWS[1], ROWS[2]]
    result = do_import(pairs, changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert result.annotators_created == 0
    assert Annotation.objects.count() == 3
    annotation = Annotation.objects.get(
        item__external_id="pair-0", annotator__memberships__external_name="w1"
    )
    assert annotation.version == 2
    assert annotation.value["preference"] == -1
    history = AnnotationVersion.objects.get(annotation=annotation)
    assert (history.version, history.value["preference"]) == (1, -2)
    assert Item.objects.get(project=pairs, external_id="pair-0").n_submitted == 2


def test_the_same_name_in_two_projects_is_two_annotators(pairs, lead):
    other = services.project_create(name="other", task_type="preference_pair", created_by=lead)
    services.items_import(
        project=other,
        stream=io.BytesIO(
            jsonl([{"external_id": "pair-0", "prompt": "p", "response_a": "a", "response_b": "b"}])
        ),
        fmt="jsonl",
    )
    do_import(pairs, ROWS[:1])
    do_import(other, ROWS[:1])
    users = set(Membership.objects.filter(external_name="w1").values_list("user_id", flat=True))
    assert len(users) == 2


def test_position_bias_leaves_imported_labels_out(pairs, make_annotator):
    do_import(
        pairs,
        [{"external_id": f"pair-{n}", "annotator": "ext", "value": vote(-2)} for n in range(3)],
    )
    real = make_annotator("real")
    assignment = services.assignment_reserve_next(project=pairs, annotator=real)
    services.annotation_submit(assignment_id=assignment.pk, annotator=real, value=vote(-1))
    rows = {
        row["username"]: row
        for row in agreement_compute(project=pairs).to_dict()["annotators"]["rows"]
    }
    imported = rows[f"ext-{pairs.pk}-ext"]
    assert imported["n_annotations"] == 3  # in every analysis...
    assert (imported["side_picks"], imported["left_pick_rate"]) == (0, None)  # ...but no side
    assert rows["real"]["side_picks"] == 1


# --- the API and the command


def test_only_leads_import_labels_through_the_api(pairs, lead, make_annotator, api):
    url = f"/api/v1/projects/{pairs.pk}/annotations/"
    body = jsonl(ROWS)
    annotator = make_annotator("ann")
    denied = api(annotator).post(url, body, content_type="application/x-ndjson")
    assert denied.status_code == 403
    assert not Annotation.objects.exists()
    response = api(lead).post(url, body, content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 3
    assert len(api(lead).get(url).json()["results"]) == 3


def test_the_api_answers_400_with_line_and_field(pairs, lead, api):
    url = f"/api/v1/projects/{pairs.pk}/annotations/"
    rows = [ROWS[0], {"external_id": "missing", "annotator": "w", "value": vote(1)}]
    response = api(lead).post(url, jsonl(rows), content_type="application/x-ndjson")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "import_failed"
    assert body["errors"] == [
        {
            "line": 2,
            "errors": [{"field": "external_id", "message": "no item 'missing' in this project"}],
        }
    ]
    assert not Annotation.objects.exists()


def test_the_command_imports_and_lists_bad_lines(pairs, tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_bytes(jsonl(ROWS))
    out = io.StringIO()
    call_command("import_annotations", pairs.pk, str(path), stdout=out)
    assert "3 created" in out.getvalue()
    assert Annotation.objects.count() == 3
    path.write_bytes(jsonl([{"external_id": "zzz", "annotator": "w", "value": vote(1)}]))
    err = io.StringIO()
    with pytest.raises(CommandError, match="bad lines: 1"):
        call_command("import_annotations", pairs.pk, str(path), stdout=io.StringIO(), stderr=err)
    assert "line 1: external_id: no item 'zzz' in this project" in err.getvalue()


def test_an_import_tells_the_apps_above_once_it_is_committed(
    pairs, django_capture_on_commit_callbacks
):
    calls = []

    def receiver(*, project_id):
        calls.append(project_id)

    hooks.annotations_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            do_import(pairs, ROWS)
            assert calls == []  # not before the commit
        assert calls == [pairs.pk]
    finally:
        hooks.annotations_changed.disconnect(receiver)

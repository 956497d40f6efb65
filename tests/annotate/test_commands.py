"""Management commands: import_items, export, create_annotators, demo_setup."""

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from annotate import services
from annotate.models import Annotation, Item, Membership, Project
from annotate.tasktypes.preference_pair.demo import DEMO_PAIRS, DEMO_PROJECT_NAME
from tests.factories import pair_record


def run(*args, **kwargs) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def write_jsonl(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def label(project, annotator, votes: list[int]) -> None:
    """``annotator`` labels the next ``len(votes)`` items of ``project`` with these votes."""
    for vote in votes:
        assignment = services.assignment_reserve_next(project=project, annotator=annotator)
        assert assignment is not None
        services.annotation_submit(
            assignment_id=assignment.pk, annotator=annotator, value={"preference": vote}
        )


# --- import_items


def test_import_items_creates_then_updates_by_external_id(project, tmp_path):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair_record(i) for i in range(3)])
    out, _ = run("import_items", project.pk, path)
    assert "3 created, 0 updated" in out
    assert Item.objects.filter(project=project).count() == 3

    changed = [pair_record(i, prompt=f"Changed {i}?") for i in range(3)]
    out, _ = run("import_items", project.pk, write_jsonl(tmp_path / "again.jsonl", changed))
    assert "0 created, 3 updated" in out
    prompts = set(Item.objects.filter(project=project).values_list("payload__prompt", flat=True))
    assert prompts == {"Changed 0?", "Changed 1?", "Changed 2?"}


def test_import_items_reads_csv_and_json_array_files(project, tmp_path):
    csv_path = tmp_path / "pairs.data"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["external_id", "prompt", "response_a", "response_b"])
        writer.writeheader()
        writer.writerow(
            {"external_id": "c1", "prompt": "P, with comma", "response_a": "A", "response_b": "B"}
        )
    json_path = tmp_path / "pairs.json"
    json_path.write_text(json.dumps([pair_record(1), pair_record(2)]))

    out, _ = run("import_items", project.pk, str(csv_path), "--format", "csv")
    assert "1 created" in out
    out, _ = run("import_items", project.pk, str(json_path))
    assert "2 created" in out
    assert Item.objects.get(project=project, external_id="c1").payload["prompt"] == "P, with comma"
    assert Item.objects.filter(project=project).count() == 3


def test_import_items_with_bad_lines_lists_each_and_imports_nothing(project, tmp_path):
    records = [
        pair_record(1),
        pair_record(2, response_a=""),
        pair_record(3),
        {"external_id": "x4", "prompt": "no responses"},
    ]
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_items", project.pk, path, stdout=io.StringIO(), stderr=err)
    assert "bad lines: 2, 4" in str(failure.value)
    lines = err.getvalue()
    assert "line 2: response_a: " in lines
    assert "line 4: response_a: " in lines
    assert "line 4: response_b: " in lines
    assert "line 1:" not in lines and "line 3:" not in lines
    assert Item.objects.filter(project=project).count() == 0


def test_import_items_rejects_an_unknown_adapter_or_project(project, tmp_path):
    path = write_jsonl(tmp_path / "pairs.jsonl", [pair_record(1)])
    with pytest.raises(CommandError, match="no import adapter 'nope'"):
        run("import_items", project.pk, path, "--adapter", "nope")
    with pytest.raises(CommandError, match="no project with id"):
        run("import_items", project.pk + 1000, path)
    with pytest.raises(CommandError, match="no such file"):
        run("import_items", project.pk, str(tmp_path / "missing.jsonl"))
    assert Item.objects.count() == 0


# --- export


@pytest.fixture
def labelled(project, import_pairs, make_annotator):
    """Four items; ann1 labels three of them, ann2 two: five annotations."""
    import_pairs(4)
    label(project, make_annotator("ann1"), [-2, -1, 1])
    label(project, make_annotator("ann2"), [-2, 2])
    assert Annotation.objects.filter(project=project).count() == 5
    return project


def read_rows(path, fmt: str) -> list[dict]:
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if fmt == "csv":
        with path.open(newline="") as f:
            return list(csv.DictReader(f))
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize(("shape", "expected_rows"), [("annotations", 5), ("items", 4)])
def test_export_writes_every_row_in_each_format(labelled, tmp_path, fmt, shape, expected_rows):
    path = tmp_path / f"out.{fmt}"
    out, _ = run("export", labelled.pk, "--shape", shape, "--format", fmt, "--output", str(path))
    rows = read_rows(path, fmt)
    assert len(rows) == expected_rows
    assert f"Exported {expected_rows} {shape} rows" in out
    assert not (tmp_path / f"out.{fmt}.partial").exists()


def test_export_preference_pairs_filters_diverging_items(labelled, tmp_path):
    # Votes per item (closest to done first): ann1 -2, -1, +1; ann2 -2 and +2 on the first two.
    # Item 1: -2, -2 (agree), item 2: -1, +2 (diverging), item 3: +1 (one vote).
    counts = {}
    for diverging in ("keep", "drop", "only"):
        path = tmp_path / f"pairs-{diverging}.jsonl"
        run(
            "export",
            labelled.pk,
            "--shape",
            "preference_pairs",
            "--diverging",
            diverging,
            "--output",
            str(path),
        )
        counts[diverging] = len(read_rows(path, "jsonl"))
    assert counts == {"keep": 3, "drop": 2, "only": 1}


def test_export_names_annotators_only_when_identities_are_asked_for(labelled, tmp_path):
    hidden, shown = tmp_path / "hidden.jsonl", tmp_path / "shown.jsonl"
    run("export", labelled.pk, "--output", str(hidden))
    run("export", labelled.pk, "--identities", "--output", str(shown))
    assert {row["annotator"] for row in read_rows(shown, "jsonl")} == {"ann1", "ann2"}
    pseudonyms = {row["annotator"] for row in read_rows(hidden, "jsonl")}
    assert len(pseudonyms) == 2 and not pseudonyms & {"ann1", "ann2"}


def test_export_to_stdout_writes_only_rows_there(labelled):
    out, err = run("export", labelled.pk, "--shape", "items", "--output", "-")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 4
    assert "Exported 4 items rows" in err


def test_export_rejects_unknown_shape_and_misplaced_options(labelled, tmp_path):
    path = tmp_path / "x.jsonl"
    with pytest.raises(CommandError, match="unknown export shape 'nope'"):
        run("export", labelled.pk, "--shape", "nope", "--output", str(path))
    with pytest.raises(CommandError, match="--diverging does not apply"):
        run("export", labelled.pk, "--diverging", "drop", "--output", str(path))
    assert not path.exists()


# --- create_annotators


def parse_accounts(out: str) -> dict[str, tuple[str, str]]:
    """``username -> (password, token)`` from the command's table."""
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("username"))
    return {
        name: (password, token) for name, password, token in map(str.split, lines[header + 1 :])
    }


def test_create_annotators_makes_members_with_working_passwords_and_tokens(project):
    out, _ = run("create_annotators", project.pk, "--count", "3", "--prefix", "crowd")
    accounts = parse_accounts(out)
    assert set(accounts) == {"crowd1", "crowd2", "crowd3"}
    users = get_user_model().objects
    for username, (password, token) in accounts.items():
        user = users.get(username=username)
        assert user.check_password(password)
        assert Token.objects.get(user=user).key == token
        assert Membership.objects.get(project=project, user=user).role == "annotator"
    assert len({password for password, _ in accounts.values()}) == 3


def test_create_annotators_skips_taken_names_and_can_make_leads(project):
    run("create_annotators", project.pk, "--count", "2", "--prefix", "crowd")
    out, _ = run(
        "create_annotators", project.pk, "--count", "2", "--prefix", "crowd", "--role", "lead"
    )
    assert set(parse_accounts(out)) == {"crowd3", "crowd4"}
    roles = dict(
        Membership.objects.filter(project=project, user__username__startswith="crowd").values_list(
            "user__username", "role"
        )
    )
    assert roles == {
        "crowd1": "annotator",
        "crowd2": "annotator",
        "crowd3": "lead",
        "crowd4": "lead",
    }


def test_create_annotators_rejects_a_bad_count_or_prefix(project):
    with pytest.raises(CommandError, match="--count"):
        run("create_annotators", project.pk, "--count", "0")
    with pytest.raises(CommandError, match="--prefix"):
        run("create_annotators", project.pk, "--count", "1", "--prefix", "has space")
    assert (
        not get_user_model()
        .objects.filter(memberships__project=project, memberships__role="annotator")
        .exists()
    )


# --- demo_setup


def parse_demo_passwords(out: str) -> dict[str, str]:
    passwords = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in {"lead", "annotator"}:
            passwords[parts[0]] = parts[2]
    return passwords


def test_demo_setup_is_idempotent_and_renews_passwords(db):
    first, _ = run("demo_setup")
    assert "http://127.0.0.1:8000/login/" in first
    project = Project.objects.get(name=DEMO_PROJECT_NAME)
    n_items = Item.objects.filter(project=project).count()
    assert n_items == len(DEMO_PAIRS) >= 20
    passwords = parse_demo_passwords(first)
    assert set(passwords) == {"lead", "alice", "bob", "carol"}

    second, _ = run("demo_setup")
    again = parse_demo_passwords(second)
    assert Project.objects.filter(name=DEMO_PROJECT_NAME).count() == 1
    assert Item.objects.filter(project=project).count() == n_items
    assert f"0 created, {n_items} updated" in second
    users = get_user_model().objects
    for username, password in again.items():
        user = users.get(username=username)
        assert password != passwords[username]
        assert user.check_password(password)
        assert not user.check_password(passwords[username])
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {"lead": "lead", "alice": "annotator", "bob": "annotator", "carol": "annotator"}
    assert users.get(username="lead").has_perm("annotate.add_project")
    assert project.task_type == "preference_pair" and project.overlap == 3


def test_demo_items_render_script_text_as_text(db, client):
    run("demo_setup")
    project = Project.objects.get(name=DEMO_PROJECT_NAME)
    xss = Item.objects.get(project=project, external_id="demo-06")
    assert '<script>alert("xss")</script>' in xss.payload["response_a"]
    alice = get_user_model().objects.get(username="alice")
    # alice gets the script item first: every other item is already done.
    Item.objects.filter(project=project).exclude(pk=xss.pk).update(n_submitted=project.overlap)
    client.force_login(alice)
    page = client.get(f"/p/{project.pk}/annotate/").content.decode()
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert" not in page

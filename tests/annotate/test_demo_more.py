"""demo_setup creates one demo project per task type (each type supplies its demo), through the
types' own import adapters, with images drawn by the project."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import call_command

from annotate.models import Item, Membership, Project
from annotate.tasktypes import task_types


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    return out.getvalue()


def test_demo_setup_creates_a_project_of_each_task_type(db):
    output = run_demo()
    assert {p.task_type for p in Project.objects.all()} == {
        "preference_pair",
        "derailment",
        "tom",
        "visual_argument",
    }
    for plugin in task_types():
        name = plugin.demo().project_name
        project = Project.objects.get(name=name)
        assert project.task_type == plugin.name
        assert f"Demo project {project.pk}: {name}" in output
        roles = dict(
            Membership.objects.filter(project=project).values_list("user__username", "role")
        )
        assert roles == {
            "lead": "lead",
            "alice": "annotator",
            "bob": "annotator",
            "carol": "annotator",
        }
        assert Item.objects.filter(project=project).count() >= 3
        for item in Item.objects.filter(project=project):
            plugin.validate_item(item.payload)  # still valid against its own schema


def test_demo_reference_labels_follow_the_papers_rules(db):
    run_demo()
    threads = {
        i.external_id: i.payload["reference"]["value"]
        for i in Item.objects.filter(project__task_type="derailment")
    }
    assert threads["9001"]["derailment_comment"] == "900103"  # impatience before the insult
    assert threads["9002"]["derailment_comment"] is None  # toxic at once
    assert threads["9003"]["toxic"] is False


def test_demo_images_are_stored_and_their_boxes_fit(db):
    run_demo()
    items = list(Item.objects.filter(project__task_type="visual_argument"))
    assert len(items) == 3
    for item in items:
        image = item.payload["image"]
        assert (image["width"], image["height"]) == (480, 320)
        assert default_storage.exists(image["path"])
        assert item.payload["reference"]["reasoning_steps"][-1]["to"] == "C"


def test_demo_setup_twice_updates_instead_of_duplicating(db):
    run_demo()
    counts = {p.name: p.items.count() for p in Project.objects.all()}
    output = run_demo()
    assert {p.name: p.items.count() for p in Project.objects.all()} == counts
    assert Project.objects.count() == 4
    assert "3 created" not in output.split("Demo: where does")[1]
    assert get_user_model().objects.filter(username="alice").count() == 1

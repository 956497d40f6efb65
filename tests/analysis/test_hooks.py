"""How the analysis is wired to the rest: annotate reaches it only through its hooks (connected in
``AnalysisConfig.ready()``), the refresh task is enqueued by name (no import cycle between the
snapshots and the Celery task module), and the leads' pages write nothing on GET once the figures
are cached."""

import ast
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analysis import receivers, snapshots, taxonomy
from analysis.models import TaxonomyCategory
from annotate import hooks
from annotate.models import Membership

from .test_crowd_consensus import VOTES, cell

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_annotate_never_imports_the_analysis():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "annotate").rglob("*.py")
        if any(m == "analysis" or m.startswith("analysis.") for m in imported_modules(path))
    ]
    assert offenders == []


def test_the_analysis_modules_do_not_import_the_celery_task_module():
    importers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "analysis").rglob("*.py")
        if path.name not in ("celery_tasks.py", "apps.py")
        and "celery_tasks" in path.read_text().replace("``celery_tasks``", "")
    ]
    assert importers == []


def test_the_analysis_connects_its_receivers_to_annotates_hooks():
    assert receivers.annotations_changed in hooks.annotations_changed._receivers
    assert receivers.annotator_consensus_agreement in hooks.annotator_consensus_agreement._receivers


@pytest.fixture
def without_receivers():
    connected = [
        (hooks.annotations_changed, receivers.annotations_changed),
        (hooks.annotator_consensus_agreement, receivers.annotator_consensus_agreement),
    ]
    for hook, receiver in connected:
        hook.disconnect(receiver)
    yield
    for hook, receiver in connected:
        hook.connect(receiver)


def test_without_receivers_the_crowd_page_shows_no_agreement(voted_project, without_receivers):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    snapshots.analysis_refresh(project_id=project.pk)
    client = Client()
    client.force_login(voted_project["lead"])
    page = client.get(f"/p/{project.pk}/crowd/").content.decode()
    for membership in Membership.objects.filter(project=project, role="annotator"):
        assert cell(page, membership) == "—"


def test_the_submit_hook_queues_a_refresh_of_a_big_project(
    voted_project, monkeypatch, django_capture_on_commit_callbacks
):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    snapshots.analysis_refresh(project_id=project.pk)
    monkeypatch.setattr(snapshots, "INLINE_MAX_ANNOTATIONS", 3)
    with django_capture_on_commit_callbacks() as callbacks:
        hooks.annotations_changed(project_id=project.pk)
    assert len(callbacks) == 1


def writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def test_the_leads_pages_write_nothing_on_get_once_the_figures_are_cached(voted_project, client):
    project = voted_project["project"]
    voted_project["votes"]([[-2, -1, 2], [1, 2, -1], [0, 1, 1]])
    snapshots.analysis_refresh(project_id=project.pk)
    client.force_login(voted_project["lead"])
    urls = [
        reverse("analysis-dashboard", args=[project.pk]),
        reverse("analysis-review", args=[project.pk]),
        reverse("analysis-review", args=[project.pk]) + "?show=all",
        reverse("analysis-taxonomy", args=[project.pk]),
        reverse("api-agreement", args=[project.pk]),
        reverse("api-divergence", args=[project.pk]),
    ]
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert writes(queries.captured_queries) == [], url


def test_the_taxonomy_page_shows_the_default_unsaved_until_the_first_change(voted_project, client):
    project = voted_project["project"]
    client.force_login(voted_project["lead"])
    url = reverse("analysis-taxonomy", args=[project.pk])
    page = client.get(url).content.decode()
    assert "Aesthetic taste" in page and 'name="id"' not in page
    assert not TaxonomyCategory.objects.filter(project=project).exists()
    client.post(url, {"action": "add", "group": "Other", "name": "Ambiguous prompt"})
    names = {c.name for c in taxonomy.taxonomy_ensure(project=project)}
    assert {"Aesthetic taste", "Ambiguous prompt"} <= names
    assert 'name="id"' in client.get(url).content.decode()


def test_figures_seed_the_taxonomy(voted_project):
    project = voted_project["project"]
    voted_project["votes"]([[-2, -1, 2]])
    snapshots.analysis_refresh(project_id=project.pk)
    assert TaxonomyCategory.objects.filter(project=project, name="Aesthetic taste").exists()

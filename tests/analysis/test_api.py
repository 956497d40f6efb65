"""The figures over the API and as CSV, who may see them, the command, and the cache."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from analysis import snapshots
from analysis.figures import agreement_compute
from analysis.models import AnalysisRefresh, AnalysisSnapshot
from annotate.models import Membership
from annotate.services import annotation_submit, assignment_reserve_next
from config.celery import app as celery_app

from ..factories import MembershipFactory, ProjectFactory, UserFactory
from .conftest import add_vote, make_item
from .test_agreement import VOTES

pytestmark = pytest.mark.django_db


def urls(project):
    return [
        reverse("api-agreement", args=[project.pk]),
        reverse("api-divergence", args=[project.pk]),
        reverse("api-agreement", args=[project.pk]) + "?format=csv&table=annotators",
    ]


def pages(project):
    return [
        reverse(name, args=[project.pk])
        for name in ("analysis-dashboard", "analysis-review", "analysis-taxonomy")
    ]


def test_leads_get_every_figure_as_json(voted_project, api):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    body = api(voted_project["lead"]).get(reverse("api-agreement", args=[project.pk])).json()
    assert body["fresh"] is True
    assert {f["name"] for f in body["fields"]} == {"side", "preference", "preference_interval"}
    assert "divergence" not in body and body["annotators"]["rows"]
    divergence = api(voted_project["lead"]).get(reverse("api-divergence", args=[project.pk]))
    assert divergence.json()["status_counts"]["diverging"] == 1
    # Every item, with its status (none for the single-vote item 7).
    assert len(divergence.json()["items"]) == 8
    assert [i["status"] for i in divergence.json()["items"]][-1] is None


def test_annotators_get_403_and_other_leads_404(voted_project, api, client):
    project = voted_project["project"]
    annotator = voted_project["annotators"][0]
    other_lead = UserFactory(username="other-lead")
    MembershipFactory(project=ProjectFactory(), user=other_lead, role=Membership.Role.LEAD)
    for url in urls(project):
        assert api(annotator).get(url).status_code == 403
        assert api(other_lead).get(url).status_code == 404
        assert api().get(url).status_code in (401, 403)
    for url in pages(project):
        client.force_login(annotator)
        assert client.get(url).status_code == 403
        client.force_login(other_lead)
        assert client.get(url).status_code == 404
    item = make_item(project, 1)
    tag_url = reverse("analysis-review-tag", args=[project.pk, item.pk])
    client.force_login(annotator)
    assert client.post(tag_url, {"note": "x"}).status_code == 403
    client.logout()
    assert client.get(pages(project)[0]).status_code == 302  # to the login page


def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_every_table_downloads_as_csv(voted_project, api):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    client = api(voted_project["lead"])
    agreement = reverse("api-agreement", args=[project.pk])
    fields = {row["name"]: row for row in read_csv(client.get(agreement + "?format=csv"))}
    figures = {f["name"]: f for f in client.get(agreement).json()["fields"]}
    assert float(fields["preference"]["alpha"]) == pytest.approx(
        figures["preference"]["alpha"], rel=1e-5
    )
    annotators = read_csv(client.get(agreement + "?format=csv&table=annotators"))
    assert [row["username"] for row in annotators] == ["ann", "bob", "cat"]
    pairwise = read_csv(client.get(agreement + "?format=csv&table=pairwise"))
    assert len(pairwise) == 9
    for table in ("models", "progress"):
        assert client.get(agreement + f"?format=csv&table={table}").status_code == 200
    divergence = reverse("api-divergence", args=[project.pk])
    items = read_csv(client.get(divergence + "?format=csv"))
    assert len(items) == 8 and items[-1]["status"] == ""  # every item; item 7 has one vote
    items = read_csv(client.get(divergence + "?format=csv&status=diverging,diverging_significant"))
    assert [row["status"] for row in items] == ["diverging_significant", "diverging"]
    assert items[0]["votes"] == "1; 2; -1"
    statuses = read_csv(client.get(divergence + "?format=csv&table=status"))
    assert {row["status"]: row["n_items"] for row in statuses}["mixed"] == "1"
    taxonomy = read_csv(client.get(divergence + "?format=csv&table=taxonomy"))
    assert taxonomy[0] == {
        "group": "Task underspecification",
        "name": "Task underspecification",
        "n_items": "0",
    }
    assert client.get(agreement + "?format=csv&table=nope").status_code == 400
    assert client.get(agreement + "?format=xml").status_code == 400


def test_the_dashboard_shows_the_charts(voted_project, client):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    client.force_login(voted_project["lead"])
    html = client.get(reverse("analysis-dashboard", args=[project.pk])).content.decode()
    assert html.count("<svg") == 5  # timeline, alpha, statuses, taxonomy, heatmap
    assert "Preference (ordinal)" in html and "diverging significant" in html
    assert "<script" not in html.split("</head>")[1]  # charts need no JavaScript
    project_page = client.get(reverse("project", args=[project.pk])).content.decode()
    assert reverse("analysis-dashboard", args=[project.pk]) in project_page


def test_compute_agreement_prints_the_figures(voted_project):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    out = io.StringIO()
    call_command("compute_agreement", str(project.pk), stdout=out)
    text = out.getvalue()
    alpha = agreement_compute(project=project).to_dict()["fields"][1]["alpha"]
    assert "== fields" in text and "== annotators" in text and "== divergence status" in text
    assert f"{alpha:.6g}" in text
    assert AnalysisSnapshot.objects.filter(project=project).exists()
    out = io.StringIO()
    call_command("compute_agreement", str(project.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["divergence"]["status_counts"]["diverging"] == 1


def test_figures_are_cached_until_annotations_change(voted_project):
    project = voted_project["project"]
    items = voted_project["votes"](VOTES)
    first = snapshots.analysis_get(project=project)
    computed_at = AnalysisSnapshot.objects.get(project=project).computed_at
    assert snapshots.analysis_get(project=project).data == first.data
    assert AnalysisSnapshot.objects.get(project=project).computed_at == computed_at
    add_vote(items[7], voted_project["annotators"][1], -2)
    again = snapshots.analysis_get(project=project)
    assert again.fresh and again.data["n_annotations"] == first.data["n_annotations"] + 1


def test_big_projects_show_stale_figures_and_refresh_in_the_background(
    voted_project, monkeypatch, django_capture_on_commit_callbacks
):
    project = voted_project["project"]
    items = voted_project["votes"](VOTES)
    snapshots.analysis_get(project=project)
    add_vote(items[7], voted_project["annotators"][1], -2)
    monkeypatch.setattr(snapshots, "INLINE_MAX_ANNOTATIONS", 5)
    with django_capture_on_commit_callbacks() as callbacks:
        view = snapshots.analysis_get(project=project)
    assert not view.fresh and view.pending and view.data["n_annotations"] == 20
    assert len(callbacks) == 1


def test_refresh_requests_are_debounced_per_project(
    voted_project, django_capture_on_commit_callbacks
):
    project = voted_project["project"]
    with django_capture_on_commit_callbacks() as callbacks:
        assert snapshots.analysis_refresh_request(project_id=project.pk) is True
        assert snapshots.analysis_refresh_request(project_id=project.pk) is False
    assert len(callbacks) == 1
    AnalysisRefresh.objects.filter(project=project).update(
        requested_at=timezone.now() - snapshots.REFRESH_STALE_AFTER - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks() as callbacks:
        assert snapshots.analysis_refresh_request(project_id=project.pk) is True
    assert len(callbacks) == 1


@pytest.fixture
def eager_celery(settings):
    before = celery_app.conf.task_always_eager  # read first: reading loads Django's settings
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def submit_one(project, annotator, callbacks_fixture):
    assignment = assignment_reserve_next(project=project, annotator=annotator)
    with callbacks_fixture(execute=False) as callbacks:
        annotation_submit(assignment_id=assignment.pk, annotator=annotator, value={"preference": 1})
    return callbacks


def test_a_submit_to_a_big_project_queues_the_refresh_on_commit_and_the_task_stores_figures(
    voted_project, eager_celery, monkeypatch, django_capture_on_commit_callbacks
):
    project = voted_project["project"]
    annotator = voted_project["annotators"][0]
    items = voted_project["votes"]([[None, 1, 1], [None, -1, -1]])
    snapshots.analysis_refresh(project_id=project.pk)
    monkeypatch.setattr(snapshots, "INLINE_MAX_ANNOTATIONS", 3)  # four annotations make it big
    callbacks = submit_one(project, annotator, django_capture_on_commit_callbacks)
    assert len(callbacks) == 1
    assert AnalysisSnapshot.objects.get(project=project).data["n_annotations"] == 4
    callbacks[0]()  # the commit happens: the task runs (eagerly here)
    snapshot = AnalysisSnapshot.objects.get(project=project)
    assert snapshot.data["n_annotations"] == 5
    assert snapshot.data["n_items_annotated"] == len(items)
    assert AnalysisRefresh.objects.get(project=project).pending is False


def test_a_submit_to_a_small_project_queues_nothing(
    voted_project, django_capture_on_commit_callbacks
):
    project = voted_project["project"]
    voted_project["votes"]([[None, 1, 1]])
    snapshots.analysis_refresh(project_id=project.pk)
    callbacks = submit_one(
        project, voted_project["annotators"][0], django_capture_on_commit_callbacks
    )
    assert callbacks == []  # computed in the request when a lead looks


def test_a_big_project_without_figures_answers_202_and_polls_while_computing(
    voted_project, api, client, monkeypatch, django_capture_on_commit_callbacks
):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    monkeypatch.setattr(snapshots, "INLINE_MAX_ANNOTATIONS", 5)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api(voted_project["lead"]).get(reverse("api-agreement", args=[project.pk]))
    assert response.status_code == 202 and response.json()["pending"] is True
    assert len(callbacks) == 1
    client.force_login(voted_project["lead"])
    html = client.get(reverse("analysis-dashboard", args=[project.pk])).content.decode()
    assert 'hx-trigger="every 3s"' in html and "Computing" in html


def test_a_snapshot_in_a_shape_this_code_cannot_read_is_recomputed(voted_project):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    snapshots.analysis_refresh(project_id=project.pk)
    AnalysisSnapshot.objects.filter(project=project).update(data={"fields": [{"alpha": 1}]})
    view = snapshots.analysis_get(project=project)
    assert view.fresh and view.data["n_annotations"] == 20
    assert AnalysisSnapshot.objects.get(project=project).data["n_annotations"] == 20

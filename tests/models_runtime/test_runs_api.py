"""Model runs and imported predictions through the API and the project page (no worker here:
what a request does is queue work, never predict)."""

from __future__ import annotations

import json

import pytest

from annotate.models import Item
from models_runtime import predictors, runs
from models_runtime.models import ModelRun, Prediction

from ..factories import UserFactory


@pytest.fixture
def predictor(db, reward_model_dir):
    return predictors.predictor_create(
        name="tiny-rm",
        task_type="preference_pair",
        backend="reward_model",
        weights_path=reward_model_dir,
    )


def ndjson(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_a_lead_starts_a_run_and_sees_its_progress(
    project, lead, import_pairs, predictor, api, redis_broker
):
    import_pairs(5)
    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/model-runs/",
        {"predictor": "tiny-rm", "filters": {"limit": 3}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["n_items"] == 3 and body["n_done"] == 0
    assert body["model_name"] == "tiny-rm" and body["filters"] == {"limit": 3}
    detail = api(lead).get(f"/api/v1/model-runs/{body['id']}/").json()
    assert detail["progress"] == 0.0
    assert not Prediction.objects.exists()  # nothing is predicted inside the request
    listed = api(lead).get(f"/api/v1/projects/{project.pk}/model-runs/").json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]


def test_starting_a_run_needs_the_lead_role(project, make_annotator, predictor, api):
    annotator = make_annotator("ann")
    url = f"/api/v1/projects/{project.pk}/model-runs/"
    assert api(annotator).post(url, {"predictor": "tiny-rm"}, format="json").status_code == 403
    outsider = UserFactory(username="outsider")
    assert api(outsider).post(url, {"predictor": "tiny-rm"}, format="json").status_code == 404
    assert not ModelRun.objects.exists()


def test_bad_filters_and_unknown_predictors_are_refused(project, lead, predictor, api):
    url = f"/api/v1/projects/{project.pk}/model-runs/"
    bad = api(lead).post(
        url,
        {"predictor": "tiny-rm", "filters": {"status": "later", "colour": "red"}},
        format="json",
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"filters.status", "filters.colour"}
    missing = api(lead).post(url, {"predictor": "nope"}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "predictor"


def test_a_run_is_cancelled_once(project, lead, import_pairs, predictor, api, redis_broker):
    import_pairs(2)
    run = runs.model_run_start(project=project, predictor=predictor)
    first = api(lead).post(f"/api/v1/model-runs/{run.pk}/cancel/")
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    again = api(lead).post(f"/api/v1/model-runs/{run.pk}/cancel/")
    assert again.status_code == 409


def test_another_projects_lead_cannot_see_a_run(
    project, import_pairs, predictor, api, redis_broker
):
    import_pairs(1)
    run = runs.model_run_start(project=project, predictor=predictor)
    stranger = UserFactory(username="stranger")
    assert api(stranger).get(f"/api/v1/model-runs/{run.pk}/").status_code == 404


def test_imported_predictions_become_a_finished_run(project, lead, import_pairs, api):
    import_pairs(3)
    rows = [
        {"external_id": f"pair-{n}", "value": {"preference": v}, "score": s}
        for n, v, s in [(0, -1, 0.3), (1, 2, 0.95), (2, 0, 0.5)]
    ]
    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/predictions/?model=gpt-judge",
        ndjson(rows),
        content_type="application/x-ndjson",
    )
    assert response.status_code == 201, response.json()
    run = ModelRun.objects.get(pk=response.json()["id"])
    assert (run.source, run.status, run.model_name, run.n_done) == (
        "import",
        "done",
        "gpt-judge",
        3,
    )
    stored = {
        p.item.external_id: (p.value["preference"], p.score)
        for p in Prediction.objects.filter(run=run).select_related("item")
    }
    assert stored == {"pair-0": (-1, 0.3), "pair-1": (2, 0.95), "pair-2": (0, 0.5)}
    listed = api(lead).get(f"/api/v1/model-runs/{run.pk}/predictions/").json()["results"]
    assert [p["external_id"] for p in listed] == ["pair-0", "pair-1", "pair-2"]


def test_a_bad_prediction_line_imports_nothing_and_every_bad_line_is_named(
    project, lead, import_pairs, api
):
    import_pairs(3)
    body = (
        ndjson(
            [
                {"external_id": "pair-0", "value": {"preference": 1}, "score": 0.7},
                {"external_id": "pair-9", "value": {"preference": 1}},
                {"external_id": "pair-1", "value": {"preference": 5}, "score": "high"},
                {"external_id": "pair-0", "value": {"preference": 0}},
            ]
        )
        + b"{not json\n"
    )
    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/predictions/?model=m",
        body,
        content_type="application/x-ndjson",
    )
    assert response.status_code == 400
    errors = {e["line"]: {f["field"] for f in e["errors"]} for e in response.json()["errors"]}
    assert errors == {
        2: {"external_id"},
        3: {"value.preference", "score"},
        4: {"external_id"},
        5: {"(row)"},
    }
    assert not ModelRun.objects.exists() and not Prediction.objects.exists()


def test_importing_predictions_needs_a_model_name_and_the_lead_role(
    project, lead, make_annotator, import_pairs, api
):
    import_pairs(1)
    body = ndjson([{"external_id": "pair-0", "value": {"preference": 1}}])
    url = f"/api/v1/projects/{project.pk}/predictions/"
    assert api(lead).post(url, body, content_type="application/x-ndjson").status_code == 400
    annotator = make_annotator("ann")
    assert (
        api(annotator).post(url + "?model=m", body, content_type="application/x-ndjson").status_code
        == 403
    )


def test_the_project_page_shows_runs_and_starts_one(
    client, project, lead, import_pairs, predictor, redis_broker
):
    import_pairs(4)
    client.force_login(lead)
    page = client.get(f"/p/{project.pk}/")
    assert f'hx-get="/p/{project.pk}/model-runs/"' in page.content.decode()
    section = client.get(f"/p/{project.pk}/model-runs/").content.decode()
    assert "tiny-rm" in section and "Run model" in section
    started = client.post(
        f"/p/{project.pk}/model-runs/start/", {"predictor": predictor.pk, "status": "open"}
    ).content.decode()
    run = ModelRun.objects.get()
    assert run.filters == {"status": "open"} and run.n_items == Item.objects.count()
    assert f'data-run="{run.pk}"' in started and "queued" in started
    assert 'hx-trigger="every 2s"' in started  # polls while the run is unfinished
    client.post(f"/model-runs/{run.pk}/cancel/")
    assert (
        'hx-trigger="every 2s"' not in client.get(f"/p/{project.pk}/model-runs/").content.decode()
    )


def test_annotators_do_not_get_the_model_runs_section(client, project, make_annotator):
    annotator = make_annotator("ann")
    client.force_login(annotator)
    assert client.get(f"/p/{project.pk}/model-runs/").status_code == 403

"""Stalled and failed runs come back: the periodic sweep re-sends the work of runs that show no
sign of life, a heartbeat keeps a live worker's claim, and a lead resumes a failed or stalled run
(service, API, project page) without predicting an item twice. What is sent is read from the
real Redis queue; no worker runs here."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from core.errors import Conflict
from models_runtime import dispatch, predictors, runs, worker
from models_runtime.models import ModelRun, ModelRunChunk

from .helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def predictor(reward_model_dir):
    return predictors.predictor_create(
        name="tiny-rm",
        task_type="preference_pair",
        backend="reward_model",
        weights_path=reward_model_dir,
    )


def sent(client, queue) -> list[tuple[str, str]]:
    messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    return [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages]


def silent_for(run, seconds: float) -> None:
    ago = timezone.now() - timedelta(seconds=seconds)
    ModelRun.objects.filter(pk=run.pk).update(heartbeat_at=ago)


def test_the_sweep_resends_the_work_of_a_run_whose_message_was_lost(
    project, import_pairs, predictor, redis_broker
):
    client, queue = redis_broker
    import_pairs(3)
    run = runs.model_run_start(project=project, predictor=predictor)
    assert sent(client, queue) == [(dispatch.PLAN, f"({run.pk},)")]
    client.delete(queue)  # lost, as when the broker restarts without persistence
    assert runs.model_runs_sweep().resent == []  # just started: not stalled yet
    silent_for(run, 3600)
    assert ModelRun.objects.get(pk=run.pk).is_stalled
    assert runs.model_runs_sweep().resent == [run.pk]
    assert sent(client, queue) == [(dispatch.PLAN, f"({run.pk},)")]
    # Marked as sent: the next sweeps leave it alone while the work is on its way.
    assert runs.model_runs_sweep().resent == []
    assert not ModelRun.objects.get(pk=run.pk).is_stalled


def test_the_sweep_leaves_a_run_a_live_worker_holds_and_takes_it_back_when_its_heartbeat_stops(
    settings, project, import_pairs, predictor, redis_broker
):
    client, queue = redis_broker
    settings.DISSENSUS_MODEL_RUN_CHUNK_SIZE = 2
    import_pairs(4)
    run = runs.model_run_start(project=project, predictor=predictor)
    client.delete(queue)
    assert runs.model_run_plan(run_id=run.pk) == 2
    assert runs.model_run_plan(run_id=run.pk) == 0  # planned once: no second set of chains
    chunk = worker.chunk_claim(run_id=run.pk)
    silent_for(run, 3600)
    assert runs.model_runs_sweep().resent == []  # the lease runs and the heartbeat is fresh
    # The worker died: its heartbeat stops, while its lease would still run for minutes.
    silence = timedelta(seconds=settings.DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS + 1)
    ModelRunChunk.objects.filter(pk=chunk.pk).update(heartbeat_at=timezone.now() - silence)
    assert ModelRunChunk.objects.get(pk=chunk.pk).claimed_until > timezone.now()
    assert runs.model_runs_sweep().resent == [run.pk]
    assert sent(client, queue) == [(dispatch.WORK, f"({run.pk},)")]
    retaken = worker.chunk_claim(run_id=run.pk)
    assert (retaken.pk, retaken.attempts) == (chunk.pk, 2)
    runs.model_run_cancel(run=run)
    silent_for(run, 3600)
    assert runs.model_runs_sweep().resent == []  # finished runs are never swept


def test_a_heartbeat_keeps_a_claim_alive_between_batches_and_stops_once_taken_over(
    settings, project, import_pairs, predictor, redis_broker
):
    settings.DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS = 1
    import_pairs(2)
    run = runs.model_run_start(project=project, predictor=predictor)
    runs.model_run_plan(run_id=run.pk)
    chunk = worker.chunk_claim(run_id=run.pk)
    first, lease = chunk.heartbeat_at, chunk.claimed_until

    def beat():
        return ModelRunChunk.objects.get(pk=chunk.pk).heartbeat_at

    heartbeat = worker.Heartbeat(chunk)
    with heartbeat:
        # No batch is written here: only the thread can move the heartbeat on.
        wait_for(lambda: beat() > first, timeout=30)
        assert ModelRunChunk.objects.get(pk=chunk.pk).claimed_until == lease
        ModelRunChunk.objects.filter(pk=chunk.pk).update(
            claimed_by="elsewhere:1", attempts=F("attempts") + 1
        )
        wait_for(lambda: not heartbeat._thread.is_alive(), timeout=30)


def test_a_failed_run_resumes_where_it_stopped(
    project, import_pairs, predictor, redis_broker, settings
):
    client, queue = redis_broker
    settings.DISSENSUS_MODEL_RUN_CHUNK_SIZE = 2
    import_pairs(4)
    run = runs.model_run_start(project=project, predictor=predictor)
    runs.model_run_plan(run_id=run.pk)
    worker.chunk_claim(run_id=run.pk)
    runs.model_run_fail(run_id=run.pk, error="gave up after retries: boom")
    client.delete(queue)
    resumed = runs.model_run_resume(run=ModelRun.objects.get(pk=run.pk))
    assert (resumed.status, resumed.error, resumed.finished_at) == ("queued", "", None)
    # The failed worker's claim is released and both chains are sent again.
    assert not ModelRunChunk.objects.filter(run=run, claimed_until__isnull=False).exists()
    assert sent(client, queue) == [(dispatch.WORK, f"({run.pk},)")] * 2


@pytest.mark.parametrize("status", ["done", "cancelled"])
def test_a_done_or_cancelled_run_is_not_resumed(
    project, import_pairs, predictor, redis_broker, status
):
    import_pairs(1)
    run = runs.model_run_start(project=project, predictor=predictor)
    ModelRun.objects.filter(pk=run.pk).update(status=status)
    with pytest.raises(Conflict):
        runs.model_run_resume(run=ModelRun.objects.get(pk=run.pk))


def test_a_lead_resumes_a_failed_run_from_the_api_and_the_project_page(
    client, api, project, lead, make_annotator, import_pairs, predictor, redis_broker
):
    queue_client, queue = redis_broker
    import_pairs(2)
    run = runs.model_run_start(project=project, predictor=predictor)
    runs.model_run_fail(run_id=run.pk, error="boom")
    annotator = make_annotator("ann")
    assert api(annotator).post(f"/api/v1/model-runs/{run.pk}/resume/").status_code in (403, 404)
    client.force_login(annotator)
    assert client.post(f"/model-runs/{run.pk}/resume/").status_code == 403
    client.force_login(lead)
    section = client.get(f"/p/{project.pk}/model-runs/").content.decode()
    assert f'hx-post="/model-runs/{run.pk}/resume/"' in section
    resumed = client.post(f"/model-runs/{run.pk}/resume/")
    assert resumed.status_code == 200
    assert ModelRun.objects.get(pk=run.pk).status == "queued"
    assert f'hx-post="/model-runs/{run.pk}/resume/"' not in resumed.content.decode()
    runs.model_run_fail(run_id=run.pk, error="boom again")
    response = api(lead).post(f"/api/v1/model-runs/{run.pk}/resume/")
    assert response.status_code == 200 and response.json()["status"] == "queued"
    done = api(lead).post(f"/api/v1/model-runs/{run.pk}/cancel/")
    assert done.status_code == 200
    assert api(lead).post(f"/api/v1/model-runs/{run.pk}/resume/").status_code == 409

"""Model runs survive broker outages and dead workers (issue 13), with real parts: a Redis server
of the test's own that it stops and starts, real Celery workers (with beat) that it SIGKILLs.

- Starting a run while the broker is down answers 503 and leaves nothing behind.
- A broker outage in the middle of a run does not fail it: the worker retries, the sweep re-sends
  what the outage lost, and every item ends with exactly one prediction.
- A SIGKILLed worker's chunk is taken over once its heartbeat stops, while its lease would still
  run far longer than this test waits.
- ``run_model --resume`` takes up a failed run without predicting any item twice.
"""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command

from models_runtime import runs
from models_runtime.models import ModelRun, ModelRunChunk, Prediction

from .helpers import assert_one_prediction_per_item, fresh, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_starting_a_run_while_the_broker_is_down_answers_503_and_leaves_nothing(
    client, api, project, lead, import_pairs, reward_predictor, private_broker
):
    server, _queue = private_broker
    import_pairs(3)
    predictor = reward_predictor()
    server.stop()
    url = f"/api/v1/projects/{project.pk}/model-runs/"
    response = api(lead).post(url, {"predictor": "tiny-rm"}, format="json")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "broker_unavailable" and "not started" in body["message"]
    assert not ModelRun.objects.exists()
    client.force_login(lead)
    page = client.post(f"/p/{project.pk}/model-runs/start/", {"predictor": predictor.pk})
    assert "broker is unavailable" in page.content.decode()
    assert not ModelRun.objects.exists()
    server.start()  # the broker is back: the same request starts the run
    again = api(lead).post(url, {"predictor": "tiny-rm"}, format="json")
    assert again.status_code == 201 and ModelRun.objects.get().status == "queued"


def test_a_broker_outage_in_the_middle_of_a_run_does_not_fail_it(
    project, import_pairs, reward_predictor, private_broker, workers
):
    server, _queue = private_broker
    import_pairs(120)
    workers(
        broker=server.url,
        beat=True,
        env={
            "DISSENSUS_MODEL_RUN_CHUNK_SIZE": "20",
            "DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS": "3",
            "DISSENSUS_MODEL_RUN_SWEEP_SECONDS": "2",
        },
    )
    run = runs.model_run_start(project=project, predictor=reward_predictor(max_batch=1))
    wait_for(lambda: fresh(run).n_done >= 5, timeout=180, workers=workers, every=0.01)
    server.stop()  # everything queued is lost with it (no persistence)
    outage_ends = time.monotonic() + 15
    while time.monotonic() < outage_ends:
        assert fresh(run).status != ModelRun.Status.FAILED, run.error
        time.sleep(0.2)
    server.start()
    wait_for(lambda: fresh(run).is_finished, timeout=240, workers=workers)
    assert run.status == ModelRun.Status.DONE, run.error
    assert run.n_done == 120
    assert_one_prediction_per_item(run, 120)


def test_a_killed_workers_chunk_is_taken_over_when_its_heartbeat_stops(
    project, import_pairs, reward_predictor, redis_broker, workers
):
    import_pairs(200)
    options = {
        "env": {
            "DISSENSUS_MODEL_RUN_CHUNK_SIZE": "40",
            # Far longer than this test waits: only the missed heartbeat can free the chunk.
            "DISSENSUS_MODEL_RUN_LEASE_SECONDS": "3600",
            "DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS": "3",
        }
    }
    doomed = workers(**options)
    run = runs.model_run_start(project=project, predictor=reward_predictor(max_batch=1))
    held = wait_for(
        lambda: (
            ModelRunChunk.objects.filter(run=run, status="pending", attempts=1)
            .exclude(claimed_by="")
            .first()
        ),
        timeout=180,
        workers=workers,
    )
    wait_for(lambda: fresh(run).n_done >= 3, timeout=180, workers=workers, every=0.01)
    doomed.kill()
    killed_at = time.monotonic()
    held.refresh_from_db()
    assert held.status == "pending"
    kept = set(Prediction.objects.filter(run=run).values_list("id", flat=True))
    workers(**options)  # a live worker: the killed one's chunk is not free yet
    retaken = wait_for(
        lambda: ModelRunChunk.objects.filter(pk=held.pk, attempts=2).first(),
        timeout=120,
        workers=workers,
    )
    taken_over_after = time.monotonic() - killed_at
    assert retaken.claimed_by != held.claimed_by
    wait_for(lambda: fresh(run).is_finished, timeout=300, workers=workers)
    finished_after = time.monotonic() - killed_at
    assert run.status == ModelRun.Status.DONE, run.error
    assert_one_prediction_per_item(run, 200)
    assert kept <= set(Prediction.objects.filter(run=run).values_list("id", flat=True))
    print(
        f"\nkilled worker: chunk taken over after {taken_over_after:.1f} s "
        f"(heartbeat 3 s, lease 3600 s); run done {finished_after:.1f} s after the kill"
    )


def test_run_model_resume_takes_up_a_failed_run_without_duplicates(
    project, import_pairs, reward_predictor, redis_broker, workers
):
    import_pairs(150)
    options = {"env": {"DISSENSUS_MODEL_RUN_CHUNK_SIZE": "30"}}
    first = workers(**options)
    run = runs.model_run_start(project=project, predictor=reward_predictor(max_batch=1))
    wait_for(lambda: fresh(run).n_done >= 5, timeout=180, workers=workers, every=0.01)
    first.kill()
    runs.model_run_fail(run_id=run.pk, error="gave up after retries: the endpoint is down")
    kept = set(Prediction.objects.filter(run=run).values_list("id", flat=True))
    assert fresh(run).status == ModelRun.Status.FAILED and 5 <= len(kept) < 150
    workers(**options)  # a worker that starts does not pick up failed runs by itself
    out = io.StringIO()
    started = time.monotonic()
    call_command("run_model", resume=run.pk, timeout=240, stdout=out, stderr=io.StringIO())
    print(f"\nresumed failed run finished in {time.monotonic() - started:.1f} s")
    assert f"run {run.pk} done: 150 of 150 items" in out.getvalue()
    assert fresh(run).error == ""
    assert_one_prediction_per_item(run, 150)
    assert kept <= set(Prediction.objects.filter(run=run).values_list("id", flat=True))

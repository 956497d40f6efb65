"""Whole model runs through real Celery workers on the Redis broker (not eager mode), on the
test database: every item gets exactly one prediction; a worker killed mid-run loses at most
its batch and the run completes after a restart, without duplicates; cancel stops the workers."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command

from annotate.tasktypes import get_task_type
from models_runtime import predictors, runs
from models_runtime.models import ModelRun, ModelRunChunk, Prediction

from ..factories import pair_record
from .helpers import assert_one_prediction_per_item, fresh, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_through_a_real_worker_gives_every_item_exactly_one_prediction(
    project, import_pairs, reward_predictor, redis_broker, workers
):
    import_pairs(30)
    worker = workers(env={"DISSENSUS_MODEL_RUN_CHUNK_SIZE": "7"})
    run = runs.model_run_start(project=project, predictor=reward_predictor(max_batch=4))
    assert run.status == ModelRun.Status.QUEUED and run.n_items == 30
    wait_for(lambda: fresh(run).is_finished, timeout=180, workers=workers)
    assert run.status == ModelRun.Status.DONE, run.error
    assert run.n_done == 30 and run.device == "cpu"
    assert run.started_at <= run.finished_at
    assert ModelRunChunk.objects.filter(run=run).count() == 5  # 30 items in chunks of 7
    assert_one_prediction_per_item(run, 30)
    plugin = get_task_type("preference_pair")
    for prediction in Prediction.objects.filter(run=run).select_related("item"):
        assert (
            plugin.validate_annotation(
                prediction.value, config=project.config, payload=prediction.item.payload
            )
            == prediction.value
        )
        assert 0.0 <= prediction.score <= 1.0
        assert prediction.distribution["a"] + prediction.distribution["b"] == pytest.approx(1.0)
    worker.stop()


def test_a_killed_worker_loses_at_most_its_batch_and_the_run_completes_after_restart(
    project, import_pairs, reward_predictor, redis_broker, workers
):
    import_pairs(300)
    options = {
        "env": {"DISSENSUS_MODEL_RUN_CHUNK_SIZE": "60", "DISSENSUS_MODEL_RUN_LEASE_SECONDS": "3"}
    }
    first = workers(**options)
    run = runs.model_run_start(project=project, predictor=reward_predictor(max_batch=1))
    wait_for(lambda: fresh(run).n_done >= 3, timeout=180, workers=workers, every=0.01)
    first.kill()
    run.refresh_from_db()
    kept = set(Prediction.objects.filter(run=run).values_list("id", flat=True))
    assert run.status == ModelRun.Status.RUNNING
    assert 3 <= run.n_done < 300
    # What was written before the kill is all counted: the batch in flight is all that was lost.
    assert len(kept) == run.n_done

    workers(**options)  # a fresh worker picks the run up on start
    wait_for(lambda: fresh(run).is_finished, timeout=240, workers=workers)
    assert run.status == ModelRun.Status.DONE, run.error
    assert run.n_done == 300
    assert_one_prediction_per_item(run, 300)
    assert kept <= set(Prediction.objects.filter(run=run).values_list("id", flat=True))
    # The chunk the killed worker held was taken over by the new one.
    assert ModelRunChunk.objects.filter(run=run, attempts__gte=2).exists()
    assert not ModelRunChunk.objects.filter(run=run, status="pending").exists()


def test_cancelling_a_run_stops_the_worker_after_its_batch(
    project, import_pairs, reward_predictor, redis_broker, workers
):
    import_pairs(300)
    workers(env={"DISSENSUS_MODEL_RUN_CHUNK_SIZE": "300"})
    run = runs.model_run_start(project=project, predictor=reward_predictor(max_batch=1))
    wait_for(lambda: fresh(run).n_done >= 2, timeout=180, workers=workers, every=0.01)
    runs.model_run_cancel(run=run)
    time.sleep(3)
    run.refresh_from_db()
    settled = Prediction.objects.filter(run=run).count()
    assert run.status == ModelRun.Status.CANCELLED
    assert settled < 300 and settled == run.n_done
    time.sleep(2)
    assert Prediction.objects.filter(run=run).count() == settled


def test_run_model_command_starts_a_run_and_follows_it_to_the_end(
    project, import_pairs, reward_predictor, redis_broker, workers
):
    import_pairs(12)
    reward_predictor(name="cli-rm")
    workers()
    out = io.StringIO()
    call_command(
        "run_model",
        project=project.pk,
        predictor="cli-rm",
        status="open",
        timeout=60,
        stdout=out,
        stderr=io.StringIO(),
    )
    run = ModelRun.objects.get(project=project)
    assert run.status == ModelRun.Status.DONE and run.filters == {"status": "open"}
    assert f"run {run.pk} done: 12 of 12 items predicted on cpu" in out.getvalue()
    assert_one_prediction_per_item(run, 12)


def test_a_gpu_predictor_sends_its_work_to_the_gpu_queue(
    project, import_pairs, reward_model_dir, redis_broker
):
    client, default_queue = redis_broker
    import_pairs(3)
    predictor = predictors.predictor_create(
        name="gpu-rm",
        task_type="preference_pair",
        backend="reward_model",
        weights_path=reward_model_dir,
        queue="gpu",
    )
    run = runs.model_run_start(project=project, predictor=predictor)
    assert client.llen(default_queue) == 0
    # Other sessions may share the broker: find our message among the gpu queue's.
    ours = [
        raw
        for raw in client.lrange("gpu", 0, -1)
        if json.loads(raw)["headers"]["task"] == "models_runtime.model_run_plan"
        and json.loads(raw)["headers"]["argsrepr"] == f"({run.pk},)"
    ]
    assert len(ours) == 1
    client.lrem("gpu", 0, ours[0])


def test_import_pairs_helper_uses_the_platform_format():
    # Guards the fixture data the runs above use: ids are pair-<n>.
    assert pair_record(4)["external_id"] == "pair-4"

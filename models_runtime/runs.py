"""Model-run commands: start, cancel, fail, plan, resume, and the sweep that revives stalled runs.

A run is planned into chunks of item ids (a snapshot, so later imports or filters that change do
not move items between chunks); workers predict the chunks (``worker.py``). Work is sent to the
broker only through ``dispatch.run_step_send``. A run whose work was lost (the broker was away
when it was sent, a worker died, a message vanished) shows no sign of life (``heartbeat_at``)
for longer than ``DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS``; ``model_runs_sweep``, run by Celery
beat, sends its work again, and a lead can ``model_run_resume`` it (a failed run too). Repeated
work never duplicates a prediction: each item gets at most one per run (a database constraint,
and workers skip items already done).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from annotate.models import Project
from core.errors import Conflict, FieldError, InvalidInput

from . import dispatch, selectors
from .dispatch import BrokerUnavailable
from .models import ModelRun, ModelRunChunk, Prediction, Predictor
from .predictors import predictor_errors

logger = logging.getLogger(__name__)

# How many chains of work tasks a run gets at most (each predicts one chunk at a time).
PARALLEL_CHAINS = 2


def model_run_start(
    *,
    project: Project,
    predictor: Predictor,
    filters: dict[str, Any] | None = None,
    created_by: User | None = None,
) -> ModelRun:
    """Queue a run of ``predictor`` over the project's items (all, or those ``filters`` pick).

    Nothing is predicted here: a worker plans the run into chunks and predicts them. If the
    broker cannot be reached the run is removed again and ``BrokerUnavailable`` (503) raised:
    nothing is left queued that no worker will ever pick up.
    """
    if predictor.task_type != project.task_type:
        raise InvalidInput(
            "the predictor is for another task type",
            detail=[
                FieldError(
                    "predictor",
                    f"{predictor.name} predicts {predictor.task_type}, "
                    f"the project is {project.task_type}",
                )
            ],
        )
    errors = predictor_errors(
        task_type=predictor.task_type,
        backend=predictor.backend,
        weights_path=predictor.weights_path,
        params=predictor.params,
        queue=predictor.queue,
    )
    if errors:
        raise InvalidInput("the predictor cannot run", detail=errors)
    cleaned = selectors.run_filters_clean(filters)
    run: ModelRun | None = None
    try:
        with transaction.atomic():
            run = ModelRun.objects.create(
                project=project,
                predictor=predictor,
                model_name=predictor.name,
                source=ModelRun.Source.PREDICTOR,
                filters=cleaned,
                params=dict(predictor.params),
                n_items=selectors.run_items(project=project, filters=cleaned).count(),
                created_by=created_by,
                heartbeat_at=timezone.now(),
            )
            dispatch.run_step_send(step=dispatch.PLAN, run=run)
    except BrokerUnavailable as exc:
        if run is not None and run.pk is not None:
            # Committed before the send failed: take it back (no chunk or prediction exists yet).
            ModelRun.objects.filter(pk=run.pk, status=ModelRun.Status.QUEUED).delete()
        raise BrokerUnavailable(
            "the task broker is unavailable, so the run was not started; try again in a moment",
        ) from exc
    return run


def model_run_cancel(*, run: ModelRun) -> ModelRun:
    """Stop a queued or running run; workers stop after their current batch."""
    with transaction.atomic():
        locked = ModelRun.objects.select_for_update().get(pk=run.pk)
        if locked.is_finished:
            raise Conflict(f"the run is already {locked.status}")
        locked.status = ModelRun.Status.CANCELLED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "finished_at", "updated_at"])
    return locked


def model_run_fail(*, run_id: int, error: str) -> None:
    """Mark a run failed with the reason (unless it already finished)."""
    with transaction.atomic():
        run = ModelRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.is_finished:
            return
        run.status = ModelRun.Status.FAILED
        run.error = error[:5000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "updated_at"])


def model_run_plan(*, run_id: int) -> int:
    """Split a queued run's items into chunks; idempotent. Returns how many chains of work the
    caller should start: none when the run was planned before (its chains exist, or the sweep
    revives them) or when nothing is left to predict."""
    with transaction.atomic():
        run = (
            ModelRun.objects.select_for_update(of=("self",))
            .select_related("project", "predictor")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.is_finished:
            return 0
        if run.chunks.exists():
            return 0
        size = max(1, settings.DISSENSUS_MODEL_RUN_CHUNK_SIZE)
        ids = list(
            selectors.run_items(project=run.project, filters=run.filters).values_list(
                "id", flat=True
            )
        )
        ModelRunChunk.objects.bulk_create(
            [
                ModelRunChunk(run=run, index=n, item_ids=ids[start : start + size])
                for n, start in enumerate(range(0, len(ids), size))
            ],
            batch_size=1000,
        )
        run.n_items = len(ids)
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["n_items", "heartbeat_at", "updated_at"])
        if not ids:
            model_run_finish_if_complete(run_id=run.pk)
            return 0
        return max(1, min(len(range(0, len(ids), size)), PARALLEL_CHAINS))


def model_run_finish_if_complete(*, run_id: int) -> None:
    """Mark the run done once no chunk is pending (unless it finished otherwise)."""
    with transaction.atomic():
        locked = ModelRun.objects.select_for_update().filter(pk=run_id).first()
        if locked is None or locked.is_finished:
            return
        if locked.chunks.filter(status=ModelRunChunk.Status.PENDING).exists():
            return
        locked.status = ModelRun.Status.DONE
        locked.n_done = Prediction.objects.filter(run=locked).count()
        locked.finished_at = timezone.now()
        if locked.started_at is None:
            locked.started_at = locked.finished_at
        locked.save(update_fields=["status", "n_done", "finished_at", "started_at", "updated_at"])


def _next_step_for(run: ModelRun) -> str:
    return dispatch.WORK if run.chunks.exists() else dispatch.PLAN


def model_run_resume(*, run: ModelRun) -> ModelRun:
    """Take up a failed or stalled run where it stopped: its pending chunks are released and
    its work sent again. Items that already have a prediction are skipped, so nothing is
    predicted twice. A run that is done or cancelled cannot be resumed (``Conflict``).

    If the broker cannot be reached the run stays open and ``BrokerUnavailable`` is raised: the
    sweep sends its work once the broker is back.
    """
    if run.source != ModelRun.Source.PREDICTOR:
        raise Conflict("imported predictions cannot be resumed")
    try:
        return _resume(run)
    except BrokerUnavailable as exc:
        raise BrokerUnavailable(
            "the task broker is unavailable; the run is reopened and its work will be sent "
            "when the broker is back",
            detail={"run_id": run.pk},
        ) from exc


def _resume(run: ModelRun) -> ModelRun:
    with transaction.atomic():
        locked = (
            ModelRun.objects.select_for_update(of=("self",))
            .select_related("predictor")
            .get(pk=run.pk)
        )
        if locked.status in (ModelRun.Status.DONE, ModelRun.Status.CANCELLED):
            raise Conflict(f"the run is {locked.status}; only failed or stalled runs resume")
        if locked.status == ModelRun.Status.FAILED:
            has_predictions = Prediction.objects.filter(run=locked).exists()
            locked.status = ModelRun.Status.RUNNING if has_predictions else ModelRun.Status.QUEUED
            locked.error = ""
            locked.finished_at = None
            # The failed worker holds nothing any more: its chunks may be claimed at once.
            ModelRunChunk.objects.filter(run=locked, status=ModelRunChunk.Status.PENDING).update(
                claimed_until=None
            )
        locked.heartbeat_at = timezone.now()
        locked.save(update_fields=["status", "error", "finished_at", "heartbeat_at", "updated_at"])
        step = _next_step_for(locked)
        chains = PARALLEL_CHAINS if step == dispatch.WORK else 1
        for _ in range(chains):
            dispatch.run_step_send(step=step, run=locked)
    return locked


def stalled_runs() -> Any:
    """Unfinished runs of predictors that no live worker holds a chunk of and that showed no
    sign of life for ``DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS``: their work was lost (or never
    sent)."""
    now = timezone.now()
    silence = timedelta(seconds=settings.DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS)
    live = ModelRunChunk.objects.filter(
        ModelRunChunk.live_claim(now), run=OuterRef("pk"), status=ModelRunChunk.Status.PENDING
    )
    return (
        ModelRun.objects.filter(
            source=ModelRun.Source.PREDICTOR,
            status__in=[ModelRun.Status.QUEUED, ModelRun.Status.RUNNING],
        )
        .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - silence))
        .exclude(Exists(live))
        .select_related("predictor")
        .order_by("id")
    )


@dataclass
class SweepResult:
    resent: list[int]
    broker_down: bool = False


def _resend(runs: Any) -> SweepResult:
    result = SweepResult(resent=[])
    for run in runs:
        # Marked first: the next sweeps leave it alone while the work is on its way.
        ModelRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
        try:
            dispatch.run_step_send(step=_next_step_for(run), run=run)
        except BrokerUnavailable:
            ModelRun.objects.filter(pk=run.pk).update(heartbeat_at=run.heartbeat_at)
            result.broker_down = True
            return result
        result.resent.append(run.pk)
    return result


def model_runs_sweep() -> SweepResult:
    """Send work again for every stalled run (see ``stalled_runs``); run by Celery beat. Extra
    work is harmless: a task that finds nothing to claim stops. Stops at the first send that
    fails (the broker is away; the next sweep tries again)."""
    return _resend(list(stalled_runs()))


def model_runs_recover() -> SweepResult:
    """Send work for every unfinished run (a worker that starts calls it): picks up runs whose
    worker was killed without waiting for the sweep."""
    runs = ModelRun.objects.filter(
        source=ModelRun.Source.PREDICTOR,
        status__in=[ModelRun.Status.QUEUED, ModelRun.Status.RUNNING],
    ).select_related("predictor")
    return _resend(list(runs))

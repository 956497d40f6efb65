"""The worker engine: claim a chunk of a run under a lease, keep the lease alive with a
heartbeat while the chunk is predicted, write each batch without duplicates, decide the next step.

Each batch's predictions are written under a lock on the run row, skipping items that already
have one, and the database's unique constraint on (run, item) backs that up: a retried,
redelivered or taken-over chunk never duplicates a prediction, and a killed worker loses at most
the batch it was computing. A chunk's claim holds while its lease runs (renewed after each batch,
``DISSENSUS_MODEL_RUN_LEASE_SECONDS``) and its heartbeat is recent: a thread beats every third of
``DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS`` while the chunk is predicted, even through one long
batch. When the worker dies its heartbeat stops, and within that many seconds the next work task
of the run (or the sweep) takes the chunk over, however long the lease still runs.

One loaded model per worker process is kept (``loaded_predictor``) and reused by the next chunk of
the same predictor.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from annotate.models import Item
from annotate.tasktypes import get_task_type
from core.errors import SchemaError

from .backends import BackendError, PredictInput, PredictorConfig, load_predictor
from .backends import Predictor as BackendPredictor
from .models import ModelRun, ModelRunChunk, Prediction, Predictor
from .runs import model_run_finish_if_complete

logger = logging.getLogger(__name__)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _lease() -> timedelta:
    return timedelta(seconds=settings.DISSENSUS_MODEL_RUN_LEASE_SECONDS)


def _silence() -> timedelta:
    return timedelta(seconds=settings.DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS)


def chunk_claim(*, run_id: int) -> ModelRunChunk | None:
    """Claim the first pending chunk of the run that no live worker holds."""
    now = timezone.now()
    with transaction.atomic():
        chunk = (
            ModelRunChunk.objects.select_for_update(skip_locked=True)
            .filter(run_id=run_id, status=ModelRunChunk.Status.PENDING)
            .exclude(ModelRunChunk.live_claim(now))
            .order_by("index")
            .first()
        )
        if chunk is None:
            return None
        chunk.claimed_until = now + _lease()
        chunk.heartbeat_at = now
        chunk.claimed_by = _worker_name()
        chunk.attempts += 1
        chunk.save(update_fields=["claimed_until", "heartbeat_at", "claimed_by", "attempts"])
        ModelRun.objects.filter(pk=run_id).update(heartbeat_at=now)
    return chunk


def chunk_heartbeat(*, chunk: ModelRunChunk) -> bool:
    """Say that the worker predicting ``chunk`` is alive; False once the chunk is done or
    another worker took it over."""
    now = timezone.now()
    renewed = ModelRunChunk.objects.filter(
        pk=chunk.pk,
        status=ModelRunChunk.Status.PENDING,
        claimed_by=chunk.claimed_by,
        attempts=chunk.attempts,
    ).update(heartbeat_at=now)
    if renewed:
        ModelRun.objects.filter(pk=chunk.run_id).update(heartbeat_at=now)
    return bool(renewed)


class Heartbeat:
    """A daemon thread that beats a chunk's heartbeat every third of the allowed silence."""

    def __init__(self, chunk: ModelRunChunk) -> None:
        self.chunk = chunk
        self.interval = max(0.1, settings.DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"lease-chunk-{chunk.pk}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not chunk_heartbeat(chunk=self.chunk):
                        return
                except Exception:  # a database blip: try again at the next beat
                    logger.warning("no heartbeat for %s", self.chunk, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection


@dataclass
class WorkResult:
    """What one work step did, and what the task should do next."""

    chunk_index: int | None
    written: int
    next_step: str  # "continue", "wait" or "stop"
    wait_seconds: float = 0.0


def model_run_work(*, run_id: int) -> WorkResult:
    """Claim one pending chunk of the run and predict it; say what the task should do next.

    The next step is ``continue`` (queue the next task at once) when other chunks are waiting to
    be claimed, ``wait`` (queue it for when the earliest lease lapses) when the only pending
    chunks are claimed by other workers, and ``stop`` when the run finished or nothing is left.
    """
    run = ModelRun.objects.select_related("project", "predictor").filter(pk=run_id).first()
    if run is None or run.is_finished:
        return WorkResult(None, 0, "stop")
    chunk = chunk_claim(run_id=run.pk)
    written = 0
    if chunk is not None:
        with Heartbeat(chunk):
            written = _predict_chunk(run, chunk)
    return _next_step(run, chunk.index if chunk else None, written)


def _next_step(run: ModelRun, chunk_index: int | None, written: int) -> WorkResult:
    now = timezone.now()
    pending = ModelRunChunk.objects.filter(run=run, status=ModelRunChunk.Status.PENDING)
    current = ModelRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    if current is None or current in ModelRun.FINISHED:
        return WorkResult(chunk_index, written, "stop")
    if not pending.exists():
        model_run_finish_if_complete(run_id=run.pk)
        return WorkResult(chunk_index, written, "stop")
    if pending.exclude(ModelRunChunk.live_claim(now)).exists():
        return WorkResult(chunk_index, written, "continue")
    # Every pending chunk is held: look again when the first claim could lapse (its lease runs
    # out, or its heartbeat, if it stops now).
    lapses = [
        min(until, beat + _silence())
        for until, beat in pending.values_list("claimed_until", "heartbeat_at")
        if until is not None and beat is not None
    ]
    wait = max(1.0, (min(lapses) - now).total_seconds() + 0.5) if lapses else 1.0
    return WorkResult(chunk_index, written, "wait", wait)


# One loaded model per worker process, reused by the next chunk of the same predictor.
_LOADED: dict[str, Any] = {}


def _open_media(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        data: bytes = handle.read()
        return data


def loaded_predictor(predictor: Predictor) -> BackendPredictor:
    """The worker's loaded model for ``predictor``, loading it (and dropping the previous one)
    when the predictor or its configuration changed."""
    key = f"{predictor.pk}:{predictor.updated_at.isoformat()}"
    if _LOADED.get("key") != key:
        previous = _LOADED.pop("model", None)
        _LOADED.clear()
        if previous is not None:
            previous.close()
        _LOADED["model"] = load_predictor(
            predictor.backend,
            PredictorConfig(
                task_type=predictor.task_type,
                weights_path=predictor.weights_path,
                params=predictor.params,
                open_media=_open_media,
            ),
        )
        _LOADED["key"] = key
    model: BackendPredictor = _LOADED["model"]
    return model


def _predict_chunk(run: ModelRun, chunk: ModelRunChunk) -> int:
    assert run.predictor is not None
    plugin = get_task_type(run.project.task_type)
    config = plugin.config(run.project.config)
    done = set(
        Prediction.objects.filter(run=run, item_id__in=chunk.item_ids).values_list(
            "item_id", flat=True
        )
    )
    items = list(
        Item.objects.filter(id__in=[i for i in chunk.item_ids if i not in done]).only(
            "id", "payload"
        )
    )
    model = loaded_predictor(run.predictor)
    ModelRun.objects.filter(pk=run.pk, status=ModelRun.Status.QUEUED).update(
        status=ModelRun.Status.RUNNING,
        started_at=timezone.now(),
        device=model.device,
        updated_at=timezone.now(),
    )
    payloads = {item.pk: item.payload for item in items}
    written = 0
    for batch in model.batches([PredictInput(item.pk, item.payload) for item in items]):
        if ModelRun.objects.filter(pk=run.pk, status__in=ModelRun.FINISHED).exists():
            return written  # cancelled (or failed by another chain): stop after this batch
        predictions = model.predict_batch(batch)
        rows = []
        for prediction in predictions:
            try:
                value = plugin.validate_annotation(
                    prediction.value, config=config, payload=payloads[prediction.key]
                )
            except SchemaError as exc:
                raise BackendError(
                    f"the backend's answer for item {prediction.key} does not fit the "
                    f"{plugin.name} annotation schema: {exc}"
                ) from None
            rows.append(
                Prediction(
                    run=run,
                    item_id=prediction.key,
                    value=value,
                    score=prediction.score,
                    distribution=prediction.distribution,
                    details=prediction.details,
                )
            )
        written += _write_batch(run, chunk, rows)
    with transaction.atomic():
        ModelRunChunk.objects.filter(pk=chunk.pk).update(
            status=ModelRunChunk.Status.DONE, finished_at=timezone.now(), claimed_until=None
        )
    return written


def _write_batch(run: ModelRun, chunk: ModelRunChunk, rows: list[Prediction]) -> int:
    """Store one batch under the run's row lock, skipping items that already have a prediction
    (another worker took the chunk over), count them, and renew the chunk's lease."""
    with transaction.atomic():
        locked = ModelRun.objects.select_for_update().get(pk=run.pk)
        if locked.is_finished:
            return 0
        existing = set(
            Prediction.objects.filter(run=run, item_id__in=[r.item_id for r in rows]).values_list(
                "item_id", flat=True
            )
        )
        new = [row for row in rows if row.item_id not in existing]
        Prediction.objects.bulk_create(new, ignore_conflicts=True)
        now = timezone.now()
        ModelRun.objects.filter(pk=run.pk).update(
            n_done=F("n_done") + len(new), updated_at=now, heartbeat_at=now
        )
        ModelRunChunk.objects.filter(pk=chunk.pk).update(
            claimed_until=now + _lease(), heartbeat_at=now
        )
    return len(new)

"""Writes for the model runtime: predictors, model runs and their chunks, imported predictions.

A run is planned into chunks of item ids (a snapshot, so later imports or filters that change do
not move items between chunks). Workers run ``model_run_work`` tasks; each claims one pending
chunk with a lease, predicts it batch by batch, renews the lease after every batch, marks the
chunk done, and enqueues the next task of its chain. Each batch's predictions are written under
a lock on the run row, skipping items that already have one, and the database's unique
constraint on (run, item) backs that up: a retried, redelivered or taken-over chunk never
duplicates a prediction, and a killed worker loses at most the batch it was computing. A chunk
whose lease lapsed (its worker died) is taken over by the next task that looks for work;
``model_runs_recover`` (run when a worker starts) puts tasks back for runs left unfinished.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from annotate.models import Item, Project
from annotate.tasktypes import get_task_type
from core.errors import Conflict, ImportFailed, InvalidInput, SchemaError
from core.records import ParseProblem, as_buffered, parse_records

from . import selectors
from .backends import BackendError, PredictInput, PredictorConfig, backend_spec, load_predictor
from .backends import Predictor as BackendPredictor
from .models import ModelRun, ModelRunChunk, Prediction, Predictor

logger = logging.getLogger(__name__)

# --- predictors


def predictor_errors(
    *, task_type: str, backend: str, weights_path: str, params: Any, queue: str
) -> list[dict[str, str]]:
    """Every reason a predictor's configuration cannot work, as ``[{field, message}]``.

    Checks that the backend is known, that it answers the task type (which must be registered),
    that a local weights directory exists where the backend needs one, and that the parameters
    are ones the backend understands. Never loads the model (the web process stays light).
    """
    errors: list[dict[str, str]] = []
    try:
        spec = backend_spec(backend)
    except BackendError as exc:
        return [{"field": "backend", "message": str(exc)}]
    try:
        get_task_type(task_type)
    except SchemaError as exc:
        errors.append({"field": "task_type", "message": exc.errors[0].message})
    else:
        if task_type not in spec.task_types:
            errors.append(
                {
                    "field": "task_type",
                    "message": f"backend {backend} answers {', '.join(sorted(spec.task_types))}, "
                    f"not {task_type}",
                }
            )
    if spec.needs_weights:
        if not weights_path:
            errors.append({"field": "weights_path", "message": "this backend needs local weights"})
        elif not os.path.isdir(weights_path):
            errors.append({"field": "weights_path", "message": f"no directory at {weights_path}"})
        elif not os.path.exists(os.path.join(weights_path, "config.json")):
            errors.append({"field": "weights_path", "message": "no config.json in the directory"})
    if not isinstance(params, dict):
        errors.append({"field": "params", "message": "must be a JSON object"})
    else:
        try:
            spec.params_with_defaults(params)
        except BackendError as exc:
            errors.append({"field": "params", "message": str(exc)})
    if queue not in Predictor.Queue.values:
        errors.append({"field": "queue", "message": f"one of {', '.join(Predictor.Queue.values)}"})
    return errors


def _predictor_save(predictor: Predictor) -> Predictor:
    errors = predictor_errors(
        task_type=predictor.task_type,
        backend=predictor.backend,
        weights_path=predictor.weights_path,
        params=predictor.params,
        queue=predictor.queue,
    )
    try:
        predictor.full_clean()
    except ValidationError as exc:
        errors += [
            {"field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
            if not any(e["field"] == field for e in errors)
        ]
    if errors:
        raise InvalidInput("the predictor is invalid", detail=errors)
    predictor.save()
    return predictor


def predictor_create(
    *,
    name: str,
    task_type: str,
    backend: str,
    weights_path: str = "",
    params: dict[str, Any] | None = None,
    queue: str = Predictor.Queue.DEFAULT,
    description: str = "",
    created_by: User | None = None,
) -> Predictor:
    """Register a predictor after checking that its configuration can work."""
    return _predictor_save(
        Predictor(
            name=name,
            task_type=task_type,
            backend=backend,
            weights_path=weights_path,
            params=params if params is not None else {},
            queue=queue,
            description=description,
            created_by=created_by,
        )
    )


def predictor_update(*, predictor: Predictor, **fields: Any) -> Predictor:
    """Change a predictor's configuration; the same checks as on creation."""
    for name, value in fields.items():
        setattr(predictor, name, value)
    return _predictor_save(predictor)


# --- starting, cancelling, failing runs


def celery_queue(predictor: Predictor | None) -> str:
    """The Celery queue of a predictor's work: ``gpu`` for GPU predictors, else the default
    queue that CPU workers consume (``CELERY_TASK_DEFAULT_QUEUE``)."""
    if predictor is not None and predictor.queue == Predictor.Queue.GPU:
        return "gpu"
    return str(settings.CELERY_TASK_DEFAULT_QUEUE)


def _enqueue(task: Any, run: ModelRun, *args: Any, countdown: float | None = None) -> None:
    """Send ``task`` after the transaction commits, to the predictor's queue."""
    options: dict[str, Any] = {"queue": celery_queue(run.predictor)}
    if countdown:
        options["countdown"] = countdown
    transaction.on_commit(lambda: task.apply_async(args=args, **options))


def model_run_start(
    *,
    project: Project,
    predictor: Predictor,
    filters: dict[str, Any] | None = None,
    created_by: User | None = None,
) -> ModelRun:
    """Queue a run of ``predictor`` over the project's items (all, or those ``filters`` pick).

    Nothing is predicted here: a worker plans the run into chunks and predicts them.
    """
    from .celery_tasks import model_run_plan

    if predictor.task_type != project.task_type:
        raise InvalidInput(
            "the predictor is for another task type",
            detail=[
                {
                    "field": "predictor",
                    "message": f"{predictor.name} predicts "
                    f"{predictor.task_type}, the project is {project.task_type}",
                }
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
        )
        _enqueue(model_run_plan, run, run.pk)
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


# --- planning and working (called by the Celery tasks)


def model_run_plan(*, run_id: int) -> None:
    """Split a queued run's items into chunks and start its workers; idempotent."""
    from .celery_tasks import model_run_work

    with transaction.atomic():
        run = (
            ModelRun.objects.select_for_update(of=("self",))
            .select_related("project", "predictor")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.is_finished:
            return
        if not run.chunks.exists():
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
            run.save(update_fields=["n_items", "updated_at"])
        if not run.chunks.filter(status=ModelRunChunk.Status.PENDING).exists():
            _finish_if_complete(run)
            return
        for _ in range(_parallel_chains(run)):
            _enqueue(model_run_work, run, run.pk)


def _parallel_chains(run: ModelRun) -> int:
    pending = run.chunks.filter(status=ModelRunChunk.Status.PENDING).count()
    return max(1, min(pending, 2))


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim_chunk(run_id: int, lease: timedelta) -> ModelRunChunk | None:
    now = timezone.now()
    with transaction.atomic():
        chunk = (
            ModelRunChunk.objects.select_for_update(skip_locked=True)
            .filter(run_id=run_id, status=ModelRunChunk.Status.PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("index")
            .first()
        )
        if chunk is None:
            return None
        chunk.claimed_until = now + lease
        chunk.claimed_by = _worker_name()
        chunk.attempts += 1
        chunk.save(update_fields=["claimed_until", "claimed_by", "attempts"])
    return chunk


@dataclass
class WorkResult:
    """What one work step did, and what the task should do next."""

    chunk_index: int | None
    written: int
    next_step: str  # "continue", "wait" or "stop"
    wait_seconds: float = 0.0


def model_run_work(*, run_id: int) -> WorkResult:
    """Claim one pending chunk of the run and predict it, then queue the next task of the chain
    while work remains.

    The next step is ``continue`` (queued at once) when other chunks are waiting to be claimed,
    ``wait`` (queued for when the earliest lease lapses) when the only pending chunks are claimed
    by other workers, and ``stop`` (nothing queued) when the run finished or nothing is left.
    """
    from .celery_tasks import model_run_work as model_run_work_task

    run = ModelRun.objects.select_related("project", "predictor").filter(pk=run_id).first()
    if run is None or run.is_finished:
        return WorkResult(None, 0, "stop")
    lease = timedelta(seconds=settings.DISSENSUS_MODEL_RUN_LEASE_SECONDS)
    chunk = _claim_chunk(run.pk, lease)
    written = 0
    if chunk is not None:
        written = _predict_chunk(run, chunk, lease)
    result = _next_step(run, chunk.index if chunk else None, written)
    if result.next_step != "stop":
        _enqueue(model_run_work_task, run, run.pk, countdown=result.wait_seconds)
    return result


def _next_step(run: ModelRun, chunk_index: int | None, written: int) -> WorkResult:
    now = timezone.now()
    pending = ModelRunChunk.objects.filter(run=run, status=ModelRunChunk.Status.PENDING)
    current = ModelRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    if current is None or current in ModelRun.FINISHED:
        return WorkResult(chunk_index, written, "stop")
    if not pending.exists():
        _finish_if_complete(run)
        return WorkResult(chunk_index, written, "stop")
    if pending.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).exists():
        return WorkResult(chunk_index, written, "continue")
    earliest = pending.order_by("claimed_until").values_list("claimed_until", flat=True).first()
    wait = max(1.0, (earliest - now).total_seconds() + 0.5) if earliest else 1.0
    return WorkResult(chunk_index, written, "wait", wait)


def _finish_if_complete(run: ModelRun) -> None:
    with transaction.atomic():
        locked = ModelRun.objects.select_for_update().get(pk=run.pk)
        if locked.is_finished:
            return
        if locked.chunks.filter(status=ModelRunChunk.Status.PENDING).exists():
            return
        locked.status = ModelRun.Status.DONE
        locked.n_done = Prediction.objects.filter(run=locked).count()
        locked.finished_at = timezone.now()
        if locked.started_at is None:
            locked.started_at = locked.finished_at
        locked.save(update_fields=["status", "n_done", "finished_at", "started_at", "updated_at"])


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


def _predict_chunk(run: ModelRun, chunk: ModelRunChunk, lease: timedelta) -> int:
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
        if ModelRun.objects.filter(pk=run.pk, status=ModelRun.Status.CANCELLED).exists():
            return written
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
        written += _write_batch(run, chunk, rows, lease)
    with transaction.atomic():
        ModelRunChunk.objects.filter(pk=chunk.pk).update(
            status=ModelRunChunk.Status.DONE, finished_at=timezone.now(), claimed_until=None
        )
    return written


def _write_batch(
    run: ModelRun, chunk: ModelRunChunk, rows: list[Prediction], lease: timedelta
) -> int:
    """Store one batch under the run's row lock, skipping items that already have a prediction
    (another worker took the chunk over), count them, and renew the chunk's lease."""
    with transaction.atomic():
        locked = ModelRun.objects.select_for_update().get(pk=run.pk)
        if locked.status == ModelRun.Status.CANCELLED:
            return 0
        existing = set(
            Prediction.objects.filter(run=run, item_id__in=[r.item_id for r in rows]).values_list(
                "item_id", flat=True
            )
        )
        new = [row for row in rows if row.item_id not in existing]
        Prediction.objects.bulk_create(new, ignore_conflicts=True)
        ModelRun.objects.filter(pk=run.pk).update(
            n_done=F("n_done") + len(new), updated_at=timezone.now()
        )
        ModelRunChunk.objects.filter(pk=chunk.pk).update(claimed_until=timezone.now() + lease)
    return len(new)


def model_runs_recover() -> int:
    """Put work back in the queues for every unfinished run (after a worker restart). Extra
    tasks are harmless: one that finds nothing to claim stops. Returns how many runs."""
    from .celery_tasks import model_run_plan, model_run_work

    runs = ModelRun.objects.filter(
        source=ModelRun.Source.PREDICTOR,
        status__in=[ModelRun.Status.QUEUED, ModelRun.Status.RUNNING],
    ).select_related("predictor")
    count = 0
    with transaction.atomic():
        for run in runs:
            task = model_run_work if run.chunks.exists() else model_run_plan
            _enqueue(task, run, run.pk)
            count += 1
    return count


def model_run_enqueue_next(*, run_id: int, countdown: float | None = None) -> None:
    """Send the next task of a run's chain (from a finished work step)."""
    from .celery_tasks import model_run_work

    run = ModelRun.objects.select_related("predictor").filter(pk=run_id).first()
    if run is not None and not run.is_finished:
        with transaction.atomic():
            _enqueue(model_run_work, run, run.pk, countdown=countdown)


# --- imported predictions


@dataclass
class _ImportRow:
    item_id: int
    value: dict[str, Any]
    score: float | None
    distribution: dict[str, float] | None


def _read_rows(
    stream: IO[bytes], *, project: Project
) -> tuple[list[_ImportRow], list[dict[str, Any]]]:
    plugin = get_task_type(project.task_type)
    lines: list[tuple[int, Any]] = []
    problems: list[dict[str, Any]] = []
    for number, record in parse_records(as_buffered(stream), fmt="jsonl"):  # bounded, checked
        if isinstance(record, ParseProblem):
            problems.append(
                {"line": number, "errors": [{"field": "(row)", "message": record.message}]}
            )
        elif isinstance(record, SchemaError):  # text that cannot be stored
            problems.append({"line": number, "errors": record.as_list()})
        else:
            lines.append((number, record))
    wanted = {str(record.get("external_id")) for _n, record in lines if isinstance(record, dict)}
    items = {
        item.external_id: item
        for item in Item.objects.filter(project=project, external_id__in=wanted).only(
            "id", "external_id", "payload"
        )
    }
    rows: list[_ImportRow] = []
    seen: set[str] = set()
    for number, record in lines:
        errors = []
        if not isinstance(record, dict):
            problems.append(
                {"line": number, "errors": [{"field": "(row)", "message": "must be a JSON object"}]}
            )
            continue
        for key in sorted(set(record) - {"external_id", "value", "score", "distribution"}):
            errors.append({"field": key, "message": "unknown field"})
        external_id = record.get("external_id")
        if isinstance(external_id, int) and not isinstance(external_id, bool):
            external_id = str(external_id)
        item = items.get(external_id) if isinstance(external_id, str) else None
        if item is None:
            errors.append(
                {"field": "external_id", "message": f"no item {external_id!r} in the project"}
            )
        elif external_id in seen:
            errors.append({"field": "external_id", "message": "repeated in this file"})
        value: dict[str, Any] = {}
        try:
            value = plugin.validate_annotation(
                record.get("value"), config=project.config, payload=item.payload if item else {}
            )
        except SchemaError as exc:
            errors += exc.as_list()
        score = record.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
            errors.append({"field": "score", "message": "must be a number or null"})
        distribution = record.get("distribution")
        if distribution is not None and (
            not isinstance(distribution, dict)
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool)
                for v in distribution.values()
            )
        ):
            errors.append({"field": "distribution", "message": "an object of numbers"})
        if errors:
            problems.append({"line": number, "errors": errors})
            continue
        assert item is not None
        seen.add(item.external_id)
        rows.append(
            _ImportRow(item.pk, value, None if score is None else float(score), distribution)
        )
    return rows, problems


def predictions_import(
    *, project: Project, model_name: str, stream: IO[bytes] | Any, created_by: User | None = None
) -> ModelRun:
    """Store predictions made outside as a finished run: JSON Lines rows
    ``{external_id, value, score}`` (``value`` in the task type's annotation shape, checked by
    its schema). All or nothing: ``ImportFailed`` lists every bad line with its field errors."""
    model_name = (model_name or "").strip()
    if not model_name or len(model_name) > 200:
        raise InvalidInput(
            "name the model",
            detail=[{"field": "model", "message": "required, at most 200 characters"}],
        )
    rows, problems = _read_rows(stream, project=project)
    if problems:
        raise ImportFailed(f"{len(problems)} bad line(s); nothing was imported", detail=problems)
    if not rows:
        raise InvalidInput(
            "no predictions in the file", detail=[{"field": "(body)", "message": "no rows"}]
        )
    now = timezone.now()
    with transaction.atomic():
        run = ModelRun.objects.create(
            project=project,
            predictor=None,
            model_name=model_name,
            source=ModelRun.Source.IMPORT,
            status=ModelRun.Status.DONE,
            n_items=len(rows),
            n_done=len(rows),
            device="import",
            created_by=created_by,
            started_at=now,
            finished_at=now,
        )
        try:
            Prediction.objects.bulk_create(
                [
                    Prediction(
                        run=run,
                        item_id=r.item_id,
                        value=r.value,
                        score=r.score,
                        distribution=r.distribution,
                    )
                    for r in rows
                ],
                batch_size=2000,
            )
        except IntegrityError as exc:  # the file named an item twice under two spellings
            raise ImportFailed(
                "duplicate items",
                detail=[{"line": 0, "errors": [{"field": "external_id", "message": str(exc)}]}],
            ) from None
    return run

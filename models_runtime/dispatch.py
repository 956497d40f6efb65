"""The one place model-run work is sent to the broker.

Services and Celery tasks name the step they want next (``plan`` or ``work``) and call
``run_step_send``; nothing else publishes. Tasks are referred to by name, so this module (and the
services that call it) never imports ``celery_tasks``.

Transient broker failures (kombu's ``OperationalError``, connection errors) are retried here with
backoff, a few times in a web request and more patiently inside a worker; if the broker stays away
``BrokerUnavailable`` is raised. A run whose work could not be sent is never lost: the periodic
sweep (``runs.model_runs_sweep``, scheduled by Celery beat) sends work again for every run that
shows no sign of life.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from core.errors import ServiceError

from .models import ModelRun, Predictor

logger = logging.getLogger(__name__)

PLAN = "models_runtime.model_run_plan"
WORK = "models_runtime.model_run_work"
STEPS = (PLAN, WORK)

# What a broker outage looks like to a publisher: kombu wraps connection failures in its
# OperationalError; a socket error can still escape from some transports.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    KombuOperationalError,
    ConnectionError,
    TimeoutError,
)


class BrokerUnavailable(ServiceError):
    """The message broker cannot be reached: the work was not sent."""

    status_code = 503
    code = "broker_unavailable"


def celery_queue(predictor: Predictor | None) -> str:
    """The Celery queue of a predictor's work: ``gpu`` for GPU predictors, else the default
    queue that CPU workers consume (``CELERY_TASK_DEFAULT_QUEUE``)."""
    if predictor is not None and predictor.queue == Predictor.Queue.GPU:
        return "gpu"
    return str(settings.CELERY_TASK_DEFAULT_QUEUE)


def _retry_policy(patient: bool) -> dict[str, float]:
    """Kombu's publish retry: short in a request (the user waits), longer in a worker."""
    if patient:
        return {"max_retries": 8, "interval_start": 0.5, "interval_step": 1.0, "interval_max": 5.0}
    return {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3, "interval_max": 0.5}


def _send(step: str, run_id: int, queue: str, countdown: float | None, patient: bool) -> None:
    options: dict[str, Any] = {
        "queue": queue,
        "retry": True,
        "retry_policy": _retry_policy(patient),
    }
    if countdown:
        options["countdown"] = countdown
    try:
        current_app.tasks[step].apply_async(args=(run_id,), **options)
    except BROKER_ERRORS as exc:
        logger.warning("could not send %s for model run %s: %s", step, run_id, exc)
        raise BrokerUnavailable(
            "the task broker is unavailable; try again in a moment",
            detail={"run_id": run_id, "step": step},
        ) from exc


def run_step_send(
    *, step: str, run: ModelRun, countdown: float | None = None, patient: bool = False
) -> None:
    """Send ``step`` (``PLAN`` or ``WORK``) for ``run`` to its predictor's queue once the
    current transaction commits (at once outside one). Raises ``BrokerUnavailable`` (from the
    commit, when deferred) if the broker stays unreachable through the retries."""
    if step not in STEPS:
        raise ValueError(f"unknown model-run step {step!r}")
    queue = celery_queue(run.predictor)
    run_id = run.pk
    transaction.on_commit(lambda: _send(step, run_id, queue, countdown, patient))

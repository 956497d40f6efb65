"""Celery tasks of the model runtime: take ids, call one service, own retries and failures.

``acks_late`` with ``reject_on_worker_lost``: a task whose worker dies is delivered again, and
the services are idempotent (chunk leases, one prediction per item and run), so a redelivered or
duplicated task does no harm. Only transient failures (the database or an endpoint briefly
unreachable) are retried; anything else fails the run with its reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError

from . import services
from .backends.base import TransientBackendError

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, TransientBackendError)
TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": 5,
    "ignore_result": True,
}


def _retry_or_fail(task: Any, run_id: int, exc: Exception) -> None:
    if task.request.retries < task.max_retries:
        raise task.retry(exc=exc, countdown=min(300, 5 * 2**task.request.retries))
    services.model_run_fail(run_id=run_id, error=f"gave up after retries: {exc}")


def _run_step(task: Any, run_id: int, step: Callable[..., Any]) -> None:
    """Call one service step of a run: retry transient failures, fail the run on any other."""
    try:
        step(run_id=run_id)
    except TRANSIENT as exc:
        _retry_or_fail(task, run_id, exc)
    except Exception as exc:
        logger.exception("model run %s failed in %s", run_id, step.__name__)
        services.model_run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")


@shared_task(name="models_runtime.model_run_plan", **TASK_OPTIONS)
def model_run_plan(self: Any, run_id: int) -> None:
    _run_step(self, run_id, services.model_run_plan)


@shared_task(name="models_runtime.model_run_work", **TASK_OPTIONS)
def model_run_work(self: Any, run_id: int) -> None:
    """Predict one chunk of the run; the service queues the next task of the chain."""
    _run_step(self, run_id, services.model_run_work)


@shared_task(name="models_runtime.model_runs_recover", **TASK_OPTIONS)
def model_runs_recover(self: Any) -> None:
    services.model_runs_recover()


@worker_ready.connect
def _recover_on_start(sender: Any = None, **_kwargs: Any) -> None:
    """A worker that starts picks up runs left unfinished (e.g. by a killed worker)."""
    try:
        count = services.model_runs_recover()
    except Exception:  # the worker must start even if the database is briefly away
        logger.exception("could not look for unfinished model runs")
        return
    if count:
        logger.info("re-queued work for %d unfinished model run(s)", count)

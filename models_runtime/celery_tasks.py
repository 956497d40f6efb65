"""Celery tasks of the model runtime: take ids, call one service, decide and send the next step
(through ``dispatch``, the one place work is sent), own retries and failures.

``acks_late`` with ``reject_on_worker_lost``: a task whose worker dies is delivered again, and
the services are idempotent (chunk leases, one prediction per item and run), so a redelivered or
duplicated task does no harm. Only transient failures (the database, the broker or an endpoint
briefly unreachable) are retried, with backoff; anything else fails the run with its reason. A
broker outage never fails a run: when even the retry cannot be sent, the run is left to the
periodic sweep (``model_runs_sweep``, every ``DISSENSUS_MODEL_RUN_SWEEP_SECONDS`` by beat).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.exceptions import Reject, Retry
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError

from . import dispatch, runs, worker
from .backends.base import TransientBackendError
from .dispatch import BROKER_ERRORS, BrokerUnavailable
from .models import ModelRun

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, TransientBackendError, BrokerUnavailable)
TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": 5,
    "ignore_result": True,
}


def _retry_or_fail(task: Any, run_id: int, exc: Exception) -> None:
    if task.request.retries < task.max_retries:
        try:
            raise task.retry(exc=exc, countdown=min(300, 5 * 2**task.request.retries))
        except Retry:
            raise
        except (Reject, *BROKER_ERRORS):  # the retry itself could not be sent
            logger.warning("broker away: model run %s is left to the sweep", run_id)
            return
    if isinstance(exc, BrokerUnavailable):
        logger.warning("broker away after retries: model run %s is left to the sweep", run_id)
        return
    runs.model_run_fail(run_id=run_id, error=f"gave up after retries: {exc}")


def _send(step: str, run_id: int, *, chains: int = 1, countdown: float | None = None) -> None:
    run = ModelRun.objects.select_related("predictor").filter(pk=run_id).first()
    if run is None or run.is_finished:
        return
    for _ in range(chains):
        dispatch.run_step_send(step=step, run=run, countdown=countdown, patient=True)


def _guarded(task: Any, run_id: int, step_name: str, body: Any) -> None:
    """Run ``body``: retry transient failures, fail the run on any other."""
    try:
        body()
    except Retry:
        raise
    except TRANSIENT as exc:
        _retry_or_fail(task, run_id, exc)
    except Exception as exc:
        logger.exception("model run %s failed in %s", run_id, step_name)
        runs.model_run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")


@shared_task(name=dispatch.PLAN, **TASK_OPTIONS)
def model_run_plan(self: Any, run_id: int) -> None:
    """Plan the run into chunks, then start its chains of work tasks."""

    def body() -> None:
        chains = runs.model_run_plan(run_id=run_id)
        if chains:
            _send(dispatch.WORK, run_id, chains=chains)

    _guarded(self, run_id, "model_run_plan", body)


@shared_task(name=dispatch.WORK, **TASK_OPTIONS)
def model_run_work(self: Any, run_id: int) -> None:
    """Predict one chunk of the run, then send the next task of the chain while work remains."""

    def body() -> None:
        result = worker.model_run_work(run_id=run_id)
        if result.next_step != "stop":
            _send(dispatch.WORK, run_id, countdown=result.wait_seconds or None)

    _guarded(self, run_id, "model_run_work", body)


@shared_task(name="models_runtime.model_runs_sweep", ignore_result=True)
def model_runs_sweep() -> None:
    """Send work again for stalled runs (scheduled by beat in ``config/celery.py``)."""
    result = runs.model_runs_sweep()
    if result.resent:
        logger.info("re-sent work for stalled model run(s) %s", result.resent)


@worker_ready.connect
def _recover_on_start(sender: Any = None, **_kwargs: Any) -> None:
    """A worker that starts picks up runs left unfinished (e.g. by a killed worker)."""
    try:
        result = runs.model_runs_recover()
    except Exception:  # the worker must start even if the database is briefly away
        logger.exception("could not look for unfinished model runs")
        return
    if result.resent:
        logger.info("re-queued work for %d unfinished model run(s)", len(result.resent))

"""Celery task of the analysis: recompute a project's figures in the background.

Takes an id, calls one service. Idempotent: it recomputes from the database, so a duplicated or
redelivered task only does the work twice. Only a database that is briefly unreachable is retried.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import snapshots


@shared_task(
    name=snapshots.REFRESH_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=3,
    ignore_result=True,
)
def analysis_refresh_task(self: Any, project_id: int) -> None:
    try:
        snapshots.analysis_refresh(project_id=project_id)
    except (OperationalError, InterfaceError) as exc:
        raise self.retry(exc=exc, countdown=10 * 2**self.request.retries) from exc

"""The cache of a project's figures (``AnalysisSnapshot``), and when they are recomputed.

The one caching rule (``analysis_get``, used by every page, the API and the refresh button): a
snapshot computed from what the project holds now (``selectors.analysis_source_key``) is used as
is. Otherwise a project with at most ``INLINE_MAX_ANNOTATIONS`` counted annotations is computed in
the request (well under a second) and stored: a cache fill; a bigger one gets a background
computation (``analysis_refresh_request``) and the page shows the last snapshot, marked stale,
until it lands. Submitting an annotation to such a big project requests a refresh too, debounced:
one pending computation per project (``AnalysisRefresh.pending``), so the figures are ready when a
lead comes back.

The background computation is the Celery task ``analysis.refresh`` (``celery_tasks``), looked up
by name in Celery's registry: this module does not import the task module, which imports it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.db import connection, transaction
from django.utils import timezone

from annotate.models import Project

from .figures import Figures, agreement_compute
from .models import AnalysisRefresh, AnalysisSnapshot
from .selectors.reliability import analysis_source_key
from .taxonomy import taxonomy_ensure

logger = logging.getLogger(__name__)

INLINE_MAX_ANNOTATIONS = 20_000
"""Projects with at most this many counted annotations are computed in the request when the
cached figures are stale; bigger ones only in the background (Celery)."""

REFRESH_STALE_AFTER = timedelta(minutes=10)
"""A pending refresh older than this is requested again (its worker may have died)."""

REFRESH_TASK = "analysis.refresh"

BIG_SEEN_SECONDS = 5.0
"""How long this process trusts its last answer to "is the project big?" (every submit asks it):
a snapshot stored here forgets it at once; one stored by a worker is seen within this time, so a
newly big project's first background refresh may be requested a few seconds late."""

_big_seen: dict[int, tuple[float, bool]] = {}


def _is_big(project_id: int) -> bool:
    """Whether the project's last figures counted more than ``INLINE_MAX_ANNOTATIONS``
    (cached per process for ``BIG_SEEN_SECONDS``: the hot path's submit calls this)."""
    now = time.monotonic()
    seen = _big_seen.get(project_id)
    if seen is not None and seen[0] > now:
        return seen[1]
    table = AnalysisSnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE project_id = %s"
            " AND annotations_count > %s)",
            [project_id, INLINE_MAX_ANNOTATIONS],
        )
        row = cursor.fetchone()
    big = bool(row and row[0])
    if len(_big_seen) > 10_000:
        _big_seen.clear()
    _big_seen[project_id] = (now + BIG_SEEN_SECONDS, big)
    return big


@transaction.atomic
def analysis_refresh(*, project_id: int) -> AnalysisSnapshot | None:
    """Compute and store a project's figures (the Celery task's body); ``None`` if it is gone.
    The project's divergence taxonomy is seeded here too, so the pages that show the figures
    only read it."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    AnalysisRefresh.objects.filter(project=project).update(pending=False)
    key, count = analysis_source_key(project=project)
    started = time.perf_counter()
    figures = agreement_compute(project=project)
    taxonomy_ensure(project=project)
    snapshot, _ = AnalysisSnapshot.objects.update_or_create(
        project=project,
        defaults={
            "computed_at": timezone.now(),
            "source_key": key,
            "annotations_count": count,
            "seconds": time.perf_counter() - started,
            "data": figures.to_dict(),
        },
    )
    _big_seen.pop(project.pk, None)
    return snapshot


def analysis_annotations_changed(*, project_id: int) -> bool:
    """Called when an annotation arrives (the ``annotate.hooks.annotations_changed`` receiver):
    queue a background refresh for a big project (one whose last figures counted more than
    ``INLINE_MAX_ANNOTATIONS``). Small projects, and big ones nobody has opened yet, are computed
    when a lead asks for them. Whether one was queued."""
    return _is_big(project_id) and analysis_refresh_request(project_id=project_id)


def analysis_refresh_request(*, project_id: int) -> bool:
    """Queue a background computation unless one is already pending; whether one was queued.

    One statement marks the project pending (or finds it pending already), so concurrent
    submits queue one task between them. Enqueued after commit; a broker that is down is logged,
    never raised into the caller (annotators keep working).
    """
    now = timezone.now()
    already = AnalysisRefresh.objects.filter(
        project_id=project_id, pending=True, requested_at__gte=now - REFRESH_STALE_AFTER
    )
    if already.exists():  # the common case while annotators work: a plain read, no lock
        return False
    table = AnalysisRefresh._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (project_id, pending, requested_at) VALUES (%s, true, %s)
            ON CONFLICT (project_id)
            DO UPDATE SET pending = true, requested_at = EXCLUDED.requested_at
            WHERE NOT {table}.pending OR {table}.requested_at < %s
            RETURNING id
            """,
            [project_id, now, now - REFRESH_STALE_AFTER],
        )
        queued = cursor.fetchone() is not None
    if queued:
        transaction.on_commit(lambda: _enqueue_refresh(project_id))
    return queued


def _enqueue_refresh(project_id: int) -> None:
    try:
        # By name, from the registry (filled when the app is ready): ``apply_async`` on the
        # registered task keeps Celery's eager mode working, which ``send_task`` would not.
        current_app.tasks[REFRESH_TASK].apply_async(args=[project_id], retry=False)
    except Exception:  # the broker is down: the next request or submit asks again
        logger.warning("could not queue the analysis of project %s", project_id, exc_info=True)
        AnalysisRefresh.objects.filter(project_id=project_id).update(pending=False)


@dataclass
class AnalysisView:
    """The figures a page shows, and whether they are up to date (``fresh``) or a newer
    computation is on its way (``pending``); ``figures`` is ``None`` before the first one."""

    figures: Figures | None
    fresh: bool
    pending: bool
    computed_at: datetime | None = None

    @property
    def data(self) -> dict[str, Any] | None:
        """The figures' JSON form (the API body; what the review queue reads)."""
        return self.figures.to_dict() if self.figures is not None else None


def analysis_get(*, project: Project, recompute: bool = False) -> AnalysisView:
    """The project's figures: the cached snapshot if fresh (and ``recompute`` is not asked); else
    computed now for a small project (``INLINE_MAX_ANNOTATIONS``), or the last snapshot, marked
    stale, with a background refresh requested. A snapshot this code cannot read counts as none."""
    key, count = analysis_source_key(project=project)
    stored = AnalysisSnapshot.objects.filter(project=project).first()
    figures = Figures.load(stored.data) if stored is not None else None
    snapshot = stored if figures is not None else None
    if snapshot is not None and snapshot.source_key == key and not recompute:
        return AnalysisView(figures, fresh=True, pending=False, computed_at=snapshot.computed_at)
    if count <= INLINE_MAX_ANNOTATIONS:
        snapshot = analysis_refresh(project_id=project.pk)
        assert snapshot is not None
        figures = Figures.from_dict(snapshot.data)
        return AnalysisView(figures, fresh=True, pending=False, computed_at=snapshot.computed_at)
    analysis_refresh_request(project_id=project.pk)
    if snapshot is None:
        return AnalysisView(None, fresh=False, pending=True)
    return AnalysisView(figures, fresh=False, pending=True, computed_at=snapshot.computed_at)

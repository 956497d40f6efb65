"""What ``next`` means for an annotator, the same for the browser and the API (SPEC 3, 5).

``annotator_next`` reserves the next item and, when there is none, decides what that means:

- an in-house annotator: nothing left for them (``ALL_DONE``);
- a crowd worker whose quota is used up: their session is completed (``SESSION_OVER``), and
  they are shown the completion code;
- a crowd worker while every item they could still do is reserved by others: ``WAIT`` (those
  reservations may run out); the session stays open;
- a crowd worker with truly nothing left: completed if they did work in this study, else
  closed as ``no_work`` (they are shown the lead's "no work available" code, not the
  completion code);
- a crowd worker who fails the qualification: the session is closed as screened out and
  ``NotQualified`` is raised, as for everyone.

Sessions are closed here, at the step that finishes them; the end page only reads.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.contrib.auth.models import User
from django.utils import timezone

from annotate.models import Assignment, CrowdEntry, Project, WorkerSession
from annotate.services.assignment import assignment_reserve_next, open_items_for
from annotate.services.crowd import (
    quota_reached,
    quota_used,
    session_items_done,
    worker_session_current,
)
from annotate.services.onboarding import NotQualified
from core.errors import InvalidInput

FINISHED = (
    WorkerSession.Status.COMPLETED,
    WorkerSession.Status.SCREENED_OUT,
    WorkerSession.Status.NO_WORK,
)


class NextState(StrEnum):
    ITEM = "item"
    ALL_DONE = "all_done"
    WAIT = "wait"
    SESSION_OVER = "session_over"


@dataclass(frozen=True)
class NextStep:
    state: NextState
    assignment: Assignment | None = None


def annotator_next(
    *,
    project: Project,
    annotator: User,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> NextStep:
    """Reserve the next item for ``annotator``, or say why there is none (see the module).

    Raises the onboarding errors of ``assignment_reserve_next`` (paused, instructions first,
    not qualified).
    """
    now = now or timezone.now()
    try:
        assignment = assignment_reserve_next(project=project, annotator=annotator, now=now, rng=rng)
    except NotQualified:
        session = worker_session_current(project=project, annotator=annotator)
        if session is not None:
            session_finish(session=session, status=WorkerSession.Status.SCREENED_OUT, now=now)
        raise
    if assignment is not None:
        return NextStep(NextState.ITEM, assignment)
    session = worker_session_current(project=project, annotator=annotator)
    if session is None:
        return NextStep(NextState.ALL_DONE)
    if session.status != WorkerSession.Status.STARTED:
        return NextStep(NextState.SESSION_OVER)
    if quota_reached(project=project, annotator=annotator):
        session_finish(session=session, status=WorkerSession.Status.COMPLETED, now=now)
        return NextStep(NextState.SESSION_OVER)
    if open_items_for(project=project, annotator=annotator).exists():
        return NextStep(NextState.WAIT)  # held by others now; their reservations may lapse
    entry = CrowdEntry.objects.filter(project=project).first()
    done = quota_used(session=session, entry=entry) if entry else session_items_done(session)
    did_work = done > 0
    status = WorkerSession.Status.COMPLETED if did_work else WorkerSession.Status.NO_WORK
    session_finish(session=session, status=status, now=now)
    return NextStep(NextState.SESSION_OVER)


def session_finish(
    *, session: WorkerSession, status: str, now: datetime | None = None
) -> WorkerSession:
    """Close a session as completed, screened out or without work (the first outcome stays)."""
    if status not in FINISHED:
        raise InvalidInput(f"cannot finish a session as {status!r}")
    WorkerSession.objects.filter(pk=session.pk, status=WorkerSession.Status.STARTED).update(
        status=status, completed_at=now or timezone.now()
    )
    session.refresh_from_db()
    return session

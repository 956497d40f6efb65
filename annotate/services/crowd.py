"""Crowd entry links, worker sessions and quotas (SPEC 5).

A lead turns on a project's entry link: ``/e/<token>/?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…``
(parameter names configurable). The token is random (``secrets.token_urlsafe``) and rotatable.
A worker arriving by the link gets an annotator account bound to (project, worker id): the
username is random, not derived from the worker id, the password unusable; the browser is logged
in by a signed Django session. The same worker id in another project is another account. Each
arrival with a new session id opens a ``WorkerSession``; the quota (items per session) counts the
annotations made since that session started. When the quota is reached or nothing is left, the
session is completed and the worker is shown the completion code and sent to the platform.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, DateTimeField, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from annotate.models import (
    Annotation,
    CrowdEntry,
    CrowdWorker,
    Membership,
    Project,
    WorkerSession,
    new_entry_token,
)
from core.errors import InvalidInput, NotFound

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$")
"""Worker, study and session ids: what the platforms use (Prolific: 24 hex digits; MTurk:
upper-case letters and digits), and nothing that could carry markup, path tricks, or start a
spreadsheet formula in the payment CSV."""

PARAM_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{0,100}$")
SETTINGS_FIELDS = (
    "is_open",
    "worker_param",
    "study_param",
    "session_param",
    "items_per_session",
    "completion_code",
    "screenout_code",
    "completion_url",
)


class BadEntry(InvalidInput):
    """The entry link's parameters are missing or malformed; ``detail`` names each one."""

    code = "bad_entry"


# --- the lead's side: the link and its settings


def crowd_entry_get_or_create(*, project: Project) -> CrowdEntry:
    entry, _ = CrowdEntry.objects.get_or_create(project=project)
    return entry


def _settings_errors(entry: CrowdEntry) -> list[dict[str, str]]:
    errors = []
    if not PARAM_PATTERN.match(entry.worker_param or ""):
        errors.append({"field": "worker_param", "message": "required: letters, digits and _"})
    for name in ("study_param", "session_param"):
        value = getattr(entry, name)
        if value and not PARAM_PATTERN.match(value):
            errors.append({"field": name, "message": "letters, digits and _ (or empty)"})
    names = [entry.worker_param, entry.study_param, entry.session_param]
    used = [n for n in names if n]
    if len(set(used)) != len(used):
        errors.append({"field": "worker_param", "message": "the three parameters must differ"})
    for name in ("completion_code", "screenout_code"):
        if not CODE_PATTERN.match(getattr(entry, name) or ""):
            errors.append({"field": name, "message": "letters, digits, - and _ only"})
    url = entry.completion_url or ""
    if url:
        parts = urlsplit(url.replace("{code}", "CODE"))
        if parts.scheme != "https" or not parts.netloc:
            errors.append({"field": "completion_url", "message": "must be an https:// URL"})
    if entry.items_per_session is not None and entry.items_per_session < 1:
        errors.append({"field": "items_per_session", "message": "at least 1 (or empty)"})
    return errors


def crowd_entry_update(*, project: Project, **changes: Any) -> CrowdEntry:
    """Change the entry link's settings; every field is checked before anything is saved."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(
            "these fields cannot be changed",
            detail=[{"field": f, "message": "unknown field"} for f in sorted(unknown)],
        )
    entry = crowd_entry_get_or_create(project=project)
    for field, value in changes.items():
        setattr(entry, field, value.strip() if isinstance(value, str) else value)
    errors = _settings_errors(entry)
    if errors:
        raise InvalidInput("invalid entry link settings", detail=errors)
    entry.save()
    return entry


def crowd_entry_rotate(*, project: Project, now: datetime | None = None) -> CrowdEntry:
    """A new token: links handed out before stop working; workers' accounts are kept."""
    entry = crowd_entry_get_or_create(project=project)
    entry.token = new_entry_token()
    entry.token_rotated_at = now or timezone.now()
    entry.save(update_fields=["token", "token_rotated_at"])
    return entry


def completion_redirect(entry: CrowdEntry, code: str) -> str | None:
    """The URL to send a worker to at the end, with ``code`` filled in; ``None`` if not set."""
    template = entry.completion_url or ""
    if not template or not code:
        return None
    return template.replace("{code}", quote(code, safe=""))


# --- the worker's side


@dataclass(frozen=True)
class EntryParams:
    worker_id: str
    study_id: str
    session_id: str


def entry_params(*, entry: CrowdEntry, query: Mapping[str, str]) -> EntryParams:
    """Read and check the worker, study and session ids from the link's query string."""
    values: dict[str, str] = {}
    errors = []
    for key, param in (
        ("worker_id", entry.worker_param),
        ("study_id", entry.study_param),
        ("session_id", entry.session_param),
    ):
        if not param:
            values[key] = ""
            continue
        raw = query.get(param, "")
        if not raw:
            errors.append({"field": param, "message": "missing"})
        elif not ID_PATTERN.match(raw):
            errors.append(
                {
                    "field": param,
                    "message": "not a valid id (1 to 100 letters, digits or . _ - : @, "
                    "starting with a letter or digit)",
                }
            )
        values[key] = raw
    if errors:
        raise BadEntry("this link is incomplete or has been changed", detail=errors)
    return EntryParams(**values)


def entry_by_token(*, token: str) -> CrowdEntry:
    entry = CrowdEntry.objects.select_related("project").filter(token=token).first()
    if entry is None:
        raise NotFound("this study link is not valid")
    if not entry.is_open:
        raise NotFound("this study is closed")
    return entry


def _new_worker(*, project: Project, worker_id: str) -> CrowdWorker:
    # The username is random: nothing about it can be guessed from the worker id or project.
    user = User(username=f"crowd-{project.pk}-{secrets.token_hex(8)}")
    user.set_unusable_password()
    user.save()
    Membership.objects.create(project=project, user=user, role=Membership.Role.ANNOTATOR)
    return CrowdWorker.objects.create(project=project, worker_id=worker_id, user=user)


def worker_enter(
    *, entry: CrowdEntry, params: EntryParams, now: datetime | None = None
) -> WorkerSession:
    """Create or resume the worker's account in the entry's project, and their session.

    The same worker id always maps to the same account in this project (a database constraint,
    so two arrivals at once still make one). The same session id resumes its session.
    """
    now = now or timezone.now()
    project = entry.project
    worker = CrowdWorker.objects.filter(project=project, worker_id=params.worker_id).first()
    if worker is None:
        try:
            with transaction.atomic():
                worker = _new_worker(project=project, worker_id=params.worker_id)
        except IntegrityError:  # the same worker arrived twice at once: use the other's account
            worker = CrowdWorker.objects.get(project=project, worker_id=params.worker_id)
    session, created = WorkerSession.objects.get_or_create(
        worker=worker,
        session_id=params.session_id,
        defaults={"study_id": params.study_id, "started_at": now, "last_seen_at": now},
    )
    if not created:
        WorkerSession.objects.filter(pk=session.pk).update(last_seen_at=now)
    return WorkerSession.objects.select_related("worker__user", "worker__project").get(
        pk=session.pk
    )


def worker_session_current(*, project: Project, annotator: User) -> WorkerSession | None:
    """The latest session of a crowd worker in ``project``; ``None`` for anyone else."""
    return (
        WorkerSession.objects.select_related("worker")
        .filter(worker__project=project, worker__user=annotator)
        .order_by("-started_at", "-pk")
        .first()
    )


def _work_since(*, project_id: Any, annotator_id: Any, started_at: Any) -> Any:
    # Qualification answers are onboarding, not work: they do not count toward a quota.
    return Annotation.objects.filter(
        project_id=project_id, annotator_id=annotator_id, created_at__gte=started_at
    ).exclude(item__is_gold=True, item__is_qualification=True)


def session_items_done(session: WorkerSession) -> int:
    """Annotations made in this session."""
    annotations = _work_since(
        project_id=session.worker.project_id,
        annotator_id=session.worker.user_id,
        started_at=session.started_at,
    )
    if session.completed_at is not None:
        annotations = annotations.filter(created_at__lte=session.completed_at)
    return annotations.count()


def sessions_with_counts(*, project: Project) -> QuerySet[WorkerSession]:
    """The project's worker sessions with ``items_done`` each, in one query."""
    done = (
        _work_since(
            project_id=OuterRef("worker__project_id"),
            annotator_id=OuterRef("worker__user_id"),
            started_at=OuterRef("started_at"),
        )
        .filter(
            created_at__lte=Coalesce(OuterRef("completed_at"), Now(), output_field=DateTimeField())
        )
        .order_by()
        .values("annotator_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        WorkerSession.objects.filter(worker__project=project)
        .select_related("worker")
        .annotate(items_done=Coalesce(Subquery(done, output_field=IntegerField()), Value(0)))
        .order_by("started_at", "pk")
    )


def quota_reached(*, project: Project, annotator: User) -> bool:
    """Whether a crowd worker's current session may take no more items.

    A finished session takes none; otherwise the entry's items per session decide. Everyone
    who is not a crowd worker has no quota.
    """
    session = worker_session_current(project=project, annotator=annotator)
    if session is None:
        return False
    if session.status != WorkerSession.Status.STARTED:
        return True
    quota = (
        CrowdEntry.objects.filter(project=project)
        .values_list("items_per_session", flat=True)
        .first()
    )
    return quota is not None and session_items_done(session) >= quota


def session_finish(
    *, session: WorkerSession, status: str, now: datetime | None = None
) -> WorkerSession:
    """Close a session as completed or screened out (the first outcome stays)."""
    if status not in (WorkerSession.Status.COMPLETED, WorkerSession.Status.SCREENED_OUT):
        raise InvalidInput(f"cannot finish a session as {status!r}")
    WorkerSession.objects.filter(pk=session.pk, status=WorkerSession.Status.STARTED).update(
        status=status, completed_at=now or timezone.now()
    )
    session.refresh_from_db()
    return session


PAYMENT_COLUMNS = (
    "worker_id",
    "study_id",
    "session_id",
    "status",
    "paused",
    "code_shown",
    "items_done",
    "started_at",
    "completed_at",
)


def sessions_for_payment(*, project: Project) -> Iterator[dict[str, Any]]:
    """One row per worker session, for paying workers: ids, status, code shown, items done."""
    entry = CrowdEntry.objects.filter(project=project).first()
    codes: dict[str, str] = {
        WorkerSession.Status.COMPLETED: entry.completion_code if entry else "",
        WorkerSession.Status.SCREENED_OUT: entry.screenout_code if entry else "",
    }
    paused = set(
        Membership.objects.filter(project=project, status=Membership.Status.PAUSED).values_list(
            "user_id", flat=True
        )
    )
    for session in sessions_with_counts(project=project).iterator(chunk_size=500):
        yield {
            "worker_id": session.worker.worker_id,
            "study_id": session.study_id,
            "session_id": session.session_id,
            "status": session.status,
            "paused": session.worker.user_id in paused,
            "code_shown": codes.get(session.status, ""),
            "items_done": session.items_done,  # type: ignore[attr-defined]
            "started_at": session.started_at.isoformat(),
            "completed_at": session.completed_at.isoformat() if session.completed_at else "",
        }


QUALITY_FIELDS = (
    "instructions_required",
    "qualification_pass_mark",
    "gold_rate",
    "gold_min_answers",
    "gold_min_accuracy",
)


def project_quality_update(*, project: Project, **changes: Any) -> Project:
    """Change a project's onboarding and gold settings (all checked before saving)."""
    unknown = set(changes) - set(QUALITY_FIELDS)
    if unknown:
        raise InvalidInput(
            "these fields cannot be changed",
            detail=[{"field": f, "message": "unknown field"} for f in sorted(unknown)],
        )
    for field, value in changes.items():
        setattr(project, field, value)
    try:
        project.full_clean(exclude=["created_by"])
    except ValidationError as exc:
        project.refresh_from_db(fields=list(changes) or None)
        raise InvalidInput(
            "invalid project settings",
            detail=[
                {"field": name, "message": message}
                for name, messages in exc.message_dict.items()
                for message in messages
            ],
        ) from None
    project.save(update_fields=list(changes) or None)
    return project


@transaction.atomic
def crowd_settings_save(
    *, project: Project, entry_changes: dict[str, Any], quality_changes: dict[str, Any]
) -> CrowdEntry:
    """Save the entry link's and the project's onboarding and gold settings, all or nothing."""
    entry = crowd_entry_update(project=project, **entry_changes)
    project_quality_update(project=project, **quality_changes)
    return entry

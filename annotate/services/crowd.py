"""Crowd entry links, worker identity and quotas (SPEC 5).

A lead turns on a project's entry link: ``/e/<token>/?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…``
(parameter names configurable). The token is random (``secrets.token_urlsafe``) and rotatable.
A worker arriving by the link gets an annotator account bound to (project, worker id): the
username is random, not derived from the worker id, the password unusable. The account can be
resumed only by the browser that started it: the interface keeps the account's id in a signed,
HttpOnly cookie and passes it in as ``bound_worker_pk``; any other browser presenting the same
worker id is refused (``WorkerElsewhere``). New accounts are rate-limited per link
(``CrowdEntry.new_workers_per_minute``, ``TooManyArrivals``). The same worker id in another
project is another account. Each arrival with a new session id opens a ``WorkerSession``.

The quota (``items_per_session``) counts a worker's work in a study across all their sessions,
or afresh per session (``quota_per``); it is checked when an item is handed out and again when
an answer is stored (``annotate.services.assignment``). How a session ends is decided in
``annotate.services.sessions``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Min, QuerySet
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
from annotate.services.projects import project_update
from core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, ServiceError

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$")
"""Worker, study and session ids: what the platforms use (Prolific: 24 hex digits; MTurk:
upper-case letters and digits), and nothing that could carry markup, path tricks, or start a
spreadsheet formula in the payment CSV."""

PARAM_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{0,100}$")
CODE_FIELDS = ("completion_code", "screenout_code", "no_work_code")
SETTINGS_FIELDS = (
    "is_open",
    "worker_param",
    "study_param",
    "session_param",
    "items_per_session",
    "quota_per",
    "new_workers_per_minute",
    *CODE_FIELDS,
    "completion_url",
)
RATE_WINDOW = timedelta(minutes=1)


class BadEntry(InvalidInput):
    """The entry link's parameters are missing or malformed; ``detail`` names each one."""

    code = "bad_entry"


class WorkerElsewhere(Forbidden):
    """The worker id's account was started in another browser: it is not handed over."""

    code = "worker_elsewhere"


class TooManyArrivals(ServiceError):
    """The link made as many new accounts in the last minute as its lead allows."""

    status_code = 429
    code = "rate_limited"


class QuotaReached(Conflict):
    code = "quota_reached"


# --- the lead's side: the link and its settings


def crowd_entry_get_or_create(*, project: Project) -> CrowdEntry:
    entry, _ = CrowdEntry.objects.get_or_create(project=project)
    return entry


def _settings_errors(entry: CrowdEntry) -> list[FieldError]:
    errors = []
    if not PARAM_PATTERN.match(entry.worker_param or ""):
        errors.append(FieldError("worker_param", "required: letters, digits and _"))
    for name in ("study_param", "session_param"):
        value = getattr(entry, name)
        if value and not PARAM_PATTERN.match(value):
            errors.append(FieldError(name, "letters, digits and _ (or empty)"))
    names = [entry.worker_param, entry.study_param, entry.session_param]
    used = [n for n in names if n]
    if len(set(used)) != len(used):
        errors.append(FieldError("worker_param", "the three parameters must differ"))
    for name in CODE_FIELDS:
        if not CODE_PATTERN.match(getattr(entry, name) or ""):
            errors.append(FieldError(name, "letters, digits, - and _ only"))
    url = entry.completion_url or ""
    if url:
        parts = urlsplit(url.replace("{code}", "CODE"))
        if parts.scheme != "https" or not parts.netloc:
            errors.append(FieldError("completion_url", "must be an https:// URL"))
    if entry.items_per_session is not None and entry.items_per_session < 1:
        errors.append(FieldError("items_per_session", "at least 1 (or empty)"))
    if entry.quota_per not in CrowdEntry.QuotaPer.values:
        errors.append(FieldError("quota_per", "worker or session"))
    if not isinstance(entry.new_workers_per_minute, int) or entry.new_workers_per_minute < 1:
        errors.append(FieldError("new_workers_per_minute", "at least 1"))
    return errors


def crowd_entry_update(*, project: Project, **changes: Any) -> CrowdEntry:
    """Change the entry link's settings; every field is checked before anything is saved."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(
            "these fields cannot be changed",
            detail=[FieldError(f, "unknown field") for f in sorted(unknown)],
        )
    entry = crowd_entry_get_or_create(project=project)
    for field, value in changes.items():
        setattr(entry, field, value.strip() if isinstance(value, str) else value)
    errors = _settings_errors(entry)
    if errors:
        raise InvalidInput("invalid entry link settings", detail=errors)
    entry.save()
    return entry


@transaction.atomic
def crowd_settings_save(
    *, project: Project, entry_changes: dict[str, Any], quality_changes: dict[str, Any]
) -> CrowdEntry:
    """Save the entry link's and the project's onboarding and gold settings, all or nothing.

    The project's part goes through ``project_update``, the one validation path for project
    settings.
    """
    entry = crowd_entry_update(project=project, **entry_changes)
    project_update(project=project, **quality_changes)
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


# --- the worker's side: arrival


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
            errors.append(FieldError(param, "missing"))
        elif not ID_PATTERN.match(raw):
            errors.append(
                FieldError(
                    param,
                    "not a valid id (1 to 100 letters, digits or . _ - : @, "
                    "starting with a letter or digit)",
                )
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


def _worker_create(*, entry: CrowdEntry, worker_id: str, now: datetime) -> CrowdWorker:
    # The entry row's lock serialises account creation through this link, so the rate count
    # is exact and the same new worker id arriving twice at once makes one account (the
    # second arrival finds it and is refused like any other browser).
    with transaction.atomic():
        locked = CrowdEntry.objects.select_for_update().get(pk=entry.pk)
        if CrowdWorker.objects.filter(project_id=entry.project_id, worker_id=worker_id).exists():
            raise WorkerElsewhere(_ELSEWHERE)
        recent = CrowdWorker.objects.filter(
            project_id=entry.project_id, created_at__gt=now - RATE_WINDOW
        ).count()
        if recent >= locked.new_workers_per_minute:
            raise TooManyArrivals(
                "many people are joining this study right now; please try again in a minute"
            )
        try:
            with transaction.atomic():
                return _new_worker(project=entry.project, worker_id=worker_id)
        except IntegrityError:  # a worker id made outside this link's lock
            raise WorkerElsewhere(_ELSEWHERE) from None


_ELSEWHERE = (
    "this worker id has already started the study in another browser; please continue in the "
    "browser where you started"
)


def worker_enter(
    *,
    entry: CrowdEntry,
    params: EntryParams,
    bound_worker_pk: int | None,
    now: datetime | None = None,
) -> WorkerSession:
    """Create the worker's account, or resume it in the browser that started it; open or
    resume their session.

    ``bound_worker_pk`` is the account this browser started in the entry's project (from its
    signed cookie), or ``None``. The same worker id always maps to the same account in this
    project (a database constraint); an existing account is handed only to the browser bound
    to it (``WorkerElsewhere`` otherwise). New accounts beyond the link's rate are refused
    (``TooManyArrivals``). The same session id resumes its session.
    """
    now = now or timezone.now()
    project = entry.project
    worker = CrowdWorker.objects.filter(project=project, worker_id=params.worker_id).first()
    if worker is None:
        worker = _worker_create(entry=entry, worker_id=params.worker_id, now=now)
    elif worker.pk != bound_worker_pk:
        raise WorkerElsewhere(_ELSEWHERE)
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


# --- sessions and quotas


def crowd_work_since(
    *, project_id: Any, annotator_id: Any, started_at: Any
) -> QuerySet[Annotation]:
    """A worker's annotations (their work) from ``started_at`` on.

    Qualification answers are onboarding, not work: they do not count toward a quota.
    """
    return Annotation.objects.filter(
        project_id=project_id, annotator_id=annotator_id, created_at__gte=started_at
    ).exclude(item__is_gold=True, item__is_qualification=True)


def session_items_done(session: WorkerSession) -> int:
    """Annotations made in this session."""
    annotations = crowd_work_since(
        project_id=session.worker.project_id,
        annotator_id=session.worker.user_id,
        started_at=session.started_at,
    )
    if session.completed_at is not None:
        annotations = annotations.filter(created_at__lte=session.completed_at)
    return annotations.count()


def worker_session_current(*, project: Project, annotator: User) -> WorkerSession | None:
    """The latest session of a crowd worker in ``project``; ``None`` for anyone else."""
    return (
        WorkerSession.objects.select_related("worker")
        .filter(worker__project=project, worker__user=annotator)
        .order_by("-started_at", "-pk")
        .first()
    )


def quota_used(*, session: WorkerSession, entry: CrowdEntry) -> int:
    """The work that counts toward the quota: the worker's in this study across their
    sessions, or this session's alone (``entry.quota_per``)."""
    if entry.quota_per == CrowdEntry.QuotaPer.SESSION:
        return session_items_done(session)
    first_start = WorkerSession.objects.filter(
        worker_id=session.worker_id, study_id=session.study_id
    ).aggregate(first=Min("started_at"))["first"]
    return crowd_work_since(
        project_id=session.worker.project_id,
        annotator_id=session.worker.user_id,
        started_at=first_start or session.started_at,
    ).count()


def quota_reached(*, project: Project, annotator: User) -> bool:
    """Whether a crowd worker may take (or store) no more items.

    A finished session takes none; otherwise the entry's quota decides. Everyone who is not
    a crowd worker has no quota.
    """
    session = worker_session_current(project=project, annotator=annotator)
    if session is None:
        return False
    if session.status != WorkerSession.Status.STARTED:
        return True
    entry = CrowdEntry.objects.filter(project=project).first()
    if entry is None or entry.items_per_session is None:
        return False
    return quota_used(session=session, entry=entry) >= entry.items_per_session


def quota_check_submit(*, project: Project, annotator: User) -> None:
    """Refuse a new answer from a crowd worker whose quota is used up or session is over
    (a skipped item submitted late, say): ``QuotaReached``, 409."""
    if quota_reached(project=project, annotator=annotator):
        raise QuotaReached(
            "not stored: you have already done the work this study asks of you "
            "(or your session has ended)"
        )

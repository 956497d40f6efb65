"""Crowd operations in the browser (SPEC 5): the worker's entry link, onboarding and end pages,
and the lead's crowd page (entry link settings, annotator quality, sessions, payment CSV).

Interfaces only: each view parses input, calls a service or selector, and renders.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from annotate import hooks, selectors
from annotate.models import CrowdEntry, Item, Membership, Project, WorkerSession
from annotate.services import crowd, gold, onboarding
from annotate.web import project_for_page
from core.errors import FieldError, InvalidInput, NotFound, ServiceError
from core.spreadsheet import csv_safe
from core.web import is_htmx, request_user

MAX_SESSIONS_SHOWN = 200
AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"
REDIRECT_DELAY_SECONDS = 5
WORKER_COOKIE = "dx_crowd_worker_"
"""Per project: the signed id of the crowd account this browser started there (HttpOnly)."""
WORKER_SALT = "annotate.crowd.worker"
WORKER_COOKIE_MAX_AGE = 90 * 24 * 3600


# --- the worker's side


def _worker_cookie(project_id: int) -> str:
    return f"{WORKER_COOKIE}{project_id}"


def _bound_worker_pk(request: HttpRequest, project_id: int) -> int | None:
    """The crowd account this browser started in the project (its signed cookie), if any."""
    raw = request.get_signed_cookie(_worker_cookie(project_id), default=None, salt=WORKER_SALT)
    return int(raw) if raw is not None and raw.isdigit() else None


def _refused(request: HttpRequest, exc: ServiceError, *, title: str) -> HttpResponse:
    response = render(
        request,
        "annotate/crowd/entry_refused.html",
        {"title": title, "message": exc.message},
        status=exc.status_code,
    )
    if isinstance(exc, crowd.TooManyArrivals):
        response["Retry-After"] = str(int(crowd.RATE_WINDOW.total_seconds()))
    return response


@never_cache
@require_GET
def entry(request: HttpRequest, token: str) -> HttpResponse:
    """The crowd entry link: create the worker's account, or resume it in the browser that
    started it; log in; start working. Never replaces a signed-in staff member's or lead's
    session, and never hands an account to another browser."""
    try:
        crowd_entry = crowd.entry_by_token(token=token)
    except NotFound as exc:
        return render(
            request, "annotate/crowd/entry_error.html", {"message": exc.message}, status=404
        )
    try:
        params = crowd.entry_params(entry=crowd_entry, query=request.GET)
    except crowd.BadEntry as exc:
        return render(
            request,
            "annotate/crowd/entry_error.html",
            {"message": exc.message, "errors": exc.detail or []},
            status=400,
        )
    user = request.user
    if user.is_authenticated and not selectors.is_crowd_worker(user=request_user(request)):
        return render(
            request,
            "annotate/crowd/entry_signed_in.html",
            {"username": user.get_username()},
            status=409,
        )
    try:
        session = crowd.worker_enter(
            entry=crowd_entry,
            params=params,
            bound_worker_pk=_bound_worker_pk(request, crowd_entry.project_id),
        )
    except crowd.WorkerElsewhere as exc:
        return _refused(request, exc, title="This study is open in another browser")
    except crowd.TooManyArrivals as exc:
        return _refused(request, exc, title="Please try again in a minute")
    # A fresh, signed session for this worker's own account (a crowd login it replaces is
    # passwordless and bound to its own browser cookie, so nothing is lost).
    login(request, session.worker.user, backend=AUTH_BACKEND)
    response = redirect("annotate", project_id=crowd_entry.project_id)
    response.set_signed_cookie(
        _worker_cookie(crowd_entry.project_id),
        str(session.worker.pk),
        salt=WORKER_SALT,
        max_age=WORKER_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
    )
    return response


@login_required
def instructions(request: HttpRequest, project_id: int) -> HttpResponse:
    """The instructions to read and confirm before the first item."""
    project = project_for_page(request, project_id, Membership.Role.ANNOTATOR)
    error = None
    if request.method == "POST":
        if request.POST.get("confirm") == "on":
            onboarding.instructions_confirm(project=project, annotator=request_user(request))
            return redirect("annotate", project_id=project.pk)
        error = "Please tick the box to confirm that you have read the instructions."
    return render(
        request,
        "annotate/crowd/instructions.html",
        {"project": project, "error": error},
        status=400 if error else 200,
    )


@never_cache
@login_required
@require_GET
def end(request: HttpRequest, project_id: int) -> HttpResponse:
    """Where the work ends: completion code, no-work code, screen-out, or the paused notice.

    Reads only: sessions are closed by ``services.annotator_next``, the step that ends them.
    """
    project = project_for_page(request, project_id, Membership.Role.ANNOTATOR)
    user = request_user(request)
    membership = Membership.objects.get(project=project, user=user)
    session = crowd.worker_session_current(project=project, annotator=user)
    entry_settings = CrowdEntry.objects.filter(project=project).first()
    context: dict[str, Any] = {"project": project, "session": session}
    status = session.status if session is not None else None
    if membership.status == Membership.Status.PAUSED:
        return render(request, "annotate/crowd/end.html", {**context, "state": "paused"})
    if (
        membership.qualification == Membership.Qualification.FAILED
        or status == WorkerSession.Status.SCREENED_OUT
    ):
        if session is None:  # an in-house annotator: no platform to send back to
            return _ending(request, context, state="screened_out", entry=None, code="")
        code = entry_settings.screenout_code if entry_settings else ""
        return _ending(request, context, state="screened_out", entry=entry_settings, code=code)
    if session is not None and status == WorkerSession.Status.COMPLETED:
        code = entry_settings.completion_code if entry_settings else ""
        context["items_done"] = crowd.session_items_done(session)
        return _ending(request, context, state="completed", entry=entry_settings, code=code)
    if status == WorkerSession.Status.NO_WORK:
        code = entry_settings.no_work_code if entry_settings else ""
        return _ending(request, context, state="no_work", entry=entry_settings, code=code)
    return redirect("annotate", project_id=project.pk)


def _ending(
    request: HttpRequest,
    context: dict[str, Any],
    *,
    state: str,
    entry: CrowdEntry | None,
    code: str,
) -> HttpResponse:
    context.update(
        state=state,
        code=code,
        redirect_url=crowd.completion_redirect(entry, code) if entry else None,
        redirect_delay=REDIRECT_DELAY_SECONDS,
    )
    return render(request, "annotate/crowd/end.html", context)


# --- the lead's side


def _entry_url(request: HttpRequest, entry: CrowdEntry) -> str:
    base = request.build_absolute_uri(reverse("crowd-entry", args=[entry.token]))
    params = [p for p in (entry.worker_param, entry.study_param, entry.session_param) if p]
    # Prolific fills in {{%NAME%}}; other platforms document their own placeholders.
    return base + "?" + "&".join(f"{p}={{{{%{p}%}}}}" for p in params)


@login_required
def lead_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_page(request, project_id, Membership.Role.LEAD)
    entry = CrowdEntry.objects.filter(project=project).first()
    sessions = list(selectors.sessions_with_counts(project=project).reverse()[:MAX_SESSIONS_SHOWN])
    context = {
        "project": project,
        "entry": entry,
        "entry_url": _entry_url(request, entry) if entry else None,
        "quota_per_choices": CrowdEntry.QuotaPer.choices,
        "annotators": _quality_rows(project),
        "sessions": [_throughput(session) for session in sessions],
        "gold_items": selectors.gold_items(project=project)[:500],
        "n_gold": Item.objects.filter(
            project=project, is_gold=True, is_qualification=False
        ).count(),
        "n_qualification": Item.objects.filter(
            project=project, is_gold=True, is_qualification=True
        ).count(),
    }
    return render(request, "annotate/crowd/lead.html", context)


def _quality_rows(project: Project) -> list[selectors.AnnotatorQuality]:
    """Annotator quality with agreement with the consensus from the analysis's cached figures."""
    rows = selectors.annotator_quality(project=project)
    agreement: dict[int, float | None] = {}
    for answer in hooks.annotator_consensus_agreement(project=project):
        agreement.update(answer)
    for row in rows:
        row.agreement_with_consensus = agreement.get(row.membership.user_id)
    return rows


def _throughput(session: WorkerSession) -> dict[str, Any]:
    end_at = session.completed_at or session.last_seen_at
    minutes = max((end_at - session.started_at).total_seconds() / 60, 0.0)
    items = session.items_done  # type: ignore[attr-defined]
    return {
        "session": session,
        "items": items,
        "minutes": minutes,
        "per_hour": items / minutes * 60 if minutes >= 1 else None,
    }


def _form_errors(request: HttpRequest, exc: InvalidInput) -> None:
    errors = [e if isinstance(e, FieldError) else FieldError(**e) for e in (exc.detail or [])]
    details = "; ".join(f"{e.field}: {e.message}" for e in errors)
    messages.error(request, f"{exc.message}{': ' + details if details else ''}")


def _number(raw: str, kind: type, field: str) -> Any:
    try:
        return kind(raw)
    except ValueError:
        raise InvalidInput("invalid settings", detail=[FieldError(field, "not a number")]) from None


@login_required
@require_POST
def lead_settings(request: HttpRequest, project_id: int) -> HttpResponse:
    """Save the entry link and the onboarding and gold settings, all or nothing."""
    project = project_for_page(request, project_id, Membership.Role.LEAD)
    post = request.POST
    try:
        quota_raw = post.get("items_per_session", "").strip()
        entry_changes = {
            "is_open": post.get("is_open") == "on",
            "worker_param": post.get("worker_param", ""),
            "study_param": post.get("study_param", ""),
            "session_param": post.get("session_param", ""),
            "items_per_session": _number(quota_raw, int, "items_per_session")
            if quota_raw
            else None,
            "quota_per": post.get("quota_per", CrowdEntry.QuotaPer.WORKER),
            "new_workers_per_minute": _number(
                post.get("new_workers_per_minute", "30"), int, "new_workers_per_minute"
            ),
            "completion_code": post.get("completion_code", ""),
            "screenout_code": post.get("screenout_code", ""),
            "no_work_code": post.get("no_work_code", ""),
            "completion_url": post.get("completion_url", ""),
        }
        quality_changes = {
            "instructions_required": post.get("instructions_required") == "on",
            "gold_rate": _number(post.get("gold_rate", "0"), float, "gold_rate"),
            "gold_min_answers": _number(post.get("gold_min_answers", "5"), int, "gold_min_answers"),
            "gold_min_accuracy": _number(
                post.get("gold_min_accuracy", "0"), float, "gold_min_accuracy"
            ),
            "qualification_pass_mark": _number(
                post.get("qualification_pass_mark", "0.8"), float, "qualification_pass_mark"
            ),
        }
        crowd.crowd_settings_save(
            project=project, entry_changes=entry_changes, quality_changes=quality_changes
        )
    except InvalidInput as exc:
        _form_errors(request, exc)
    else:
        messages.success(request, "Settings saved.")
    return redirect("crowd-lead", project_id=project.pk)


@login_required
@require_POST
def lead_rotate(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_page(request, project_id, Membership.Role.LEAD)
    crowd.crowd_entry_rotate(project=project)
    messages.success(request, "New entry link made; the old one no longer works.")
    return redirect("crowd-lead", project_id=project.pk)


@login_required
@require_POST
def lead_annotator_status(
    request: HttpRequest, project_id: int, membership_id: int, action: str
) -> HttpResponse:
    """Pause or reinstate an annotator (an htmx POST answered with their table row)."""
    project = project_for_page(request, project_id, Membership.Role.LEAD)
    change = {"pause": gold.membership_pause, "reinstate": gold.membership_reinstate}.get(action)
    if change is None:
        raise Http404("no such action")
    try:
        change(project=project, membership_id=membership_id, by=request_user(request))
    except NotFound:
        raise Http404("no such annotator in this project") from None
    if not is_htmx(request):
        return redirect("crowd-lead", project_id=project.pk)
    row = next(r for r in _quality_rows(project) if r.membership.pk == membership_id)
    return render(request, "annotate/crowd/_annotator_row.html", {"project": project, "row": row})


@login_required
@require_POST
def lead_gold_set(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_page(request, project_id, Membership.Role.LEAD)
    try:
        try:
            answer = json.loads(request.POST.get("gold", ""))
        except json.JSONDecodeError:
            raise InvalidInput(
                "the gold answer is not JSON",
                detail=[FieldError("gold", 'e.g. {"preference": -2}')],
            ) from None
        item = gold.item_gold_set(
            project=project,
            external_id=request.POST.get("external_id", ""),
            gold=answer,
            qualification=request.POST.get("qualification") == "on",
        )
    except InvalidInput as exc:
        _form_errors(request, exc)
    else:
        kind = "a qualification item" if item.is_qualification else "gold"
        messages.success(request, f"{item.external_id} is now {kind}.")
    return redirect("crowd-lead", project_id=project.pk)


@login_required
@require_POST
def lead_gold_clear(request: HttpRequest, project_id: int, item_id: int) -> HttpResponse:
    project = project_for_page(request, project_id, Membership.Role.LEAD)
    try:
        item = gold.item_gold_clear(project=project, item_id=item_id)
    except NotFound:
        raise Http404("no such item") from None
    messages.success(request, f"{item.external_id} is an ordinary item again.")
    return redirect("crowd-lead", project_id=project.pk)


@login_required
def lead_workers_csv(request: HttpRequest, project_id: int) -> StreamingHttpResponse:
    """Worker ids with their completion status, one row per session, for paying workers."""
    project = project_for_page(request, project_id, Membership.Role.LEAD)

    def lines() -> Iterator[bytes]:
        out = io.StringIO()
        writer: csv.DictWriter[str] | None = None
        for row in selectors.sessions_for_payment(project=project):
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row))
                writer.writeheader()
            writer.writerow({key: csv_safe(value) for key, value in row.items()})
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
        if writer is None:
            yield (",".join(selectors.PAYMENT_COLUMNS) + "\r\n").encode()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="project-{project.pk}-workers.csv"'
    return response

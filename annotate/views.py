"""Browser pages: server-rendered templates, htmx fragments for the annotation loop."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from annotate import exporting, selectors, services
from annotate.messages import annotator_errors, answer_form_fields, answer_lines
from annotate.models import Annotation, Assignment, Membership, Project
from annotate.services import AnswerLocked, StaleVersion
from annotate.services.onboarding import AnnotatorPaused, InstructionsNotConfirmed, NotQualified
from annotate.tasktypes import get_task_type
from annotate.web import project_for_page
from core.errors import Conflict, ImportFailed, InvalidInput, NotFound
from core.records import detect_format
from core.web import is_htmx, request_user

MAX_ERRORS_SHOWN = 50
RECENT_SHOWN = 20
"""Previous items reachable from the annotation page; the history page lists them all."""
HISTORY_PAGE_SIZE = 50


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    projects = selectors.projects_with_progress(user=user)
    roles = dict(Membership.objects.filter(user=user).values_list("project_id", "role"))
    rows = [
        {"project": project, "role": "lead" if user.is_staff else roles.get(project.pk)}
        for project in projects
    ]
    return render(request, "annotate/home.html", {"rows": rows})


@login_required
def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_page(request, project_id)
    role = selectors.project_role(project=project, user=request_user(request))
    if role != Membership.Role.LEAD:
        return redirect("annotate", project_id=project.pk)
    context = {
        "project": project,
        "progress": selectors.project_progress(project=project),
        "members": project.memberships.select_related("user").order_by("role", "user__username"),
        "shapes": exporting.export_shape_specs(project),
        "formats": list(exporting.FORMATS),
        "adapters": sorted(get_task_type(project.task_type).adapters()),
    }
    return render(request, "annotate/project.html", context)


@login_required
@require_POST
def project_import(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_page(request, project_id, role=Membership.Role.LEAD)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a file to import.")
        return redirect("project", project_id=project.pk)
    try:
        result = services.items_import(
            project=project,
            stream=upload,
            fmt=detect_format(filename=upload.name, content_type=upload.content_type),
            adapter=request.POST.get("adapter") or None,
        )
    except ImportFailed as exc:
        return render(
            request,
            "annotate/project_import_failed.html",
            {
                "project": project,
                "error": exc,
                "lines": (exc.detail or [])[:MAX_ERRORS_SHOWN],
                "filename": upload.name,
            },
            status=400,
        )
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return redirect("project", project_id=project.pk)
    messages.success(
        request,
        f"Imported {upload.name}: {result.created} new items, {result.updated} updated.",
    )
    return redirect("project", project_id=project.pk)


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """Leave the annotation loop for another page, from a full page load or an htmx request."""
    if is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _next_or_leave(
    request: HttpRequest, project: Project
) -> tuple[Assignment | None, dict[str, object], HttpResponse | None]:
    """The next item (``services.annotator_next``, as for the API), or the response that takes
    the annotator elsewhere: to the instructions, or to the end page (paused, not qualified, a
    crowd session that is over). The middle value is extra context for the item pane."""
    end = reverse("annotate-end", args=[project.pk])
    try:
        step = services.annotator_next(project=project, annotator=request_user(request))
    except InstructionsNotConfirmed:
        return None, {}, _go(request, reverse("annotate-instructions", args=[project.pk]))
    except (AnnotatorPaused, NotQualified):
        return None, {}, _go(request, end)
    if step.state == services.NextState.SESSION_OVER:
        return None, {}, _go(request, end)
    return step.assignment, {"waiting": step.state == services.NextState.WAIT}, None


def _item_context(
    request: HttpRequest, project: Project, assignment: Assignment | None
) -> dict[str, object]:
    user = request_user(request)
    progress = selectors.annotator_progress(project=project, annotator=user)
    context: dict[str, object] = {
        "project": project,
        "assignment": assignment,
        "progress": progress,
        "recent": selectors.annotator_history(project=project, annotator=user)[:RECENT_SHOWN],
        "base_version": 0,
    }
    if assignment is not None:
        plugin = get_task_type(project.task_type)
        context["task_template"] = plugin.annotator_template
        context["task"] = plugin.display_context(
            assignment.item.payload, shown_order=assignment.shown_order, config=project.config
        )
    return context


def _render_next(
    request: HttpRequest,
    project: Project,
    *,
    error: str | None = None,
    field_errors: list[dict[str, str]] | None = None,
    notice: str | None = None,
    skipped: Assignment | None = None,
) -> HttpResponse:
    assignment, extra, stop = _next_or_leave(request, project)
    if stop is not None:  # instructions first, paused, or a crowd session that is over
        return stop
    context = _item_context(request, project, assignment)
    context.update(extra)
    context.update(error=error, field_errors=field_errors or [], notice=notice, skipped=skipped)
    return render(request, "annotate/_partials/item.html", context)


@login_required
def annotate_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_page(request, project_id, role=Membership.Role.ANNOTATOR)
    assignment, extra, stop = _next_or_leave(request, project)
    if stop is not None:  # instructions first, paused, or a crowd session that is over
        return stop
    context = _item_context(request, project, assignment)
    context.update(extra)
    plugin = get_task_type(project.task_type)
    context["task_scripts"] = plugin.annotator_scripts
    context["task_styles"] = plugin.annotator_styles
    return render(request, "annotate/annotate.html", context)


@login_required
@require_POST
def annotate_next(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for_page(request, project_id, role=Membership.Role.ANNOTATOR)
    return _render_next(request, project)


def _assignment_or_404(request: HttpRequest, assignment_id: int) -> Assignment:
    try:
        return selectors.assignment_get(
            assignment_id=assignment_id, annotator=request_user(request)
        )
    except NotFound:
        raise Http404("no such assignment") from None


def _base_version(request: HttpRequest) -> int | None:
    raw = request.POST.get("base_version", "")
    return int(raw) if raw.isdigit() else None


def _current_version(exc: StaleVersion | AnswerLocked) -> int | None:
    # After a stale-version refusal the form is based on the version now stored: submitting
    # again (having read the message) is a deliberate change of that version.
    return exc.current_version if isinstance(exc, StaleVersion) else None


def _value_from_form(request: HttpRequest, assignment: Assignment) -> object:
    project = assignment.project
    return get_task_type(project.task_type).form_to_value(
        request.POST, shown_order=assignment.shown_order, config=project.config
    )


@login_required
@require_POST
def annotate_submit(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment_or_404(request, assignment_id)
    project = assignment.project
    value = _value_from_form(request, assignment)
    raw_time = request.POST.get("time_spent_ms", "")
    time_spent_ms = int(raw_time) if raw_time.isdigit() else None
    try:
        services.annotation_submit(
            assignment_id=assignment.pk,
            annotator=request_user(request),
            value=value,
            time_spent_ms=time_spent_ms,  # the service caps it
            base_version=_base_version(request),
        )
    except InvalidInput as exc:
        context = _item_context(request, project, assignment)
        context.update(
            error="Please complete the form.",
            field_errors=annotator_errors(project, exc.detail, payload=assignment.item.payload),
            base_version=_base_version(request) or 0,
        )
        return render(request, "annotate/_partials/item.html", context)
    except (StaleVersion, AnswerLocked) as exc:
        # The same item stays on screen with a clear message; nothing the annotator did is
        # cleared (the page keeps its draft).
        context = _item_context(request, project, assignment)
        context.update(error=exc.message, conflict=exc.code, base_version=_current_version(exc))
        return render(request, "annotate/_partials/item.html", context)
    except Conflict as exc:
        if not is_htmx(request):
            messages.warning(request, exc.message)
            return redirect("annotate", project_id=project.pk)
        return _render_next(request, project, notice=exc.message)
    if not is_htmx(request):
        return redirect("annotate", project_id=project.pk)
    return _render_next(request, project, notice="Saved.")


@login_required
@require_http_methods(["POST"])
def annotate_skip(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = _assignment_or_404(request, assignment_id)
    try:
        services.assignment_skip(assignment_id=assignment.pk, annotator=request_user(request))
    except Conflict as exc:
        return _render_next(request, assignment.project, notice=exc.message)
    if not is_htmx(request):
        return redirect("annotate", project_id=assignment.project_id)
    return _render_next(request, assignment.project, notice="Skipped.", skipped=assignment)


@login_required
@require_POST
def annotate_unskip(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Undo a skip made a few seconds ago: the skipped item comes back."""
    assignment = _assignment_or_404(request, assignment_id)
    try:
        services.assignment_unskip(assignment_id=assignment.pk, annotator=request_user(request))
    except Conflict as exc:
        notice = exc.message
    else:
        notice = "Skip undone."
    if not is_htmx(request):
        messages.info(request, notice)
        return redirect("annotate", project_id=assignment.project_id)
    return _render_next(request, assignment.project, notice=notice)


@login_required
def annotate_history(request: HttpRequest, project_id: int) -> HttpResponse:
    """Everything the annotator answered in this project, newest first, each one reopenable."""
    project = project_for_page(request, project_id, role=Membership.Role.ANNOTATOR)
    history = selectors.annotator_history(project=project, annotator=request_user(request))
    page = Paginator(history, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "annotate/history.html", {"project": project, "page": page})


def _revisit_context(
    request: HttpRequest, assignment: Assignment
) -> tuple[dict[str, object], Annotation]:
    annotation = Annotation.objects.filter(assignment=assignment).first()
    if annotation is None:
        raise Http404("you have not answered this item")
    project = assignment.project
    plugin = get_task_type(project.task_type)
    context = _item_context(request, project, assignment)
    context.update(
        annotation=annotation,
        answer_lines=answer_lines(
            project,
            annotation.value,
            payload=assignment.item.payload,
            shown_order=assignment.shown_order,
        ),
        answer_form=answer_form_fields(
            project, annotation.value, shown_order=assignment.shown_order
        ),
        base_version=annotation.version,
        locked=assignment.item.is_gold or assignment.item.is_qualification,
        task_scripts=plugin.annotator_scripts,
        task_styles=plugin.annotator_styles,
    )
    return context, annotation


@login_required
def annotate_revisit(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """A previous item with the annotator's current answer, to look at or change."""
    assignment = _assignment_or_404(request, assignment_id)
    context, _ = _revisit_context(request, assignment)
    return render(request, "annotate/revisit.html", context)


@login_required
@require_POST
def annotate_revise(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """Change a previous answer: a resubmission through ``annotation_submit`` (a new version)."""
    assignment = _assignment_or_404(request, assignment_id)
    project = assignment.project
    # The time measured from the reservation (perhaps days ago) is not time spent on this
    # change: the answer keeps the time it took.
    previous = Annotation.objects.filter(assignment=assignment).first()
    try:
        annotation, _ = services.annotation_submit(
            assignment_id=assignment.pk,
            annotator=request_user(request),
            value=_value_from_form(request, assignment),
            time_spent_ms=previous.time_spent_ms if previous is not None else None,
            base_version=_base_version(request),
        )
    except InvalidInput as exc:
        context, _ = _revisit_context(request, assignment)
        context.update(
            error="Please complete the form.",
            field_errors=annotator_errors(project, exc.detail, payload=assignment.item.payload),
        )
        return render(request, "annotate/revisit.html", context, status=400)
    except Conflict as exc:
        context, _ = _revisit_context(request, assignment)
        context.update(error=exc.message, conflict=exc.code)
        return render(request, "annotate/revisit.html", context, status=409)
    messages.success(
        request,
        f"Saved your new answer for {assignment.item.external_id} (version {annotation.version}).",
    )
    return redirect("annotate-history", project_id=project.pk)

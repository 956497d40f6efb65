"""The model-runs section of a lead's project page (htmx fragments): list, start, cancel,
resume."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from annotate import selectors as annotate_selectors
from annotate.models import Project
from annotate.web import lead_project_for_page
from core.errors import Conflict, InvalidInput, ServiceError
from core.web import request_user

from . import runs, selectors
from .dispatch import BrokerUnavailable
from .models import ModelRun

RUNS_SHOWN = 20


def _section(
    request: HttpRequest, project: Project, *, error: str | None = None, status: int = 200
) -> HttpResponse:
    runs = list(selectors.model_runs_for_project(project=project)[:RUNS_SHOWN])
    context = {
        "project": project,
        "runs": runs,
        "predictors": selectors.predictors_for_task_type(task_type=project.task_type),
        "active": any(not run.is_finished for run in runs),
        "error": error,
        "statuses": annotate_selectors.ITEM_STATUSES,
    }
    return render(request, "models_runtime/_partials/runs.html", context, status=status)


@login_required
@require_GET
def runs_section(request: HttpRequest, project_id: int) -> HttpResponse:
    return _section(request, lead_project_for_page(request, project_id))


@login_required
@require_POST
def run_start(request: HttpRequest, project_id: int) -> HttpResponse:
    project = lead_project_for_page(request, project_id)
    predictor = selectors.predictor_find(request.POST.get("predictor", ""))
    if predictor is None:
        return _section(request, project, error="Choose a predictor.")
    filters = {}
    if request.POST.get("status"):
        filters["status"] = request.POST["status"]
    try:
        runs.model_run_start(
            project=project, predictor=predictor, filters=filters, created_by=request_user(request)
        )
    except InvalidInput as exc:
        details = "; ".join(f"{e.field}: {e.message}" for e in exc.detail or [])
        return _section(request, project, error=f"{exc.message}. {details}".strip())
    except BrokerUnavailable as exc:
        return _section(request, project, error=exc.message)
    return _section(request, project)


@login_required
@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = ModelRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404("no such run")
    project = lead_project_for_page(request, run.project_id)
    try:
        runs.model_run_cancel(run=run)
    except Conflict as exc:
        return _section(request, project, error=exc.message)
    return _section(request, project)


@login_required
@require_POST
def run_resume(request: HttpRequest, run_id: int) -> HttpResponse:
    run = ModelRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404("no such run")
    project = lead_project_for_page(request, run.project_id)
    try:
        runs.model_run_resume(run=run)
    except BrokerUnavailable:
        return _section(
            request,
            project,
            error="The task broker is unavailable: the run will resume once it is back.",
        )
    except ServiceError as exc:
        return _section(request, project, error=exc.message)
    return _section(request, project)

"""Leads' pages: the analysis dashboard, the divergence review queue, the taxonomy editor.

Interfaces only: parse, call a service or selector, render a page or a ``_partials/`` fragment.
Every page needs the lead role in the project (others get 404 if not members, 403 if annotators).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotate.models import Project
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import DivergenceSpec
from annotate.web import lead_project_for_page
from core.errors import InvalidInput, NotFound
from core.web import is_htmx

from . import charts, report, selectors, snapshots
from . import taxonomy as taxonomy_services


def _review_filters(spec: DivergenceSpec | None) -> dict[str, str]:
    """The review queue's lists: untagged, all, the task type's own (by status), tagged."""
    own = {f.name: f.label for f in spec.review_filters} if spec else {}
    return {"untagged": "Not yet tagged", "all": "All diverging", **own, "tagged": "Tagged"}


# --- dashboard


def _dashboard_context(project: Project, view: snapshots.AnalysisView) -> dict[str, Any]:
    figures = view.figures
    context: dict[str, Any] = {"project": project, "view": view, "data": figures}
    context["left_picks"] = get_task_type(project.task_type).has_position_pick
    if figures is None:
        return context
    context["has_reference"] = figures.has_reference
    progress = figures.progress
    context["timeline_chart"] = charts.timeline(
        [(p.date, p.cumulative) for p in progress.timeline],
        total=progress.n_annotations_wanted,
        title="Annotations over time (cumulative)",
    )
    context["alpha_chart"] = charts.alpha_intervals(
        [(f.label, f.alpha, f.low, f.high) for f in figures.fields],
        title="Krippendorff's alpha with 95% bootstrap interval, per field",
    )
    pairwise = figures.annotators.pairwise
    if pairwise.annotators:
        context["heatmap"] = charts.heatmap(
            pairwise.annotators,
            pairwise.agreement,
            pairwise.n_common,
            title="Pairwise agreement between annotators",
        )
    # The source paper's tables that have rows (the paper view shows them all).
    paper_tables = get_task_type(project.task_type).paper_tables(figures.to_dict())
    context["paper_tables"] = report.shown_tables([t for t in paper_tables if t.rows])
    if figures.divergence:
        summary = selectors.divergence_summary(project=project, figures=figures)
        context["divergence"] = summary
        context["status_chart"] = charts.hbars(
            [(status.replace("_", " "), n) for status, n in summary.status_counts.items()],
            title="Items per agreement status",
        )
        context["taxonomy_chart"] = charts.hbars(
            [(c.name, c.n_items) for c in summary.taxonomy],
            title="Tagged items per divergence category",
        )
    return context


@login_required
def dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project = lead_project_for_page(request, project_id)
    view = snapshots.analysis_get(project=project)
    context = _dashboard_context(project, view)
    if is_htmx(request):
        return render(request, "analysis/_partials/figures.html", context)
    return render(request, "analysis/dashboard.html", context)


@login_required
def paper_view(request: HttpRequest, project_id: int) -> HttpResponse:
    """The source paper's tables for this project, ready to paste (LaTeX) or download (CSV)."""
    project = lead_project_for_page(request, project_id)
    paper = report.project_report(project=project)
    tables = report.shown_tables(paper.tables if paper else [])
    context = {"project": project, "paper": paper, "tables": tables}
    return render(request, "analysis/report.html", context)


@login_required
@require_POST
def refresh(request: HttpRequest, project_id: int) -> HttpResponse:
    """Recompute now (small projects) or in the background (big ones)."""
    project = lead_project_for_page(request, project_id)
    view = snapshots.analysis_get(project=project, recompute=True)
    if view.pending:
        messages.success(request, "Figures are being recomputed in the background.")
    else:
        messages.success(request, "Figures recomputed.")
    return redirect("analysis-dashboard", project_id=project.pk)


# --- review queue


def _queue(
    project: Project, spec: DivergenceSpec, data: dict[str, Any] | None, which: str
) -> list[tuple[int, str]]:
    rows = ((data or {}).get("divergence") or {}).get("diverging_items") or []
    by_status = {f.name: f.statuses for f in spec.review_filters}
    if which in by_status:
        return [(i, s) for i, s in rows if s in by_status[which]]
    if which in ("untagged", "tagged"):
        tagged = selectors.tagged_item_ids(project=project, item_ids=[i for i, _ in rows])
        return [(i, s) for i, s in rows if (i in tagged) == (which == "tagged")]
    return [(int(i), s) for i, s in rows]


def _review_context(project: Project, which: str, item_id: int | None) -> dict[str, Any]:
    spec = get_task_type(project.task_type).divergence()
    if spec is None:
        raise Http404("this task type has no divergence review")
    view = snapshots.analysis_get(project=project)
    queue = _queue(project, spec, view.data, which)
    try:
        context = selectors.review_item_context(project=project, queue=queue, item_id=item_id)
    except NotFound:
        raise Http404("no such item") from None
    context.update(project=project, which=which, filters=_review_filters(spec), view=view)
    return context


def _which(request: HttpRequest, project: Project) -> str:
    which = request.GET.get("show") or request.POST.get("show") or "untagged"
    filters = _review_filters(get_task_type(project.task_type).divergence())
    return which if which in filters else "untagged"


def _item_param(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        raise Http404("no such item") from None


@login_required
def review(request: HttpRequest, project_id: int) -> HttpResponse:
    project = lead_project_for_page(request, project_id)
    item_id = _item_param(request.GET.get("item"))
    context = _review_context(project, _which(request, project), item_id)
    if is_htmx(request):
        return render(request, "analysis/_partials/review_item.html", context)
    return render(request, "analysis/review.html", context)


@login_required
@require_POST
def review_tag(request: HttpRequest, project_id: int, item_id: int) -> HttpResponse:
    """Save the item's categories and note, then show the next item of the queue."""
    project = lead_project_for_page(request, project_id)
    which = _which(request, project)
    try:
        category_ids = [int(c) for c in request.POST.getlist("categories")]
    except ValueError:
        return HttpResponse("bad category", status=400)
    try:
        taxonomy_services.divergence_tag_set(
            project=project,
            item_id=item_id,
            category_ids=category_ids,
            note=request.POST.get("note", ""),
            tagged_by=request.user,  # type: ignore[arg-type]
        )
    except NotFound:
        raise Http404("no such item") from None
    except InvalidInput as exc:
        return HttpResponse(exc.message, status=400)
    next_id = _item_param(request.POST.get("next"))
    if which == "untagged":
        # The saved item left the "untagged" queue: the next one is now first after it.
        next_id = next_id if next_id != item_id else None
    if is_htmx(request):
        context = _review_context(project, which, next_id)
        context["saved"] = item_id
        return render(request, "analysis/_partials/review_item.html", context)
    url = reverse("analysis-review", args=[project.pk]) + f"?show={which}"
    return redirect(url + (f"&item={next_id}" if next_id else ""))


# --- taxonomy


@login_required
def taxonomy(request: HttpRequest, project_id: int) -> HttpResponse:
    project = lead_project_for_page(request, project_id)
    if request.method == "POST":
        try:
            action = request.POST.get("action", "add")
            if action == "add":
                taxonomy_services.taxonomy_category_add(
                    project=project,
                    group=request.POST.get("group", ""),
                    name=request.POST.get("name", ""),
                )
            elif action == "update":
                taxonomy_services.taxonomy_category_update(
                    project=project,
                    category_id=int(request.POST.get("id", 0)),
                    group=request.POST.get("group", ""),
                    name=request.POST.get("name", ""),
                )
            elif action == "delete":
                taxonomy_services.taxonomy_category_delete(
                    project=project, category_id=int(request.POST.get("id", 0))
                )
        except (InvalidInput, NotFound, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "invalid input"))
        return redirect("analysis-taxonomy", project_id=project.pk)
    categories = selectors.taxonomy_rows(project=project)
    rows = [{"category": category, "n_items": n} for category, n in categories]
    groups = sorted({category.group for category, _n in categories})
    return render(
        request, "analysis/taxonomy.html", {"project": project, "rows": rows, "groups": groups}
    )

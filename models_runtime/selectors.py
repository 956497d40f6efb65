"""Reads for model runs: the items a run covers, runs and predictions as callers may see them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from annotate import selectors as annotate_selectors
from annotate.models import Item, Membership, Project
from core.errors import FieldError, InvalidInput, NotFound

from .models import ModelRun, Prediction, Predictor

FILTER_KEYS = ("status", "external_ids", "limit")


def run_filters_clean(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check a run's item filters: ``status`` (open, in_progress, done), ``external_ids``
    (a list of strings), ``limit`` (a positive integer)."""
    filters = dict(filters or {})
    errors = [
        FieldError(f"filters.{key}", "unknown filter")
        for key in sorted(set(filters) - set(FILTER_KEYS))
    ]
    status = filters.get("status")
    if status is not None and status not in annotate_selectors.ITEM_STATUSES:
        statuses = ", ".join(annotate_selectors.ITEM_STATUSES)
        errors.append(FieldError("filters.status", f"one of {statuses}"))
    ids = filters.get("external_ids")
    if ids is not None and (
        not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids)
    ):
        errors.append(FieldError("filters.external_ids", "a list of non-empty strings"))
    limit = filters.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        errors.append(FieldError("filters.limit", "a positive integer"))
    if errors:
        raise InvalidInput("the filters are invalid", detail=errors)
    return {key: value for key, value in filters.items() if value is not None}


def run_items(*, project: Project, filters: Mapping[str, Any]) -> QuerySet[Item]:
    """The items a run with these (cleaned) filters covers, in id order."""
    items = annotate_selectors.items_list(project=project, status=filters.get("status"))
    if "external_ids" in filters:
        items = items.filter(external_id__in=filters["external_ids"])
    if "limit" in filters:
        # A slice cannot be filtered further; take the ids it covers instead.
        ids = list(items.values_list("id", flat=True)[: filters["limit"]])
        items = Item.objects.filter(id__in=ids).order_by("id")
    return items


def predictor_find(ref: str) -> Predictor | None:
    """The predictor named by ``ref``: its id (digits) or its name."""
    predictors = Predictor.objects
    return (
        predictors.filter(pk=int(ref)) if ref.isdigit() else predictors.filter(name=ref)
    ).first()


def user_may_see_predictors(user: User) -> bool:
    """Predictors name directories on the workers' disks and endpoints (``params``): staff and
    project leads see them, annotators and crowd workers do not."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.has_perm("models_runtime.add_predictor"):
        return True
    return Membership.objects.filter(user=user, role=Membership.Role.LEAD).exists()


def predictors_for_task_type(*, task_type: str) -> QuerySet[Predictor]:
    return Predictor.objects.filter(task_type=task_type).order_by("name")


def model_runs_for_project(*, project: Project) -> QuerySet[ModelRun]:
    return ModelRun.objects.filter(project=project).select_related("predictor").order_by("-id")


def model_run_get(*, run_id: int, user: User, role: str | None = Membership.Role.LEAD) -> ModelRun:
    """The run if ``user`` may see its project (as ``role``); ``NotFound`` otherwise."""
    run = ModelRun.objects.select_related("project", "predictor").filter(pk=run_id).first()
    if run is None:
        raise NotFound("no such model run")
    try:
        annotate_selectors.project_get(project_id=run.project_id, user=user, role=role)
    except NotFound:
        raise NotFound("no such model run") from None
    return run


def run_predictions(*, run: ModelRun) -> QuerySet[Prediction]:
    return Prediction.objects.filter(run=run).select_related("item").order_by("id")


def predictions_by_item(*, item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The finished runs' predictions for these items, one query: ``{item_id: [{run_id, model,
    value, score}, ...]}`` in run order (for exports, next to the human labels). The query asks
    for the ids' range, not the list (the export's chunks are id ranges; thousands of ids as
    parameters cost more than the query), and the rows outside the list are left out here."""
    if not item_ids:
        return {}
    wanted = set(item_ids)
    rows = (
        Prediction.objects.filter(
            item_id__gte=min(wanted), item_id__lte=max(wanted), run__status=ModelRun.Status.DONE
        )
        .order_by("item_id", "run_id")
        .values_list("item_id", "run_id", "run__model_name", "value", "score")
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for item_id, run_id, model, value, score in rows:
        if item_id not in wanted:
            continue
        found.setdefault(item_id, []).append(
            {"run_id": run_id, "model": model, "value": value, "score": score}
        )
    return found


def item_export_predictions(*, item_ids: list[int]) -> dict[str, dict[int, Any]]:
    """The ``predictions`` column of the items export (the ``item_export_columns`` hook): each
    item's predictions from finished runs, ``[]`` where it has none."""
    found = predictions_by_item(item_ids=item_ids)
    return {"predictions": {item_id: found.get(item_id, []) for item_id in item_ids}}

"""Models versus humans: each finished model run's alpha with the model as one more coder,
its accuracy against the human majority, and (for task types with a divergence spec) whether its
uncertainty tells diverging items from agreeing ones (AUROC) and how often it picks a winner on the
items of each agreement status."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from annotate.models import Project
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import DivergenceSpec, MetricsData, TaskType
from stats.aggregation import majority_vote
from stats.alpha import krippendorff_alpha
from stats.auroc import auroc

from ..selectors.metrics import run_prediction_rows
from ..selectors.reliability import (
    ReliabilityData,
    done_model_runs,
    extract_py,
    item_payloads,
    run_predictions,
)
from .annotators import primary_field
from .fields import alpha_kwargs, num
from .types import ModelFieldFigures, ModelFigures


def model_figures(
    project: Project,
    rd: ReliabilityData,
    spec: DivergenceSpec | None,
    statuses: Sequence[str | None],
    metrics_data: MetricsData,
) -> list[ModelFigures]:
    runs = done_model_runs(project=project)
    if not runs or not rd.fields:
        return []
    index = rd.item_index()
    primary = primary_field(rd)
    assert primary is not None
    majority = majority_vote(primary.data)
    plugin = get_task_type(project.task_type)
    has_metrics = type(plugin).model_metrics is not TaskType.model_metrics
    needs_payload = any(fd.field.extract is not None for fd in rd.fields.values())
    out = []
    for run in runs:
        predictions = [p for p in run_predictions(run=run) if p[0] in index]
        payloads = item_payloads(item_ids=[p[0] for p in predictions]) if needs_payload else {}
        columns = np.array([index[p[0]] for p in predictions], dtype=np.int64)
        field_rows = []
        accuracy: float | None = None
        n_compared = 0
        for fd in rd.fields.values():
            model = np.array(
                [
                    fd.code_of(extract_py(fd.field, p[1], payloads.get(p[0], {})))
                    for p in predictions
                ],
                dtype=float,
            )
            humans = fd.data[:, columns] if columns.size else np.empty((fd.data.shape[0], 0))
            kwargs = alpha_kwargs(fd)
            with_model = np.vstack([humans, model[None, :]]) if columns.size else humans
            alpha_h = krippendorff_alpha(humans, **kwargs) if columns.size else None
            alpha_m = krippendorff_alpha(with_model, **kwargs) if columns.size else None
            field_rows.append(
                ModelFieldFigures(
                    name=fd.field.name,
                    alpha_humans=num(alpha_h.alpha) if alpha_h else None,
                    alpha_with_model=num(alpha_m.alpha) if alpha_m else None,
                    reason=alpha_m.reason if alpha_m else "no predictions on annotated items",
                )
            )
            if fd is primary:
                target = majority.label[columns] if columns.size else np.array([])
                compared = ~np.isnan(target) & ~np.isnan(model)
                n_compared = int(compared.sum())
                accuracy = (
                    float((target[compared] == model[compared]).mean()) if n_compared else None
                )
        divergence = (
            divergence_model_figures(
                spec,
                predictions,
                [statuses[index[p[0]]] if statuses else None for p in predictions],
            )
            if spec is not None
            else {}
        )
        out.append(
            ModelFigures(
                run_id=run.pk,
                model_name=run.model_name,
                source=run.source,
                n_predictions=len(predictions),
                accuracy_vs_majority=accuracy,
                n_compared=n_compared,
                fields=field_rows,
                **divergence,
                metrics=(
                    plugin.model_metrics(metrics_data, run_prediction_rows(run=run))
                    if has_metrics
                    else {}
                ),
            )
        )
    return out


def divergence_model_figures(
    spec: DivergenceSpec,
    predictions: Sequence[tuple[int, Any, float | None, Any]],
    statuses: Sequence[str | None],
) -> dict[str, Any]:
    """One run's divergence figures, from its predictions and their items' statuses (``None``:
    too few votes, left out everywhere).

    - ``auroc``: the model's uncertainty (``spec.uncertainty``) as a score for telling diverging
      items (positive) from agreeing ones (negative), with the counts of each class;
    - ``winner_share_by_status``: for every status of the spec, the share of the model's
      predictions on items of that status that pick a winner (not a tie), with ``n`` (predictions
      read) and ``n_winner``; ``share`` is ``None`` when ``n`` is 0;
    - ``diverging_winner_share``: the same over both diverging statuses together.
    """
    positive, scores = [], []
    picks: dict[str, list[bool]] = {status: [] for status in spec.statuses}
    for (_item_id, value, score, distribution), status in zip(predictions, statuses, strict=True):
        if status is None:
            continue
        if status in spec.diverging or status in spec.agreeing:
            uncertainty = spec.uncertainty(score, distribution)
            scores.append(math.nan if uncertainty is None else uncertainty)
            positive.append(status in spec.diverging)
        picked = spec.picks_winner(value)
        if picked is not None and status in picks:
            picks[status].append(picked)
    result = auroc(np.array(scores, dtype=float), np.array(positive, dtype=bool))
    diverging = [p for status in spec.statuses if status in spec.diverging for p in picks[status]]
    return {
        "auroc": num(result.auroc),
        "auroc_reason": result.reason,
        "auroc_n_diverging": result.n_positive,
        "auroc_n_agreeing": result.n_negative,
        "diverging_winner_share": (sum(diverging) / len(diverging)) if diverging else None,
        "n_diverging_predicted": len(diverging),
        "winner_share_by_status": {
            status: {
                "share": (sum(p) / len(p)) if p else None,
                "n": len(p),
                "n_winner": sum(p),
            }
            for status, p in picks.items()
        },
    }

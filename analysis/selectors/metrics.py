"""What the task types' paper metrics read (``annotate.tasktypes.base.MetricsData``), each part
queried once and only when a type asks for it, and a run's predictions with their details."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from annotate.models import Item, Project
from annotate.selectors import annotations_for_aggregates
from annotate.tasktypes.base import RunPrediction
from models_runtime.models import ModelRun, Prediction


class ProjectMetricsData:
    """A project's plain data for ``TaskType.paper_figures`` and ``TaskType.model_metrics``."""

    def __init__(self, *, project: Project, statuses: Mapping[int, str | None] | None = None):
        self.project = project
        self._statuses = dict(statuses or {})

    @property
    def config(self) -> Mapping[str, Any]:
        return self.project.config

    def payloads(self) -> Mapping[int, Mapping[str, Any]]:
        return self._payloads

    @cached_property
    def _payloads(self) -> dict[int, Mapping[str, Any]]:
        rows = Item.objects.filter(project=self.project).values_list("id", "payload")
        return dict(rows.iterator(chunk_size=2000))

    def gold(self) -> Mapping[int, Mapping[str, Any]]:
        return self._gold

    @cached_property
    def _gold(self) -> dict[int, Mapping[str, Any]]:
        rows = Item.objects.filter(project=self.project, gold_value__isnull=False)
        return {item_id: value for item_id, value in rows.values_list("id", "gold_value") if value}

    def human_values(self) -> Mapping[int, Sequence[Mapping[str, Any]]]:
        return self._human_values

    @cached_property
    def _human_values(self) -> dict[int, list[Mapping[str, Any]]]:
        values: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
        rows = (
            annotations_for_aggregates(project=self.project)
            .filter(item__is_gold=False, item__is_qualification=False)
            .order_by("item_id", "id")
            .values_list("item_id", "value")
        )
        for item_id, value in rows.iterator(chunk_size=5000):
            values[item_id].append(value)
        return dict(values)

    def statuses(self) -> Mapping[int, str | None]:
        return self._statuses


def run_prediction_rows(*, run: ModelRun) -> list[RunPrediction]:
    """Every prediction of a run, in item order, with the backend's or the file's details."""
    rows = (
        Prediction.objects.filter(run=run)
        .order_by("item_id")
        .values_list("item_id", "value", "score", "distribution", "details")
    )
    return [RunPrediction(*row) for row in rows.iterator(chunk_size=5000)]

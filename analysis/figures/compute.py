"""``agreement_compute``: every figure of a project, from a few queries (no caching here: see
``analysis.snapshots``)."""

from __future__ import annotations

from django.utils import timezone

from annotate.models import Project
from annotate.selectors import project_progress
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import AgreementField

from ..selectors.cohorts import annotator_cohorts
from ..selectors.metrics import ProjectMetricsData
from ..selectors.reliability import (
    analysis_reads,
    annotations_per_day,
    item_payloads,
    set_units,
)
from .annotators import annotator_figures, primary_field
from .cohorts import cohort_figures
from .dawid_skene import dawid_skene_figures
from .divergence import divergence_figures_of_codes, item_status_codes, statuses_of_codes
from .fields import fields_figures, set_field_figures
from .model_runs import model_figures
from .types import DivergenceFigures, Figures, Progress, ProjectRef, TimelinePoint


def agreement_compute(*, project: Project) -> Figures:
    """Every figure of the project's analysis: progress, agreement per field, annotators,
    divergence (status counts), set fields, and models versus humans."""
    plugin = get_task_type(project.task_type)
    config = plugin.config(project.config)
    fields: list[AgreementField] = plugin.agreement_fields(config)
    spec = plugin.divergence()
    rd, position, median_ms = analysis_reads(
        project=project,
        fields=fields,
        position_pick=plugin.position_pick if plugin.has_position_pick else None,
        position_keys=plugin.position_keys,
    )
    payloads = (
        item_payloads(item_ids=[int(i) for i in rd.item_ids])
        if any(f.reference is not None for f in fields)
        else None
    )
    cumulative, timeline = 0, []
    for day, n in annotations_per_day(project=project):
        cumulative += n
        timeline.append(TimelinePoint(date=day, n=n, cumulative=cumulative))
    progress = project_progress(project=project)
    computed_at = timezone.now().isoformat()
    field_rows = fields_figures(list(rd.fields.values()), payloads, rd.item_ids)
    annotators = annotator_figures(
        project, rd, primary_field(rd), position=position, median_ms=median_ms
    )
    set_fields = plugin.set_fields(config)
    units = set_units(project=project, fields=set_fields)
    statuses: list[str | None] = []
    divergence: DivergenceFigures | None = None
    if spec is not None and spec.status_field in rd.fields:
        codes, names = item_status_codes(
            plugin, rd.fields[spec.status_field], config=project.config
        )
        statuses = statuses_of_codes(codes, names)
        divergence = divergence_figures_of_codes(spec, codes, names, rd.item_ids)
    metrics_data = ProjectMetricsData(
        project=project,
        statuses=dict(zip(rd.item_ids.tolist(), statuses, strict=False)),
    )
    return Figures(
        project=ProjectRef(id=project.pk, name=project.name, task_type=project.task_type),
        computed_at=computed_at,
        n_annotations=rd.n_annotations,
        n_items_annotated=int(rd.item_ids.size),
        n_annotators=int(rd.annotator_ids.size),
        progress=Progress(**progress.as_dict(), timeline=timeline),
        fields=field_rows,
        annotators=annotators,
        divergence=divergence,
        set_fields=[set_field_figures(f, units[f.name]) for f in set_fields],
        models=model_figures(project, rd, spec, statuses, metrics_data),
        paper=plugin.paper_figures(metrics_data),
        cohorts=cohort_figures(rd, annotator_cohorts(project=project)),
        dawid_skene=dawid_skene_figures(rd),
    )

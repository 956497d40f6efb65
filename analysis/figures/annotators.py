"""The annotators' figures: leave-one-out agreement, gold accuracy, speed, position bias, and the
pairwise agreement matrix, all on the primary field."""

from __future__ import annotations

from collections import Counter

import numpy as np
from django.contrib.auth.models import User

from annotate.models import Project
from annotate.selectors import annotator_quality
from annotate.tasktypes import get_task_type
from stats.annotators import leave_one_out_agreement, pairwise_agreement_matrix

from ..selectors.reliability import FieldData, ReliabilityData, position_facts
from .fields import num
from .types import AnnotatorFigures, AnnotatorRow, Pairwise

HEATMAP_MAX_ANNOTATORS = 40
"""The pairwise matrix covers the annotators with the most annotations, up to this many."""


def primary_field(rd: ReliabilityData) -> FieldData | None:
    """The task type's primary agreement field, else the first one."""
    for fd in rd.fields.values():
        if fd.field.primary:
            return fd
    return next(iter(rd.fields.values()), None)


def annotator_figures(
    project: Project, rd: ReliabilityData, primary: FieldData | None
) -> AnnotatorFigures:
    plugin = get_task_type(project.task_type)
    quality = {row.membership.user_id: row for row in annotator_quality(project=project)}
    left: Counter[int] = Counter()
    sided: Counter[int] = Counter()
    if plugin.has_position_pick:
        position = position_facts(
            project=project, position_pick=plugin.position_pick, value_keys=plugin.position_keys
        )
        for annotator_id, pick, count in zip(
            position.annotator_ids, position.picks, position.counts, strict=True
        ):
            if pick is not None:
                sided[annotator_id] += count
                left[annotator_id] += count if pick == "left" else 0
    loo = leave_one_out_agreement(primary.data) if primary is not None and rd.fields else None
    row_of = {int(a): n for n, a in enumerate(rd.annotator_ids)}
    names = dict(
        User.objects.filter(pk__in=set(row_of) | set(quality)).values_list("id", "username")
    )
    rows = []
    for user_id in sorted(set(row_of) | set(quality), key=lambda u: names.get(u, "")):
        q = quality.get(user_id)
        n = row_of.get(user_id)
        rows.append(
            AnnotatorRow(
                annotator_id=user_id,
                username=names.get(user_id, str(user_id)),
                flagged=bool(q.membership.flagged) if q else False,
                n_annotations=int(np.count_nonzero(~np.isnan(primary.data[n])))
                if n is not None and primary is not None
                else 0,
                loo_agreement=num(loo.agreement[n]) if loo is not None and n is not None else None,
                loo_compared=int(loo.n_compared[n]) if loo is not None and n is not None else 0,
                gold_accuracy=num(q.gold.accuracy) if q else None,
                gold_answers=q.gold.n_answers if q else 0,
                median_seconds=num(q.median_seconds) if q else None,
                left_pick_rate=left[user_id] / sided[user_id] if sided[user_id] else None,
                side_picks=sided[user_id],
            )
        )
    pairwise = Pairwise()
    if primary is not None and rd.annotator_ids.size:
        counts = np.count_nonzero(~np.isnan(primary.data), axis=1)
        top = np.argsort(-counts, kind="stable")[:HEATMAP_MAX_ANNOTATORS]
        top = top[np.argsort([names.get(int(rd.annotator_ids[i]), "") for i in top], kind="stable")]
        matrix = pairwise_agreement_matrix(primary.data[top])
        pairwise = Pairwise(
            field=primary.field.name,
            annotators=[names.get(int(rd.annotator_ids[i]), "") for i in top],
            agreement=[[num(v) for v in row] for row in matrix.agreement],
            n_common=matrix.n_common.tolist(),
            truncated=len(rd.annotator_ids) > HEATMAP_MAX_ANNOTATORS,
        )
    return AnnotatorFigures(
        field=primary.field.name if primary else None, rows=rows, pairwise=pairwise
    )

"""The annotators' figures: leave-one-out agreement, gold accuracy, speed, position bias, and the
pairwise agreement matrix, all on the primary field."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
from django.contrib.auth.models import User

from annotate.models import Project
from stats.annotators import leave_one_out_agreement, pairwise_agreement_matrix

from ..selectors.annotators import annotator_facts
from ..selectors.reliability import AnnotationFacts, FieldData, ReliabilityData
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
    project: Project,
    rd: ReliabilityData,
    primary: FieldData | None,
    *,
    position: AnnotationFacts | None,
    median_ms: Mapping[int, float],
) -> AnnotatorFigures:
    """The annotators' table and pairwise matrix; ``position``: the position picks (``None`` for
    a task type without them), ``median_ms``: each annotator's median time spent
    (``analysis.selectors.reliability.analysis_reads`` reads both)."""
    facts = annotator_facts(project=project, median_ms=median_ms)
    members = set(facts.flagged)
    left: Counter[int] = Counter()
    sided: Counter[int] = Counter()
    if position is not None:
        for annotator_id, pick, count in zip(
            position.annotator_ids, position.picks, position.counts, strict=True
        ):
            if pick is not None:
                sided[annotator_id] += count
                left[annotator_id] += count if pick == "left" else 0
    loo = leave_one_out_agreement(primary.data) if primary is not None and rd.fields else None
    row_of = {int(a): n for n, a in enumerate(rd.annotator_ids)}
    names = dict(User.objects.filter(pk__in=set(row_of) | members).values_list("id", "username"))
    rows = []
    for user_id in sorted(set(row_of) | members, key=lambda u: names.get(u, "")):
        member = user_id in members
        n = row_of.get(user_id)
        rows.append(
            AnnotatorRow(
                annotator_id=user_id,
                username=names.get(user_id, str(user_id)),
                flagged=facts.flagged.get(user_id, False),
                n_annotations=int(np.count_nonzero(~np.isnan(primary.data[n])))
                if n is not None and primary is not None
                else 0,
                loo_agreement=num(loo.agreement[n]) if loo is not None and n is not None else None,
                loo_compared=int(loo.n_compared[n]) if loo is not None and n is not None else 0,
                gold_accuracy=num(facts.gold[user_id].accuracy) if member else None,
                gold_answers=facts.gold[user_id].n_answers if member else 0,
                median_seconds=num(facts.median_seconds[user_id]) if member else None,
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

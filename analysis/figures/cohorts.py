"""Agreement per cohort of annotators: each field's alpha among one cohort's annotators alone
(crowd against crowd, expert against expert), where the memberships have cohorts."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from stats.alpha import krippendorff_alpha

from ..selectors.reliability import ReliabilityData
from .fields import alpha_kwargs, num
from .types import CohortFieldFigures, CohortFigures


def cohort_figures(rd: ReliabilityData, cohorts: Mapping[int, str]) -> list[CohortFigures]:
    """One entry per cohort of ``cohorts`` (user id -> cohort) that has annotators in ``rd``,
    sorted by name; annotators without a cohort are in none. Empty without cohorts."""
    rows: dict[str, list[int]] = {}
    for row, annotator_id in enumerate(rd.annotator_ids):
        cohort = cohorts.get(int(annotator_id))
        if cohort:
            rows.setdefault(cohort, []).append(row)
    out = []
    for cohort in sorted(rows):
        index = np.array(rows[cohort], dtype=np.int64)
        fields = []
        n_annotations = 0
        for n, fd in enumerate(rd.fields.values()):
            data = fd.data[index, :]
            if n == 0:
                n_annotations = int(np.count_nonzero(~np.isnan(data)))
            result = krippendorff_alpha(data, **alpha_kwargs(fd))
            fields.append(
                CohortFieldFigures(
                    name=fd.field.name,
                    label=fd.field.label,
                    alpha=num(result.alpha),
                    reason=result.reason,
                    n_coders=result.n_coders,
                    n_units=result.n_units,
                    n_pairable_values=result.n_pairable_values,
                )
            )
        out.append(
            CohortFigures(
                cohort=cohort,
                n_annotators=len(rows[cohort]),
                n_annotations=n_annotations,
                fields=fields,
            )
        )
    return out

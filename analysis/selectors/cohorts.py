"""Reads of the annotators' cohorts (``Membership.cohort``: crowd, expert, ... set by the labels
import) for the agreement per cohort."""

from __future__ import annotations

from annotate.models import Membership, Project


def annotator_cohorts(*, project: Project) -> dict[int, str]:
    """User id -> cohort, for the project's members that have one."""
    rows = (
        Membership.objects.filter(project=project)
        .exclude(cohort="")
        .values_list("user_id", "cohort")
    )
    return dict(rows)

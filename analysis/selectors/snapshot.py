"""Reads of the cached figures (``AnalysisSnapshot``) for other pages: nothing is computed here."""

from __future__ import annotations

from annotate.models import Project

from ..figures.types import Figures
from ..models import AnalysisSnapshot


def snapshot_figures(*, project: Project) -> Figures | None:
    """The project's last computed figures, fresh or not; ``None`` before the first computation
    (or when the snapshot was written in a shape this code cannot read)."""
    data = AnalysisSnapshot.objects.filter(project=project).values_list("data", flat=True).first()
    return Figures.load(data)


def consensus_agreement_by_annotator(*, project: Project) -> dict[int, float | None]:
    """Each annotator's agreement with the leave-one-out consensus, from the cached figures:
    user id -> share, ``None`` when not compared. Empty until the analysis has run; flagged
    annotators' work is not in it."""
    figures = snapshot_figures(project=project)
    rows = figures.annotators.rows if figures else []
    return {row.annotator_id: row.loo_agreement for row in rows}

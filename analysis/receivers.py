"""The analysis's receivers of ``annotate.hooks``, connected in ``AnalysisConfig.ready()``."""

from __future__ import annotations

from annotate.models import Project

from . import snapshots
from .selectors.snapshot import consensus_agreement_by_annotator


def annotations_changed(*, project_id: int) -> None:
    """A project's annotations changed: a big project gets one debounced background refresh."""
    snapshots.analysis_annotations_changed(project_id=project_id)


def annotator_consensus_agreement(*, project: Project) -> dict[int, float | None]:
    """Each annotator's agreement with the consensus, from the cached figures."""
    return consensus_agreement_by_annotator(project=project)

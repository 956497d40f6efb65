"""The analysis's receivers of ``annotate.hooks``, connected in ``AnalysisConfig.ready()``."""

from __future__ import annotations

from typing import Any

from annotate.models import Project

from . import snapshots
from .figures import dawid_skene
from .selectors.snapshot import consensus_agreement_by_annotator


def annotations_changed(*, project_id: int) -> None:
    """A project's annotations changed: a big project gets one debounced background refresh."""
    snapshots.analysis_annotations_changed(project_id=project_id)


def annotator_consensus_agreement(*, project: Project) -> dict[int, float | None]:
    """Each annotator's agreement with the consensus, from the cached figures."""
    return consensus_agreement_by_annotator(project=project)


def item_export_dawid_skene(*, item_ids: list[int]) -> dict[str, dict[int, Any]]:
    """The items export's Dawid-Skene columns: each item's most probable label and its
    posterior on the type's primary nominal field."""
    return dawid_skene.export_columns(item_ids=item_ids)

"""Adaptive overlap (SPEC 3, HelpSteer2's collection rule): more annotations for an item whose
first labels disagree. An item's target is ``project.overlap + item.extra_overlap``."""

from __future__ import annotations

from annotate.models import Project


def adaptive_extend(*, project: Project, item_id: int) -> None:
    """Called in the submit transaction after a new annotation is stored on an ordinary item (the
    item row locked): raise the item's target when its first labels disagree. Costs no query for a
    project without the option."""
    if not getattr(project, "adaptive_extra", 0):
        return

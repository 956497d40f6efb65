"""Writes. Each public function is the one place its rule is enforced."""

from .assignment import AnswerLocked, StaleVersion, annotation_submit, assignment_reserve_next
from .hot_path import HotNext, hot_next, hot_submit
from .importing import ImportResult, items_import
from .labels_import import LabelsImportResult, labels_import
from .projects import membership_add, membership_add_by_reference, project_create, project_update
from .sessions import NextState, NextStep, annotator_next
from .skipping import assignment_skip, assignment_unskip

__all__ = [
    "AnswerLocked",
    "HotNext",
    "hot_next",
    "hot_submit",
    "StaleVersion",
    "assignment_unskip",
    "ImportResult",
    "LabelsImportResult",
    "labels_import",
    "NextState",
    "NextStep",
    "annotator_next",
    "membership_add_by_reference",
    "annotation_submit",
    "assignment_reserve_next",
    "assignment_skip",
    "items_import",
    "membership_add",
    "project_create",
    "project_update",
]

"""Reads of the annotators' table (``analysis.figures.annotators``): who the project's annotators
are and their gold answers, in two small queries.

The same facts as ``annotate.selectors.annotator_quality`` (the lead's quality page), read for
the analysis without the counts it does not show, and with the median times computed in NumPy
from the dashboard's one read of the annotations (``reliability.analysis_reads``): a
``PERCENTILE_CONT`` per annotator sorted every annotation of the project in the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annotate.models import Annotation, Membership, Project
from annotate.services.gold import GoldScore, gold_score, task_type_agrees


@dataclass(frozen=True)
class AnnotatorFacts:
    """Per annotator member (user id): flagged or not, gold score, median seconds per annotation
    (``None`` without a recorded time)."""

    flagged: dict[int, bool]
    gold: dict[int, GoldScore]
    median_seconds: dict[int, float | None]


def annotator_facts(*, project: Project, median_ms: Mapping[int, float]) -> AnnotatorFacts:
    """The annotator members' facts; ``median_ms``: each annotator's median time spent in ms
    (``analysis.selectors.reliability.analysis_reads``)."""
    members = dict(
        Membership.objects.filter(project=project, role=Membership.Role.ANNOTATOR).values_list(
            "user_id", "flagged"
        )
    )
    pairs: dict[int, list[tuple[Any, Any]]] = {}
    for annotator_id, value, gold_value in Annotation.objects.filter(
        project=project, item__is_gold=True, item__is_qualification=False
    ).values_list("annotator_id", "value", "item__gold_value"):
        pairs.setdefault(annotator_id, []).append((value, gold_value))
    agrees = task_type_agrees(project)
    return AnnotatorFacts(
        flagged={user_id: bool(flagged) for user_id, flagged in members.items()},
        gold={user_id: gold_score(pairs.get(user_id, []), agrees=agrees) for user_id in members},
        median_seconds={
            user_id: median_ms[user_id] / 1000 if user_id in median_ms else None
            for user_id in members
        },
    )

"""Reads of the divergence review: the taxonomy, the leads' tags, and the divergence summary and
report, which put the cached figures' statuses together with the live tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Count

from annotate.models import Item, Project
from annotate.tasktypes import get_task_type

from ..figures.types import Figures
from ..models import DivergenceTag, TaxonomyCategory
from .reliability import analysis_annotations


def taxonomy_categories(*, project: Project) -> list[TaxonomyCategory]:
    """The project's stored taxonomy, in its order."""
    return list(TaxonomyCategory.objects.filter(project=project).order_by("order", "id"))


def taxonomy_default(*, project: Project) -> list[TaxonomyCategory]:
    """The task type's default taxonomy as unsaved categories (no ids): what the project's
    taxonomy is seeded with on its first write (``analysis.taxonomy.taxonomy_ensure``)."""
    spec = get_task_type(project.task_type).divergence()
    if spec is None:
        return []
    names = [(group, name) for group, names in spec.default_taxonomy for name in names]
    return [
        TaxonomyCategory(project=project, group=group, name=name, order=order)
        for order, (group, name) in enumerate(names, start=1)
    ]


def tags_by_item(
    *, project: Project, item_ids: Sequence[int] | None = None
) -> dict[int, DivergenceTag]:
    """The tags of the project's items (of ``item_ids`` only, when given), with their categories."""
    tags = DivergenceTag.objects.filter(project=project)
    if item_ids is not None:
        tags = tags.filter(item_id__in=list(item_ids))
    tags = tags.select_related("tagged_by").prefetch_related("categories")
    return {tag.item_id: tag for tag in tags}


def tagged_item_ids(*, project: Project, item_ids: Sequence[int] | None = None) -> set[int]:
    """The ids of the project's tagged items (among ``item_ids``, when given)."""
    tags = DivergenceTag.objects.filter(project=project)
    if item_ids is not None:
        tags = tags.filter(item_id__in=list(item_ids))
    return set(tags.values_list("item_id", flat=True))


def tag_category_counts(*, project: Project) -> dict[int, int]:
    """Tagged items per category id."""
    rows = (
        TaxonomyCategory.objects.filter(project=project)
        .annotate(n_items=Count("tags"))
        .values_list("id", "n_items")
    )
    return {category_id: n for category_id, n in rows if n}


def labels_by_item(
    *, project: Project, item_ids: Sequence[int], label_of: Any
) -> dict[int, list[Any]]:
    """The counted labels of each item, by annotation id (one query)."""
    out: dict[int, list[Any]] = {}
    rows = (
        analysis_annotations(project=project)
        .filter(item_id__in=list(item_ids))
        .order_by("item_id", "id")
        .values_list("item_id", "value")
    )
    for item_id, value in rows:
        out.setdefault(item_id, []).append(label_of(value))
    return out


def external_ids(*, project: Project, item_ids: Sequence[int]) -> dict[int, str]:
    return dict(
        Item.objects.filter(project=project, pk__in=list(item_ids)).values_list("id", "external_id")
    )


@dataclass(frozen=True)
class TaxonomyCount:
    id: int
    group: str
    name: str
    n_items: int


@dataclass(frozen=True)
class DivergenceItem:
    item_id: int
    external_id: str
    status: str
    votes: list[Any]
    categories: list[str]
    note: str
    tagged_by: str | None


@dataclass(frozen=True)
class DivergenceReport:
    """Status counts (from the figures) with the live taxonomy distribution of the tags; with
    every diverging item (its votes, categories and note) in ``items`` for the full report."""

    status_counts: dict[str, int]
    n_with_status: int
    n_diverging: int
    n_diverging_tagged: int
    taxonomy: list[TaxonomyCount]
    items: list[DivergenceItem] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the divergence API's body); ``items`` only in the full report."""
        d: dict[str, Any] = {
            "status_counts": dict(self.status_counts),
            "n_with_status": self.n_with_status,
            "n_diverging": self.n_diverging,
            "n_diverging_tagged": self.n_diverging_tagged,
            "taxonomy": [vars(c).copy() for c in self.taxonomy],
        }
        if self.items is not None:
            d["items"] = [vars(i).copy() for i in self.items]
        return d


def divergence_summary(*, project: Project, figures: Figures | None) -> DivergenceReport:
    """Status counts (from the figures) with the live taxonomy distribution of the tags."""
    categories = taxonomy_categories(project=project)
    counts = tag_category_counts(project=project)
    divergence = figures.divergence if figures else None
    diverging = divergence.diverging_items if divergence else []
    diverging_ids = [item_id for item_id, _status in diverging]
    tagged_ids = tagged_item_ids(project=project, item_ids=diverging_ids)
    spec = get_task_type(project.task_type).divergence()
    stored = divergence.status_counts if divergence else {}
    # In the spec's order: a snapshot read back from JSONB does not keep the order of keys.
    status_counts = {status: stored.get(status, 0) for status in (spec.statuses if spec else ())}
    return DivergenceReport(
        status_counts=status_counts,
        n_with_status=divergence.n_with_status if divergence else 0,
        n_diverging=len(diverging_ids),
        n_diverging_tagged=len(tagged_ids),
        taxonomy=[
            TaxonomyCount(id=c.pk, group=c.group, name=c.name, n_items=counts.get(c.pk, 0))
            for c in categories
        ],
    )


def divergence_report(*, project: Project, figures: Figures) -> DivergenceReport:
    """The divergence summary with every diverging item: status, votes, categories, note."""
    summary = divergence_summary(project=project, figures=figures)
    rows = figures.divergence.diverging_items if figures.divergence else []
    item_ids = [item_id for item_id, _status in rows]
    plugin = get_task_type(project.task_type)
    votes = labels_by_item(project=project, item_ids=item_ids, label_of=plugin.label_of)
    external = external_ids(project=project, item_ids=item_ids)
    tags = tags_by_item(project=project, item_ids=item_ids)
    items = []
    for item_id, status in rows:
        tag = tags.get(item_id)
        items.append(
            DivergenceItem(
                item_id=item_id,
                external_id=external.get(item_id, ""),
                status=status,
                votes=votes.get(item_id, []),
                categories=[f"{c.group} / {c.name}" for c in tag.categories.all()] if tag else [],
                note=tag.note if tag else "",
                tagged_by=tag.tagged_by.username if tag and tag.tagged_by else None,
            )
        )
    return replace(summary, items=items)


def taxonomy_rows(*, project: Project) -> list[tuple[TaxonomyCategory, int]]:
    """The taxonomy page's rows: each category with its number of tagged items. Before the
    taxonomy is first saved, the task type's default, unsaved (a GET writes nothing)."""
    categories = taxonomy_categories(project=project) or taxonomy_default(project=project)
    counts = tag_category_counts(project=project)
    return [(c, counts.get(c.pk, 0) if c.pk else 0) for c in categories]

"""Reads of the divergence review: the taxonomy, the leads' tags, and the divergence summary and
report, which put the cached figures' statuses together with the live tags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from annotate.models import Item, Project
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import DivergenceSpec
from core.errors import FieldError, InvalidInput

from .. import suggestions
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
    """One item of the divergence report: its status (``None`` under two votes), its counted
    votes, its tag (categories as ``group / name`` and ids, note, who tagged it) and the cheap
    suggestion signals that fire on it, each with its evidence."""

    item_id: int
    external_id: str
    status: str | None
    votes: list[Any]
    categories: list[str]
    note: str
    tagged_by: str | None
    category_ids: list[int] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DivergenceReport:
    """Status counts (from the figures) with the live taxonomy distribution of the tags; with
    the items (every item, or those of some statuses; a page of them in the API) in ``items``."""

    status_counts: dict[str, int]
    n_with_status: int
    n_diverging: int
    n_diverging_tagged: int
    taxonomy: list[TaxonomyCount]
    n_too_few_votes: int = 0
    items: list[DivergenceItem] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the divergence API's body); ``items`` only in the full report."""
        d: dict[str, Any] = {
            "status_counts": dict(self.status_counts),
            "n_with_status": self.n_with_status,
            "n_too_few_votes": self.n_too_few_votes,
            "n_diverging": self.n_diverging,
            "n_diverging_tagged": self.n_diverging_tagged,
            "taxonomy": [vars(c).copy() for c in self.taxonomy],
        }
        if self.items is not None:
            d["items"] = [vars(i).copy() for i in self.items]
        return d


NO_STATUS = "none"
"""The ``status`` filter's name for items without a status (fewer than two votes)."""


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
        n_too_few_votes=divergence.n_too_few_votes if divergence else 0,
        n_diverging=len(diverging_ids),
        n_diverging_tagged=len(tagged_ids),
        taxonomy=[
            TaxonomyCount(id=c.pk, group=c.group, name=c.name, n_items=counts.get(c.pk, 0))
            for c in categories
        ],
    )


def status_filter(*, project: Project, raw: Sequence[str]) -> set[str] | None:
    """The statuses asked for by ``?status=`` (repeated or comma-separated; ``none`` for items
    without a status); ``None`` when not given. ``InvalidInput`` names an unknown status."""
    wanted = {part.strip() for value in raw for part in value.split(",") if part.strip()}
    if not wanted:
        return None
    spec = get_task_type(project.task_type).divergence()
    known = [*(spec.statuses if spec else ()), NO_STATUS]
    unknown = sorted(wanted - set(known))
    if unknown:
        raise InvalidInput(
            f"status must be one of {', '.join(known)}",
            detail=[FieldError("status", f"unknown status {name!r}") for name in unknown],
        )
    return wanted


def _ids(ids: Sequence[int]) -> RawSQL | list[int]:
    """A list of ids as one array parameter on PostgreSQL (no limit on their number); a plain
    list elsewhere (the SQLite demo)."""
    if connection.vendor != "postgresql":
        return list(ids)
    return RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])


def divergence_items_queryset(
    *, project: Project, figures: Figures, statuses: set[str] | None = None
) -> QuerySet[Item]:
    """The project's items the analysis reads (gold and qualification items left out), every
    one or those of ``statuses`` (``none``: without a status), by the figures' statuses."""
    items = Item.objects.filter(project=project, is_gold=False, is_qualification=False)
    if statuses is None:
        return items
    by_status = figures.divergence.items_by_status if figures.divergence else {}
    named = [i for status in sorted(statuses - {NO_STATUS}) for i in by_status.get(status, [])]
    if NO_STATUS not in statuses:
        return items.filter(pk__in=_ids(named))
    with_status = [i for ids in by_status.values() for i in ids]
    return items.filter(Q(pk__in=_ids(named)) | ~Q(pk__in=_ids(with_status)))


def divergence_items(
    *, project: Project, figures: Figures, item_ids: Sequence[int]
) -> list[DivergenceItem]:
    """The report's rows of ``item_ids`` (in that order): status, votes, tag and suggestions."""
    plugin = get_task_type(project.task_type)
    spec = plugin.divergence()
    status_of = figures.divergence.status_of() if figures.divergence else {}
    votes = labels_by_item(project=project, item_ids=item_ids, label_of=plugin.label_of)
    items = {
        pk: (external_id, payload)
        for pk, external_id, payload in Item.objects.filter(
            project=project, pk__in=list(item_ids)
        ).values_list("id", "external_id", "payload")
    }
    tags = tags_by_item(project=project, item_ids=item_ids)
    categories = taxonomy_categories(project=project)
    out = []
    for item_id in item_ids:
        tag = tags.get(item_id)
        chosen = list(tag.categories.all()) if tag else []
        external_id, payload = items.get(item_id, ("", {}))
        out.append(
            DivergenceItem(
                item_id=item_id,
                external_id=external_id,
                status=status_of.get(item_id),
                votes=votes.get(item_id, []),
                categories=[f"{c.group} / {c.name}" for c in chosen],
                category_ids=[c.pk for c in chosen],
                note=tag.note if tag else "",
                tagged_by=tag.tagged_by.username if tag and tag.tagged_by else None,
                suggestions=payload_suggestions(spec, payload, categories),
            )
        )
    return out


def divergence_report(
    *, project: Project, figures: Figures, statuses: set[str] | None = None
) -> DivergenceReport:
    """The divergence summary with every item (of ``statuses``, when given), by id."""
    summary = divergence_summary(project=project, figures=figures)
    queryset = divergence_items_queryset(project=project, figures=figures, statuses=statuses)
    item_ids = list(queryset.order_by("id").values_list("id", flat=True))
    return replace(
        summary, items=divergence_items(project=project, figures=figures, item_ids=item_ids)
    )


def payload_suggestions(
    spec: DivergenceSpec | None,
    payload: Mapping[str, Any],
    categories: Sequence[TaxonomyCategory],
) -> list[dict[str, Any]]:
    """The cheap signals that fire on an item's payload, each with its evidence and the matching
    category of the taxonomy (``category_id`` ``None`` when the taxonomy has no such name)."""
    texts = spec.texts(payload) if spec else None
    if texts is None:
        return []
    by_name = {c.name.casefold(): c for c in categories}
    out = []
    for suggestion in suggestions.suggest(*texts):
        category = by_name.get(suggestion.category.casefold())
        out.append(
            {
                "category": suggestion.category,
                "category_id": category.pk if category else None,
                "signal": suggestion.signal,
                "evidence": suggestion.evidence,
            }
        )
    return out


def taxonomy_rows(*, project: Project) -> list[tuple[TaxonomyCategory, int]]:
    """The taxonomy page's rows: each category with its number of tagged items. Before the
    taxonomy is first saved, the task type's default, unsaved (a GET writes nothing)."""
    categories = taxonomy_categories(project=project) or taxonomy_default(project=project)
    counts = tag_category_counts(project=project)
    return [(c, counts.get(c.pk, 0) if c.pk else 0) for c in categories]


def item_in_project(*, project: Project, item_id: int) -> bool:
    return Item.objects.filter(project=project, pk=item_id).exists()

"""Reads of the review page: one item of the queue with its votes, its tag, the taxonomy as
checkboxes, and the cheap suggestion signals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annotate.models import Item, Project
from annotate.selectors import annotations_for_aggregates
from annotate.tasktypes import get_task_type
from core.errors import NotFound

from ..models import TaxonomyCategory
from .divergence import payload_suggestions, tags_by_item, taxonomy_categories


def item_votes(*, item: Item) -> list[tuple[str, Any, Any]]:
    """``(annotator username, value, shown order)`` of an item's counted annotations."""
    return list(
        annotations_for_aggregates(project=item.project)
        .filter(item=item)
        .order_by("id")
        .values_list("annotator__username", "value", "shown_order")
    )


def item_suggestions(
    *, project: Project, item: Item, categories: Sequence[TaxonomyCategory]
) -> list[dict[str, Any]]:
    """The cheap signals that fire on an item, with the matching category of the taxonomy."""
    spec = get_task_type(project.task_type).divergence()
    return payload_suggestions(spec, item.payload, categories)


def review_item_context(
    *, project: Project, queue: Sequence[tuple[int, str]], item_id: int | None
) -> dict[str, Any]:
    """What the review page shows of one item: ``item_id``, else the first of ``queue`` (the
    diverging items of the chosen list, as ``(item id, status)``); its place in the queue, its
    votes, its tag and the taxonomy as checkboxes (keys 1-9, 0 for the first ten), and the
    suggestions. Only ``n_queue`` when the queue is empty and no item is asked for."""
    spec = get_task_type(project.task_type).divergence()
    if spec is None:
        raise NotFound("this task type has no divergence review")
    ids = [i for i, _ in queue]
    context: dict[str, Any] = {"n_queue": len(ids)}
    if not ids and item_id is None:
        return context
    current = item_id if item_id is not None else ids[0]
    item = Item.objects.filter(project=project, pk=current).first()
    if item is None:
        raise NotFound("no such item")
    plugin = get_task_type(project.task_type)
    categories = taxonomy_categories(project=project)
    tag = tags_by_item(project=project, item_ids=[item.pk]).get(item.pk)
    chosen = {c.pk for c in tag.categories.all()} if tag else set()
    groups: dict[str, list[dict[str, Any]]] = {}
    for n, category in enumerate(categories):
        key = str(n + 1) if n < 9 else ("0" if n == 9 else "")
        groups.setdefault(category.group, []).append(
            {"category": category, "key": key, "checked": category.pk in chosen}
        )
    position = ids.index(item.pk) if item.pk in ids else None
    context.update(
        item=item,
        status=dict(queue).get(item.pk),
        position=position + 1 if position is not None else None,
        next_id=ids[position + 1] if position is not None and position + 1 < len(ids) else None,
        prev_id=ids[position - 1] if position is not None and position > 0 else None,
        groups=groups,
        tag=tag,
        votes=[
            {
                "annotator": name,
                "label": plugin.label_of(value),
                "position": plugin.position_pick(value, shown or {}),
            }
            for name, value, shown in item_votes(item=item)
        ],
        suggestions=item_suggestions(project=project, item=item, categories=categories),
        review_template=spec.review_template,
        payload=item.payload,
    )
    return context

"""Adaptive overlap (SPEC 3, HelpSteer2's collection rule): more annotations for an item whose
first labels disagree. An item's target is ``project.overlap + item.extra_overlap``.

The rule: once an ordinary item has its first ``k`` labels (``project.adaptive_first_k``, the
overlap when unset), the task type decides whether they disagree (``TaskType.labels_disagree``:
a preference's spread of votes above ``project.adaptive_threshold`` points, a nominal primary
field not unanimous); if they do, the item's ``extra_overlap`` becomes ``project.adaptive_extra``.
Only the first ``k`` labels (by creation time) count, so the labels the extension brings never
decide it again; the extra is never shrunk. An extended item is open again: the assignment engine
serves it under the same locks and constraints as any other (never over its target, never twice
to one annotator).

Three entry points: ``adaptive_extend`` in the submit transaction (the item row locked), and
``adaptive_extend_items`` after a labels import and after a change of the settings, set-based.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from annotate.models import Annotation, Item, Project
from annotate.tasktypes import get_task_type

CHUNK = 1000
"""Items decided per round trip by ``adaptive_extend_items``."""


def adaptive_first_k(project: Project) -> int:
    """How many first labels adaptive overlap compares: the setting, else the overlap."""
    return project.adaptive_first_k or project.overlap


def adaptive_extend(*, project: Project, item_id: int) -> None:
    """Called in the submit transaction after a new annotation is stored on an ordinary item (the
    item row locked): raise the item's target when its first labels disagree. Costs no query for a
    project without the option, and one for every submit but the ``k``-th of an item."""
    extra = project.adaptive_extra
    if not extra:
        return
    k = adaptive_first_k(project)
    state = Item.objects.filter(pk=item_id).values("n_submitted", "extra_overlap").first()
    if state is None or state["n_submitted"] != k or state["extra_overlap"] >= extra:
        return
    values = list(
        Annotation.objects.filter(item_id=item_id)
        .order_by("created_at", "id")
        .values_list("value", flat=True)[:k]
    )
    payload = Item.objects.filter(pk=item_id).values_list("payload", flat=True).get()
    if _disagree(project, values, payload, k=k):
        Item.objects.filter(pk=item_id, extra_overlap__lt=extra).update(extra_overlap=extra)


def adaptive_extend_items(*, project: Project, item_ids: Iterable[int] | None = None) -> int:
    """Apply the rule to ``project``'s ordinary items (those of ``item_ids`` when given) that
    have their first ``k`` labels and are not extended yet: after a labels import (the imported
    labels count as any others, by their creation time) or a change of the settings. Returns
    how many items it extended. Run it in the writer's transaction: items it extends are locked
    until the commit, so a concurrent submit waits for it."""
    extra = project.adaptive_extra
    if not extra:
        return 0
    k = adaptive_first_k(project)
    candidates = Item.objects.filter(
        project=project,
        is_gold=False,
        is_qualification=False,
        n_submitted__gte=k,
        extra_overlap__lt=extra,
    ).order_by("pk")
    if item_ids is None:
        ids = list(candidates.values_list("pk", flat=True))
    else:
        wanted = sorted(set(item_ids))
        ids = []
        for start in range(0, len(wanted), CHUNK):
            ids += candidates.filter(pk__in=wanted[start : start + CHUNK]).values_list(
                "pk", flat=True
            )
    n_extended = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        first = (
            Annotation.objects.filter(item_id__in=chunk)
            .annotate(
                position=Window(
                    RowNumber(),
                    partition_by=[F("item_id")],
                    order_by=[F("created_at").asc(), F("id").asc()],
                )
            )
            .filter(position__lte=k)
            .values_list("item_id", "value")
        )
        labels: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
        for item_id, value in first:
            labels[item_id].append(value)
        payloads = dict(Item.objects.filter(pk__in=chunk).values_list("pk", "payload"))
        extend = [
            item_id
            for item_id, values in labels.items()
            if _disagree(project, values, payloads[item_id], k=k)
        ]
        n_extended += Item.objects.filter(pk__in=extend, extra_overlap__lt=extra).update(
            extra_overlap=extra
        )
    return n_extended


def _disagree(
    project: Project, values: Sequence[Mapping[str, Any]], payload: Mapping[str, Any], *, k: int
) -> bool:
    if len(values) < k:
        return False
    plugin = get_task_type(project.task_type)
    return plugin.labels_disagree(
        values, payload=payload, threshold=project.adaptive_threshold, config=project.config
    )

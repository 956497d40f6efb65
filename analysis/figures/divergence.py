"""Each item's agreement status from its votes (the task type's rule), and the counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from annotate.tasktypes.base import MIN_VOTES_FOR_STATUS, DivergenceSpec

from ..selectors.reliability import FieldData
from .types import DivergenceFigures

__all__ = ["MIN_VOTES_FOR_STATUS", "divergence_figures", "item_statuses"]


def item_statuses(plugin: Any, fd: FieldData, *, config: Any = None) -> list[str | None]:
    """The agreement status of every item (column) from its votes, by the task type's
    ``item_status`` (``None`` under ``MIN_VOTES_FOR_STATUS`` votes, as in the exports). Items are
    grouped by their vote counts, so the status function runs once per distinct pattern."""
    data = fd.data
    if data.size == 0:
        return []
    present = ~np.isnan(data)
    domain = np.unique(data[present])
    counts = np.stack([(data == value).sum(axis=0) for value in domain], axis=1)
    patterns, inverse = np.unique(counts, axis=0, return_inverse=True)
    statuses: list[str | None] = []
    for pattern in patterns:
        votes = [int(value) for value, n in zip(domain, pattern, strict=True) for _ in range(n)]
        statuses.append(plugin.item_status(votes, config=config))
    return [statuses[i] for i in np.asarray(inverse).ravel()]


def divergence_figures(
    spec: DivergenceSpec, statuses: Sequence[str | None], item_ids: np.ndarray
) -> DivergenceFigures:
    counts = Counter(s for s in statuses if s is not None)
    by_status: dict[str, list[int]] = {status: [] for status in spec.statuses}
    for item_id, status in zip(item_ids, statuses, strict=True):
        if status is not None:
            by_status.setdefault(status, []).append(int(item_id))
    return DivergenceFigures(
        status_counts={status: counts.get(status, 0) for status in spec.statuses},
        n_with_status=sum(counts.values()),
        n_too_few_votes=sum(1 for s in statuses if s is None),
        diverging_items=[
            (int(item_id), status)
            for item_id, status in zip(item_ids, statuses, strict=True)
            if status in spec.diverging
        ],
        items_by_status={status: sorted(ids) for status, ids in by_status.items()},
    )

"""Each item's agreement status from its votes (the task type's rule), and the counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from annotate.tasktypes.base import DivergenceSpec

from ..selectors.reliability import FieldData
from .types import DivergenceFigures

MIN_VOTES_FOR_STATUS = 2
"""Items need at least this many counted votes to get an agreement status: one vote cannot
diverge, and would count as high agreement."""


def item_statuses(plugin: Any, fd: FieldData, *, config: Any = None) -> list[str | None]:
    """The agreement status of every item (column) from its votes; ``None`` under
    ``MIN_VOTES_FOR_STATUS`` votes. Items are grouped by their vote counts, so the status function
    runs once per distinct pattern, not once per item."""
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
        statuses.append(
            plugin.agreement_status(votes, config=config)
            if len(votes) >= MIN_VOTES_FOR_STATUS
            else None
        )
    return [statuses[i] for i in np.asarray(inverse).ravel()]


def divergence_figures(
    spec: DivergenceSpec, statuses: Sequence[str | None], item_ids: np.ndarray
) -> DivergenceFigures:
    counts = Counter(s for s in statuses if s is not None)
    return DivergenceFigures(
        status_counts={status: counts.get(status, 0) for status in spec.statuses},
        n_with_status=sum(counts.values()),
        n_too_few_votes=sum(1 for s in statuses if s is None),
        diverging_items=[
            (int(item_id), status)
            for item_id, status in zip(item_ids, statuses, strict=True)
            if status in spec.diverging
        ],
    )

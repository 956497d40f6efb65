"""Each item's agreement status from its votes (the task type's rule), and the counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from annotate.tasktypes.base import MIN_VOTES_FOR_STATUS, DivergenceSpec

from ..selectors.reliability import FieldData
from .types import DivergenceFigures

__all__ = [
    "MIN_VOTES_FOR_STATUS",
    "divergence_figures",
    "divergence_figures_of_codes",
    "item_status_codes",
    "item_statuses",
    "statuses_of_codes",
]


def item_statuses(plugin: Any, fd: FieldData, *, config: Any = None) -> list[str | None]:
    """The agreement status of every item (column) from its votes, by the task type's
    ``item_status`` (``None`` under ``MIN_VOTES_FOR_STATUS`` votes, as in the exports). Items are
    grouped by their vote counts, so the status function runs once per distinct pattern."""
    codes, names = item_status_codes(plugin, fd, config=config)
    return statuses_of_codes(codes, names)


def item_status_codes(
    plugin: Any, fd: FieldData, *, config: Any = None
) -> tuple[np.ndarray, list[str | None]]:
    """``item_statuses`` as codes into names: ``None`` first, then the statuses in the order of
    the first item that has each (no Python object per item)."""
    data = fd.data
    if data.size == 0:
        return np.zeros(0, dtype=np.int64), [None]
    present = ~np.isnan(data)
    domain = np.unique(data[present])
    counts = np.stack([(data == value).sum(axis=0) for value in domain], axis=1)
    patterns, inverse = _unique_rows(counts, base=data.shape[0] + 1)
    statuses: list[str | None] = []
    for pattern in patterns:
        votes = [int(value) for value, n in zip(domain, pattern, strict=True) for _ in range(n)]
        statuses.append(plugin.item_status(votes, config=config))
    # The first item of each pattern, so the statuses are numbered in the items' order.
    first = np.full(len(patterns), inverse.size, dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(inverse.size, dtype=np.int64))
    code_of: dict[str | None, int] = {None: 0}
    for n in np.argsort(first, kind="stable"):
        code_of.setdefault(statuses[n], len(code_of))
    pattern_code = np.array([code_of[s] for s in statuses], dtype=np.int64)
    return pattern_code[inverse], list(code_of)


def statuses_of_codes(codes: np.ndarray, names: Sequence[str | None]) -> list[str | None]:
    """Each item's status from its code into ``names``."""
    return _objects(names)[codes].tolist()


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _unique_rows(counts: np.ndarray, *, base: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``counts`` (non-negative, each under ``base``) and each row's index
    among them. Each row is read as one number in base ``base`` when that fits in 63 bits (a
    one-dimensional ``unique``, much faster than ``unique(axis=0)``); the same rows either way,
    in the same (lexicographic) order."""
    n_columns = counts.shape[1]
    if n_columns * math.log2(base) < 62:
        weights = base ** np.arange(n_columns - 1, -1, -1, dtype=np.int64)
        _keys, first, inverse = np.unique(
            counts.astype(np.int64) @ weights, return_index=True, return_inverse=True
        )
        return counts[first], np.asarray(inverse).ravel()
    patterns, inverse = np.unique(counts, axis=0, return_inverse=True)
    return patterns, np.asarray(inverse).ravel()


def divergence_figures(
    spec: DivergenceSpec, statuses: Sequence[str | None], item_ids: np.ndarray
) -> DivergenceFigures:
    if len(statuses) != len(item_ids):
        raise ValueError("one status per item")
    # Each item's status as a code into ``names`` (None first, then in order of occurrence).
    code_of: dict[str | None, int] = {None: 0}
    codes = np.fromiter(
        (code_of.setdefault(s, len(code_of)) for s in statuses), dtype=np.int64, count=len(statuses)
    )
    return divergence_figures_of_codes(spec, codes, list(code_of), item_ids)


def divergence_figures_of_codes(
    spec: DivergenceSpec, codes: np.ndarray, names: Sequence[str | None], item_ids: np.ndarray
) -> DivergenceFigures:
    """``divergence_figures`` of each item's status as a code into ``names`` (``None`` first,
    then in the order of the first item that has each, as ``item_status_codes`` gives them)."""
    if len(codes) != len(item_ids):
        raise ValueError("one status per item")
    n_of = np.bincount(codes, minlength=len(names))
    ids = np.asarray(item_ids, dtype=np.int64)
    by_status: dict[str, list[int]] = {status: [] for status in spec.statuses}
    for code, status in enumerate(names):
        if status is not None and n_of[code]:
            by_status[status] = np.sort(ids[codes == code]).tolist()
    diverging = np.isin(codes, [code for code, s in enumerate(names) if s in spec.diverging])
    n_with = {status: int(n_of[code]) for code, status in enumerate(names)}
    return DivergenceFigures(
        status_counts={status: n_with.get(status, 0) for status in spec.statuses},
        n_with_status=int(n_of[1:].sum()),
        n_too_few_votes=int(n_of[0]),
        diverging_items=list(
            zip(ids[diverging].tolist(), _objects(names)[codes[diverging]].tolist(), strict=True)
        ),
        items_by_status=by_status,
    )

"""Area under the ROC curve through the Mann-Whitney U statistic (ties count one half)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata


@dataclass(frozen=True)
class AurocResult:
    """AUROC = P(score of a positive > score of a negative) + P(equal) / 2.

    ``auroc`` is ``None`` with ``reason`` when one class is absent. Units with a NaN score are left
    out and counted in ``n_dropped``.
    """

    auroc: float | None
    reason: str | None
    n_positive: int
    n_negative: int
    n_dropped: int


def auroc(scores: npt.ArrayLike, positive: npt.ArrayLike) -> AurocResult:
    """AUROC of ``scores`` for telling ``positive`` (truthy) units from the others.

    Higher scores should mean "more likely positive"; pass the negated score otherwise.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(positive).reshape(-1)
    if s.shape != y.shape:
        raise ValueError("scores and positive must have the same length")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError("positive must not contain NaN")
    y_bool = y.astype(bool)
    if np.isinf(s).any():
        raise ValueError("scores must be finite (NaN marks a missing score)")
    keep = ~np.isnan(s)
    n_dropped = int((~keep).sum())
    s, y_bool = s[keep], y_bool[keep]
    n_pos = int(y_bool.sum())
    n_neg = int(y_bool.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        missing = "positive" if n_pos == 0 else "negative"
        return AurocResult(
            None, f"no {missing} units: AUROC needs both classes", n_pos, n_neg, n_dropped
        )
    ranks = rankdata(s)  # average ranks for ties
    u = float(ranks[y_bool].sum()) - n_pos * (n_pos + 1) / 2.0
    return AurocResult(u / (n_pos * n_neg), None, n_pos, n_neg, n_dropped)

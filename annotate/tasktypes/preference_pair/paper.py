"""A model's accuracy against the human majority side of each preference pair.

The humans' side of a pair is the majority of their votes' sides (``stats.preference.
vote_meaning`` on the project's scale: A, tie or B), the side given strictly more often than any
other; a pair whose sides tie for the most (2 for A, 2 for B; or 1 A, 1 tie, 1 B) has no majority
and is left out, counted in ``n_no_majority``. A tie is a side like A and B: a model is right on a
tie-majority pair only when it predicts a tie. The model's side is the side of its prediction's
``preference``; a prediction without one (score-only) counts as wrong (in ``n`` and
``n_unanswered``) and is counted in ``n_without_side``.

``model_metrics`` returns::

    {"accuracy": float | None, "n": int, "correct": int, "n_unanswered": int, "reason"?: str,
     # the same restricted to pairs whose majority is A or B (a tie predicted there is wrong)
     "decisive": {"accuracy", "n", "correct", "n_unanswered", "reason"?},
     "n_no_majority": int,      # predicted pairs with votes whose sides tie
     "n_without_side": int,     # predictions with no ``preference``
     "confusion": {human side: {model side: n}}}   # sides "A", "tie", "B"; pairs with a majority
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from stats.accuracy import accuracy, confusion, plurality
from stats.preference import vote_meaning

from ..base import MetricsData, RunPrediction
from .schemas import scale_of

SIDES = {-1: "A", 0: "tie", 1: "B"}


def _side(vote: Any, scale: int) -> str | None:
    """``A``, ``tie`` or ``B`` for a vote on the scale (the 7-point scale when the vote is off
    the project's, as a model's may be); ``None`` for anything else."""
    if isinstance(vote, bool) or not isinstance(vote, int):
        return None
    for points in (scale, 7):
        try:
            return SIDES[vote_meaning(vote, points).side]
        except ValueError:
            continue
    return None


def model_metrics(data: MetricsData, predictions: Sequence[RunPrediction]) -> dict[str, Any]:
    """Accuracy of one run against the human majority side (module docstring)."""
    scale = scale_of(data.config)
    humans = data.human_values()
    pairs: list[tuple[Hashable | None, Hashable]] = []
    no_majority = without_side = 0
    for prediction in predictions:
        values = humans.get(prediction.item_id)
        if not values:
            continue
        majority = plurality([_side(v.get("preference"), scale) for v in values])
        if majority is None:
            no_majority += 1
            continue
        model_side = _side((prediction.value or {}).get("preference"), scale)
        without_side += model_side is None
        pairs.append((model_side, majority))
    return accuracy(pairs).as_dict() | {
        "decisive": accuracy((a, t) for a, t in pairs if t != "tie").as_dict(),
        "n_no_majority": no_majority,
        "n_without_side": without_side,
        "confusion": confusion([(a, t) for a, t in pairs if a is not None], list(SIDES.values())),
    }

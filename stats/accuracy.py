"""Accuracy with its counts, the strict plurality of a list of labels, and a confusion table.

Labels are any hashable values (strings, ints); ``None`` is "no answer". Pure functions, no
Django, no NumPy needed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Accuracy:
    """``correct / n``; ``accuracy`` is ``None`` with ``reason`` when ``n`` is 0.

    ``n`` counts every pair with a truth, ``correct`` those whose answer equals it; an answer of
    ``None`` (no answer) is counted in ``n`` and as wrong (as SimpleToM's ``acc`` counts an
    answer that does not parse), and separately in ``n_unanswered``.
    """

    accuracy: float | None
    n: int
    correct: int
    n_unanswered: int
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accuracy": self.accuracy,
            "n": self.n,
            "correct": self.correct,
            "n_unanswered": self.n_unanswered,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


def accuracy(pairs: Iterable[tuple[Hashable | None, Hashable]]) -> Accuracy:
    """Accuracy of ``(answer, truth)`` pairs. Pairs whose truth is ``None`` are left out."""
    n = correct = unanswered = 0
    for answer, truth in pairs:
        if truth is None:
            continue
        n += 1
        if answer is None:
            unanswered += 1
        elif answer == truth:
            correct += 1
    if n == 0:
        return Accuracy(None, 0, 0, 0, reason="nothing to compare")
    return Accuracy(correct / n, n, correct, unanswered)


def plurality(labels: Sequence[Hashable | None]) -> Hashable | None:
    """The label given strictly more often than any other; ``None`` on a tie for the most votes
    or when there are no labels (``None`` labels are left out)."""
    counts = Counter(label for label in labels if label is not None)
    if not counts:
        return None
    (top, n_top), *rest = counts.most_common()
    if rest and rest[0][1] == n_top:
        return None
    return top


def confusion(
    pairs: Iterable[tuple[Hashable, Hashable]], categories: Sequence[Hashable]
) -> dict[str, dict[str, int]]:
    """``{truth: {answer: n}}`` over ``categories`` (as strings, every cell present); pairs with a
    value outside ``categories`` are left out."""
    table = {str(t): {str(a): 0 for a in categories} for t in categories}
    known = set(categories)
    for answer, truth in pairs:
        if answer in known and truth in known:
            table[str(truth)][str(answer)] += 1
    return table

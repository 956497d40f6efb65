"""Accuracy with its counts, overall and per group (a negative set, a question kind).

Input: one boolean per answer (right or not) and the answer's group. Accuracy is ``None`` for no
answers (a group cannot be empty, so only the overall figure can be).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Accuracy:
    n: int
    n_correct: int

    @property
    def accuracy(self) -> float | None:
        return self.n_correct / self.n if self.n else None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"accuracy": self.accuracy, "n": self.n, "n_correct": self.n_correct}


@dataclass(frozen=True)
class GroupedAccuracy:
    overall: Accuracy
    groups: dict[Hashable, Accuracy]
    """Per group, in the groups' sorted order (by their text)."""


def accuracy_by_group(
    correct: Sequence[bool], groups: Sequence[Hashable | None]
) -> GroupedAccuracy:
    """Accuracy of all answers, and of each group's; answers whose group is ``None`` count in the
    overall figure only."""
    if len(correct) != len(groups):
        raise ValueError("correct and groups must have the same length")
    counts: dict[Hashable, list[int]] = {}
    for right, group in zip(correct, groups, strict=True):
        if group is None:
            continue
        cell = counts.setdefault(group, [0, 0])
        cell[0] += 1
        cell[1] += bool(right)
    return GroupedAccuracy(
        overall=Accuracy(len(correct), sum(bool(c) for c in correct)),
        groups={g: Accuracy(*counts[g]) for g in sorted(counts, key=str)},
    )

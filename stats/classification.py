"""Binary classification against a reference: the confusion counts, precision, recall, F1 and
accuracy, with a reason for each rate that is not defined (zero division), and the mean absolute
distance between predicted and reference positions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any


@dataclass(frozen=True)
class BinaryScores:
    """Confusion counts of predictions against a reference (positive = ``True``) and the rates:

    precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2 TP / (2 TP + FP + FN) (the
    harmonic mean of the two, and 0 when one of them is 0), accuracy = (TP + TN) / n. A rate whose
    denominator is 0 is ``None``, with its reason in ``reasons`` (scikit-learn's
    ``zero_division=nan``)."""

    tp: int
    fp: int
    fn: int
    tn: int
    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float | None
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the rates, ``n``, the four counts and ``reasons`` (empty when all hold)."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "accuracy": self.accuracy,
            "n": self.n,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "reasons": dict(self.reasons),
        }


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def binary_scores(y_true: Sequence[bool], y_pred: Sequence[bool]) -> BinaryScores:
    """Precision, recall, F1 and accuracy of ``y_pred`` against ``y_true`` (same length)."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels and y_pred {len(y_pred)}")
    tp = fp = fn = tn = 0
    for truth, guess in zip(y_true, y_pred, strict=True):
        if guess:
            tp, fp = (tp + 1, fp) if truth else (tp, fp + 1)
        else:
            fn, tn = (fn + 1, tn) if truth else (fn, tn + 1)
    reasons = {}
    if tp + fp + fn + tn == 0:
        reasons = dict.fromkeys(("precision", "recall", "f1", "accuracy"), "nothing to compare")
    elif tp + fp == 0:
        reasons["precision"] = "no positive prediction"
    if tp + fn == 0 and not reasons.get("recall"):
        reasons["recall"] = "no positive in the reference"
    if tp + fp + fn == 0 and not reasons.get("f1"):
        reasons["f1"] = "no positive in the predictions or the reference"
    return BinaryScores(
        tp=tp,
        fp=fp,
        fn=fn,
        tn=tn,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        accuracy=_ratio(tp + tn, tp + fp + fn + tn),
        reasons=reasons,
    )


def at_threshold(scores: Sequence[float], threshold: float) -> list[bool]:
    """Positive where the score reaches the threshold (``score >= threshold``, as the derailment
    paper's ``IF(p>=0.5,1,0)``)."""
    return [score >= threshold for score in scores]


def position_distance(predicted: Sequence[float], reference: Sequence[float]) -> dict[str, Any]:
    """Absolute distances between predicted and reference positions (pairs, NaN-free): their
    mean and median, the share of exact hits and ``n``; ``None`` with a reason when no pair."""
    if len(predicted) != len(reference):
        raise ValueError(f"{len(predicted)} predicted and {len(reference)} reference positions")
    distances = [
        abs(p - r)
        for p, r in zip(predicted, reference, strict=True)
        if not (math.isnan(p) or math.isnan(r))
    ]
    if not distances:
        return {
            "mean_abs": None,
            "median_abs": None,
            "exact_share": None,
            "n": 0,
            "reason": "no item with both a predicted and a reference point",
        }
    return {
        "mean_abs": sum(distances) / len(distances),
        "median_abs": float(median(distances)),
        "exact_share": sum(d == 0 for d in distances) / len(distances),
        "n": len(distances),
    }

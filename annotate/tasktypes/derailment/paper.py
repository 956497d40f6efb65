"""``derailment``: the derailment paper's metrics of a model run (Imran et al., 2025, Table 4:
precision, recall and F1 of "derails to toxicity" at a threshold), ``Derailment.model_metrics``.

A prediction's label is ``score >= threshold`` (``score`` = P(the thread derails to toxicity);
``threshold`` from the project's ``config.threshold``, default 0.5); a prediction without a score
falls back on its value's ``toxic``. Its derailment point is the first comment whose prefix score
reaches the threshold (``details.prefix_scores`` of the per-prefix predictor), else its value's
``derailment_comment``; score-only predictions (the ``ltm`` adapter) have none.

``model_metrics`` returns (the contract read by the dashboard, the CSV and the paper view)::

    {
      "threshold": 0.5,
      "n_predictions": 200,            # predictions of the run
      "n_unlabelled": 0,               # predictions with neither a score nor a value's toxic
      "vs_reference": SCORES,          # against the item's reference label (reference.value.toxic)
      "vs_file_label": SCORES,         # against details.true_label (only when some carry one)
      "vs_majority": SCORES,           # against the humans' majority on toxic (ties left out)
      "point_distance": {
        "unit": "comments",
        "vs_humans": DISTANCE,         # to the median of the humans' derailment points
        "vs_reference": DISTANCE,      # to the reference label's derailment point
      },
    }

``SCORES`` is ``stats.classification.BinaryScores.as_dict()`` (``precision``, ``recall``, ``f1``,
``accuracy``: float or ``None``; ``n``, ``tp``, ``fp``, ``fn``, ``tn``; ``reasons``: why a rate
is ``None``) plus ``n_left_out``: labelled predictions on items with no such reference (no
reference label; no human label or a tie). ``DISTANCE`` is
``stats.classification.position_distance`` (``mean_abs``, ``median_abs``, ``exact_share``, ``n``,
and ``reason`` when ``n`` is 0): absolute differences of comment positions, over the items where
the model predicts a point and the reference (humans: at least one annotator) gives one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

from stats.classification import binary_scores, position_distance

from ..base import MetricsData, RunPrediction
from .schemas import DEFAULT_THRESHOLD


def _threshold(config: Mapping[str, Any]) -> float:
    return float(config.get("threshold", DEFAULT_THRESHOLD))


def predicted_label(prediction: RunPrediction, threshold: float) -> bool | None:
    if prediction.score is not None:
        return prediction.score >= threshold
    toxic = prediction.value.get("toxic")
    return toxic if isinstance(toxic, bool) else None


def predicted_point(prediction: RunPrediction, threshold: float) -> str | None:
    """The predicted derailment point's comment id; ``None``: no point (never, or not given)."""
    prefixes = prediction.details.get("prefix_scores")
    if isinstance(prefixes, list) and prefixes:
        return next(
            (
                str(p.get("comment"))
                for p in prefixes
                if isinstance(p, Mapping) and isinstance(p.get("p"), int | float)
                if p["p"] >= threshold
            ),
            None,
        )
    point = prediction.value.get("derailment_comment")
    return str(point) if point is not None else None


def _position(payload: Mapping[str, Any], comment_id: str | None) -> float:
    if comment_id is None:
        return math.nan
    for index, comment in enumerate(payload.get("comments", [])):
        if str(comment.get("id")) == comment_id:
            return float(index)
    return math.nan


def _majority(values: Sequence[Mapping[str, Any]]) -> bool | None:
    yes = sum(1 for v in values if v.get("toxic") is True)
    no = sum(1 for v in values if v.get("toxic") is False)
    return None if yes == no else yes > no


def _scores(pairs: list[tuple[bool, bool]], n_left_out: int) -> dict[str, Any]:
    scores = binary_scores([t for t, _p in pairs], [p for _t, p in pairs]).as_dict()
    return {**scores, "n_left_out": n_left_out}


def model_metrics(data: MetricsData, predictions: Sequence[RunPrediction]) -> dict[str, Any]:
    """The run's figures (see the module's docstring for the keys)."""
    threshold = _threshold(data.config)
    payloads = data.payloads()
    humans = data.human_values()
    vs_reference: list[tuple[bool, bool]] = []
    vs_file: list[tuple[bool, bool]] = []
    vs_majority: list[tuple[bool, bool]] = []
    left_out = {"reference": 0, "file": 0, "majority": 0}
    any_file_label = False
    unlabelled = 0
    points: dict[str, tuple[list[float], list[float]]] = {
        "vs_humans": ([], []),
        "vs_reference": ([], []),
    }
    for prediction in predictions:
        payload = payloads.get(prediction.item_id, {})
        reference = (payload.get("reference") or {}).get("value") or {}
        label = predicted_label(prediction, threshold)
        if label is None:
            unlabelled += 1
        else:
            for pairs, truth, key in (
                (vs_reference, reference.get("toxic"), "reference"),
                (vs_file, prediction.details.get("true_label"), "file"),
                (vs_majority, _majority(humans.get(prediction.item_id, ())), "majority"),
            ):
                if isinstance(truth, bool):
                    pairs.append((truth, label))
                else:
                    left_out[key] += 1
            any_file_label = any_file_label or "true_label" in prediction.details
        point = _position(payload, predicted_point(prediction, threshold))
        if math.isnan(point):
            continue
        marked = [
            _position(payload, str(v["derailment_comment"]))
            for v in humans.get(prediction.item_id, ())
            if v.get("derailment_comment") is not None
        ]
        marked = [m for m in marked if not math.isnan(m)]
        if marked:
            points["vs_humans"][0].append(point)
            points["vs_humans"][1].append(float(median(marked)))
        reference_point = reference.get("derailment_comment")
        if reference_point is not None:
            points["vs_reference"][0].append(point)
            points["vs_reference"][1].append(_position(payload, str(reference_point)))
    figures: dict[str, Any] = {
        "threshold": threshold,
        "n_predictions": len(predictions),
        "n_unlabelled": unlabelled,
        "vs_reference": _scores(vs_reference, left_out["reference"]),
    }
    if any_file_label:
        figures["vs_file_label"] = _scores(vs_file, left_out["file"])
    figures["vs_majority"] = _scores(vs_majority, left_out["majority"])
    figures["point_distance"] = {
        "unit": "comments",
        **{name: position_distance(*pair) for name, pair in points.items()},
    }
    return figures

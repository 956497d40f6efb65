"""``derailment`` paper view: per model run, precision, recall, F1 and accuracy of "derails to
toxicity" at the project's threshold, against the items' reference labels and against the humans'
majority, and how far its predicted derailment point is from the humans' (the keys of
``paper.model_metrics``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import PaperTable

SCORES = ("precision", "recall", "f1", "accuracy", "n")


def _scores(metrics: Mapping[str, Any], key: str) -> list[Any]:
    scores = metrics.get(key) or {}
    return [scores.get(name) for name in SCORES]


def paper_tables(figures: Mapping[str, Any]) -> list[PaperTable]:
    reference, majority, distance = [], [], []
    for model in figures.get("models") or []:
        metrics = model.get("metrics") or {}
        name = model["model_name"]
        threshold = metrics.get("threshold")
        reference.append([name, threshold, *_scores(metrics, "vs_reference")])
        majority.append([name, threshold, *_scores(metrics, "vs_majority")])
        points = (metrics.get("point_distance") or {}).get("vs_humans") or {}
        distance.append(
            [name, points.get("mean_abs"), points.get("median_abs"), points.get("exact_share")]
            + [points.get("n")]
        )
    columns = ["Model", "Threshold", "Precision", "Recall", "F1", "Accuracy", "Threads"]
    return [
        PaperTable(
            key="vs_reference",
            title="Derailment to toxicity: models against the reference labels",
            caption=(
                "Per model run: precision, recall and F1 of the positive class (the thread "
                "derails to toxicity) and accuracy, predicting positive when P(derails) reaches "
                "the threshold; against the labels imported with the threads."
            ),
            columns=columns,
            rows=reference,
            notes=["Threads without a reference label are left out."],
        ),
        PaperTable(
            key="vs_majority",
            title="Derailment to toxicity: models against the human majority",
            caption="The same scores against the annotators' majority (ties left out).",
            columns=columns,
            rows=majority,
        ),
        PaperTable(
            key="point_distance",
            title="Predicted derailment point against the humans'",
            caption=(
                "Distance in comments between the model's derailment point (the first prefix "
                "whose score reaches the threshold) and the humans' median point."
            ),
            columns=["Model", "Mean |distance|", "Median |distance|", "Exact share", "Threads"],
            rows=distance,
        ),
    ]

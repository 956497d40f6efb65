"""``visual_argument`` paper view: VisArgs's tables (Chung et al., 2024): premise identification
accuracy per negative set for the humans and every model, and localization of visual premises
(hit rate at IoU >= 0.5, mean IoU) — the keys of ``paper.paper_figures`` and
``paper.model_metrics``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import PaperTable

ALL = "All"


def _by_set(identification: Mapping[str, Any], part: str | None = None) -> dict[str, Any]:
    """Accuracy per negative set and over all of them; ``part="majority"``: the majority
    answer's."""

    def accuracy(figure: Mapping[str, Any]) -> Any:
        return (figure.get(part) or {}).get("accuracy") if part else figure.get("accuracy")

    per_set = {
        str(row.get("negative_set")): accuracy(row)
        for row in identification.get("by_negative_set") or []
    }
    return {**per_set, ALL: accuracy(identification)}


def _localization_row(who: str, localization: Mapping[str, Any]) -> list[Any]:
    return [
        who,
        localization.get("hit_rate"),
        localization.get("mean_iou"),
        localization.get("n_reference_boxes"),
        localization.get("n_items"),
    ]


def paper_tables(figures: Mapping[str, Any]) -> list[PaperTable]:
    humans = figures.get("paper") or {}
    who_rows: list[tuple[str, dict[str, Any]]] = []
    localization_rows: list[list[Any]] = []
    if humans.get("identification"):
        who_rows.append(("Humans (every answer)", _by_set(humans["identification"])))
        who_rows.append(("Humans (majority answer)", _by_set(humans["identification"], "majority")))
    if humans.get("localization"):
        localization_rows.append(_localization_row("Humans", humans["localization"]))
    for model in figures.get("models") or []:
        metrics = model.get("metrics") or {}
        if metrics.get("identification"):
            who_rows.append((model["model_name"], _by_set(metrics["identification"])))
        if metrics.get("localization"):
            localization_rows.append(
                _localization_row(model["model_name"], metrics["localization"])
            )
    sets = sorted({name for _, row in who_rows for name in row if name != ALL})
    tables = []
    if who_rows:
        tables.append(
            PaperTable(
                key="identification",
                title="Premise identification accuracy per negative set",
                caption=(
                    "VisArgs (Chung et al., 2024) layout: accuracy of the chosen premise against "
                    "the reference answer, per negative set and over all of them."
                ),
                columns=["Who", *sets, ALL],
                rows=[[who, *[row.get(s) for s in sets], row.get(ALL)] for who, row in who_rows],
            )
        )
    if localization_rows:
        tables.append(
            PaperTable(
                key="localization",
                title="Localization of visual premises",
                caption=(
                    "Share of reference boxes matched at IoU >= 0.5 (hit rate) and the mean IoU "
                    "of the one-to-one matches."
                ),
                columns=["Who", "Hit rate", "Mean IoU", "Reference boxes", "Items"],
                rows=localization_rows,
            )
        )
    return tables

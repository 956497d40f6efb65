"""``tom`` paper view: SimpleToM's table, accuracy against gold per question kind (mental state,
behaviour, judgment) for the humans and for every model, with each model's ``na_frac`` (the keys
of ``paper.paper_figures`` and ``paper.model_metrics``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import PaperTable
from .schemas import KIND_LABELS, KINDS

OVERALL = "overall"


def _acc(figure: Mapping[str, Any] | None) -> Any:
    return (figure or {}).get("accuracy")


def paper_tables(figures: Mapping[str, Any]) -> list[PaperTable]:
    humans = figures.get("paper") or {}
    per_kind = humans.get("per_kind") or {}
    overall = humans.get("overall") or {}
    rows: list[list[Any]] = []
    if per_kind:
        rows.append(
            ["Humans (every answer)"]
            + [_acc(per_kind.get(kind, {}).get("humans")) for kind in KINDS]
            + [_acc(overall.get("humans")), None]
        )
        rows.append(
            ["Humans (majority answer)"]
            + [_acc(per_kind.get(kind, {}).get("majority")) for kind in KINDS]
            + [_acc(overall.get("majority")), None]
        )
    na_rows = []
    for model in figures.get("models") or []:
        metrics = model.get("metrics") or {}
        kinds = metrics.get("per_kind") or {}
        total = metrics.get("overall") or {}
        rows.append(
            [model["model_name"]]
            + [_acc(kinds.get(kind)) for kind in KINDS]
            + [_acc(total), total.get("na_frac")]
        )
        na_rows.append(
            [model["model_name"]]
            + [(kinds.get(kind) or {}).get("na_frac") for kind in KINDS]
            + [(kinds.get(kind) or {}).get("n") for kind in KINDS]
        )
    labels = [KIND_LABELS[kind] for kind in KINDS]
    return [
        PaperTable(
            key="accuracy",
            title="Accuracy against gold per question kind",
            caption=(
                "SimpleToM (Gu et al., 2024) layout: accuracy of the answers against each "
                "question's gold answer, per kind; an unanswered or unparsed answer counts as "
                "wrong; na_frac is the share of a model's answers that did not parse."
            ),
            columns=["Who", *labels, "All", "na_frac"],
            rows=rows,
        ),
        PaperTable(
            key="na_frac",
            title="Unparsed model answers per question kind",
            caption="na_frac per kind and the number of questions with gold per kind.",
            columns=["Model", *[f"na_frac {x}" for x in labels], *[f"n {x}" for x in labels]],
            rows=na_rows,
        ),
    ]

"""``preference_pair`` paper view: the tables of "Diverging Preferences: When do Annotators
Disagree and do Models Know?" (Zhang et al., 2024) laid out from a project's figures: how many
items fall in each agreement status, and, per model, whether it knows (AUROC of its uncertainty
between diverging and high-agreement items) and how often it still picks a winner per status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stats.preference import AgreementStatus

from ..base import PaperTable

PAPER = "Zhang et al. (2024), Diverging Preferences"
STATUS_ORDER = (
    AgreementStatus.HIGH_AGREEMENT_PREFERENCE,
    AgreementStatus.HIGH_AGREEMENT_TIE,
    AgreementStatus.DIVERGING,
    AgreementStatus.DIVERGING_SIGNIFICANT,
    AgreementStatus.MIXED,
)


def _label(status: str) -> str:
    return status.replace("_", " ").capitalize()


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def status_table(figures: Mapping[str, Any]) -> PaperTable:
    divergence = figures.get("divergence") or {}
    counts: Mapping[str, int] = divergence.get("status_counts") or {}
    n = int(divergence.get("n_with_status") or sum(counts.values()))
    rows: list[list[Any]] = [
        [_label(status), counts.get(status, 0), _share(counts.get(status, 0), n)]
        for status in STATUS_ORDER
        if status in counts or status != AgreementStatus.MIXED
    ]
    rows.append(["Total with a status", n, _share(n, n)])
    few = int(divergence.get("n_too_few_votes") or 0)
    notes = [
        f"{few} annotated item{'s have' if few != 1 else ' has'} fewer than two votes and so "
        "no status."
    ]
    return PaperTable(
        key="statuses",
        title="Agreement statuses",
        caption=f"Items per agreement status and their share (as in {PAPER}).",
        columns=["Status", "Items", "Share"],
        rows=rows,
        notes=notes,
    )


def models_table(figures: Mapping[str, Any]) -> PaperTable:
    statuses = [s for s in STATUS_ORDER if s != AgreementStatus.MIXED]
    columns = [
        "Model",
        "AUROC (diverging vs agreeing)",
        "Diverging items",
        "Agreeing items",
        "Accuracy vs majority side",
    ] + [f"Picks a winner: {_label(s).lower()}" for s in statuses]
    rows = []
    for model in figures.get("models") or []:
        shares = model.get("winner_share_by_status") or {}
        metrics = model.get("metrics") or {}
        rows.append(
            [
                model["model_name"],
                model.get("auroc"),
                model.get("auroc_n_diverging"),
                model.get("auroc_n_agreeing"),
                metrics.get("accuracy"),
            ]
            + [(shares.get(s) or {}).get("share") for s in statuses]
        )
    return PaperTable(
        key="models",
        title="Do models know?",
        caption=(
            "Per model run: AUROC of the model's uncertainty for telling diverging from "
            "high-agreement items, its accuracy against the humans' majority side, and the share "
            f"of items per status where it still picks a winner (as in {PAPER})."
        ),
        columns=columns,
        rows=rows,
    )


def paper_tables(figures: Mapping[str, Any]) -> list[PaperTable]:
    return [status_table(figures), models_table(figures)]

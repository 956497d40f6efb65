"""The figures as flat tables: for CSV downloads and the ``compute_agreement`` command.

Each table is ``(columns, rows)``: the agreement tables from the typed figures, the divergence
tables from the divergence report (``selectors.divergence_report``). The same tables back the
API's ``?format=csv&table=...``, the dashboard's download links and the command's printout, so the
three never disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from annotate.tasktypes import get_task_type
from core.spreadsheet import csv_safe

from .figures.types import Figures
from .selectors.divergence import DivergenceReport

Table = tuple[list[str], list[list[Any]]]

FIELD_COLUMNS = [
    "name",
    "label",
    "level",
    "alpha",
    "low",
    "high",
    "n_units",
    "n_pairable_values",
    "n_coders",
    "observed_agreement",
    "agreement_within_tolerance",
    "tolerance",
    "fleiss_kappa",
    "cohen_kappa",
    "reference_accuracy",
    "reason",
]
ANNOTATOR_COLUMNS = [
    "username",
    "flagged",
    "n_annotations",
    "loo_agreement",
    "loo_compared",
    "gold_accuracy",
    "gold_answers",
    "median_seconds",
    "left_pick_rate",
    "side_picks",
]


def _attributes(records: Sequence[object], columns: list[str]) -> Table:
    return columns, [[getattr(record, c) for c in columns] for record in records]


def fields_table(figures: Figures) -> Table:
    return _attributes(figures.fields, FIELD_COLUMNS)


def annotators_table(figures: Figures) -> Table:
    return _attributes(figures.annotators.rows, ANNOTATOR_COLUMNS)


def pairwise_table(figures: Figures) -> Table:
    pairwise = figures.annotators.pairwise
    names = pairwise.annotators
    rows = []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            rows.append([a, b, pairwise.agreement[i][j], pairwise.n_common[i][j]])
    return ["annotator_a", "annotator_b", "agreement", "n_common"], rows


def sets_table(figures: Figures) -> Table:
    """The set fields' figures (boxes, tones per comment), one row per figure."""
    rows = [
        [f.name, figure.name, figure.label, figure.value, figure.reason]
        for f in figures.set_fields
        for figure in f.figures
    ]
    return ["field", "figure", "label", "value", "reason"], rows


def progress_table(figures: Figures) -> Table:
    return _attributes(figures.progress.timeline, ["date", "n", "cumulative"])


MODEL_COLUMNS = [
    "run_id",
    "model_name",
    "source",
    "n_predictions",
    "accuracy_vs_majority",
    "n_compared",
    "auroc",
    "auroc_n_diverging",
    "auroc_n_agreeing",
    "diverging_winner_share",
    "n_diverging_predicted",
]


def model_statuses(figures: Figures) -> tuple[str, ...]:
    """The agreement statuses of the project's task type, in its order (none without a spec)."""
    spec = get_task_type(figures.project.task_type).divergence()
    return spec.statuses if spec else ()


def models_table(figures: Figures) -> Table:
    """One row per run and field; for types with a divergence spec, the run's winner share on
    the items of each status and its ``n`` (``winner_share:<status>``, ``n:<status>``)."""
    statuses = model_statuses(figures)
    by_status = [c for status in statuses for c in (f"winner_share:{status}", f"n:{status}")]
    columns = [*MODEL_COLUMNS, *by_status, "field", "alpha_humans", "alpha_with_model"]
    rows = []
    for run in figures.models:
        shares = run.winner_share_by_status or {}
        cells = []
        for status in statuses:
            cell = shares.get(status) or {}
            cells += [cell.get("share"), cell.get("n")]
        for field in run.fields:
            rows.append(
                [getattr(run, c) for c in MODEL_COLUMNS]
                + cells
                + [field.name, field.alpha_humans, field.alpha_with_model]
            )
    return columns, rows


def cohorts_table(figures: Figures) -> Table:
    """Agreement per cohort of annotators and field (no rows without cohorts)."""
    columns = ["cohort", "n_annotators", "n_annotations", "field", "alpha", "n_units", "reason"]
    rows = [
        [c.cohort, c.n_annotators, c.n_annotations, f.name, f.alpha, f.n_units, f.reason]
        for c in figures.cohorts
        for f in c.fields
    ]
    return columns, rows


def dawid_skene_labels_table(figures: Figures) -> Table:
    """Dawid-Skene per nominal field: each label's prior, mean posterior and MAP item count."""
    rows = [
        [f.field, x.label, x.prior, x.mean_posterior, x.n_map, f.n_items, f.converged]
        for f in figures.dawid_skene
        for x in f.labels
    ]
    columns = ["field", "label", "prior", "mean_posterior", "n_map", "n_items", "converged"]
    return columns, rows


def dawid_skene_annotators_table(figures: Figures) -> Table:
    """Dawid-Skene per nominal field: each annotator's estimated accuracy."""
    rows = [
        [f.field, a.username, a.n_labels, a.accuracy]
        for f in figures.dawid_skene
        for a in f.annotators
    ]
    return ["field", "username", "n_labels", "accuracy"], rows


def status_table(report: DivergenceReport) -> Table:
    return ["status", "n_items"], [[status, n] for status, n in report.status_counts.items()]


def taxonomy_table(report: DivergenceReport) -> Table:
    return _attributes(report.taxonomy, ["group", "name", "n_items"])


def items_table(report: DivergenceReport) -> Table:
    """Every item of the report; ``suggestions`` as ``category (signal: evidence)``."""
    columns = ["item_id", "external_id", "status", "votes", "categories", "note", "tagged_by"]
    rows = [
        [getattr(item, c) for c in columns]
        + [[f"{s['category']} ({s['signal']}: {s['evidence']})" for s in item.suggestions]]
        for item in report.items or []
    ]
    return [*columns, "suggestions"], rows


AGREEMENT_TABLES: dict[str, Callable[[Figures], Table]] = {
    "fields": fields_table,
    "annotators": annotators_table,
    "pairwise": pairwise_table,
    "models": models_table,
    "progress": progress_table,
    "sets": sets_table,
    "cohorts": cohorts_table,
    "dawid_skene_labels": dawid_skene_labels_table,
    "dawid_skene_annotators": dawid_skene_annotators_table,
}
DIVERGENCE_TABLES: dict[str, Callable[[DivergenceReport], Table]] = {
    "items": items_table,
    "status": status_table,
    "taxonomy": taxonomy_table,
}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return value


def to_csv(table: Table) -> str:
    columns, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(_cell(v)) for v in row])
    return out.getvalue()


def to_text(table: Table) -> str:
    """An aligned plain-text table (the command's printout)."""
    columns, rows = table
    cells = [columns] + [[str(_cell(v)) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)

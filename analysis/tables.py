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


def models_table(figures: Figures) -> Table:
    columns = [*MODEL_COLUMNS, "field", "alpha_humans", "alpha_with_model"]
    rows = []
    for run in figures.models:
        for field in run.fields:
            rows.append(
                [getattr(run, c) for c in MODEL_COLUMNS]
                + [field.name, field.alpha_humans, field.alpha_with_model]
            )
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


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """A nested figure as ``(dotted name, value)`` pairs; a list's dicts are named by their first
    text value (``by_negative_set[easy].accuracy``), else by position."""
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for key, inner in value.items():
            out += _flat(f"{prefix}.{key}" if prefix else str(key), inner)
        return out
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        out = []
        for n, inner in enumerate(value):
            texts = (
                [v for v in inner.values() if isinstance(v, str)] if isinstance(inner, dict) else []
            )
            name = texts[0] if texts else str(n)
            if isinstance(inner, dict) and texts:
                inner = {k: v for k, v in inner.items() if v != name}
            out += _flat(f"{prefix}[{name}]", inner)
        return out
    return [(prefix, value)]


def paper_table(figures: Figures) -> Table:
    """The source paper's figures (``Figures.paper``, each run's ``metrics``), whatever their task
    type's keys: one row per figure, named by its dotted path."""
    rows = [["humans", None, name, value] for name, value in _flat("", figures.paper)]
    for run in figures.models:
        rows += [
            [run.model_name, run.run_id, name, value] for name, value in _flat("", run.metrics)
        ]
    return ["source", "run_id", "figure", "value"], rows


def paper_display_rows(figures: Figures) -> list[tuple[str, Any, str, str]]:
    """``paper_table``'s rows for the dashboard: rates with three decimals, counts whole, text as
    it is, a dash for undefined."""

    def shown(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value)

    return [
        (source, run_id, name, shown(value))
        for source, run_id, name, value in paper_table(figures)[1]
    ]


def status_table(report: DivergenceReport) -> Table:
    return ["status", "n_items"], [[status, n] for status, n in report.status_counts.items()]


def taxonomy_table(report: DivergenceReport) -> Table:
    return _attributes(report.taxonomy, ["group", "name", "n_items"])


def items_table(report: DivergenceReport) -> Table:
    return _attributes(
        report.items or [],
        ["item_id", "external_id", "status", "votes", "categories", "note", "tagged_by"],
    )


AGREEMENT_TABLES: dict[str, Callable[[Figures], Table]] = {
    "fields": fields_table,
    "annotators": annotators_table,
    "pairwise": pairwise_table,
    "models": models_table,
    "progress": progress_table,
    "sets": sets_table,
    "dawid_skene_labels": dawid_skene_labels_table,
    "dawid_skene_annotators": dawid_skene_annotators_table,
    "paper": paper_table,
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

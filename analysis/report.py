"""The paper view: a project's figures laid out as its task type's source paper reports them
(``TaskType.paper_tables``), for the page, ``GET /api/v1/projects/{id}/report/`` and its CSV and
LaTeX forms. The tables come from the same cached figures as the dashboard, so they never disagree.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from annotate.models import Project
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import PaperTable
from core.spreadsheet import csv_safe

from . import snapshots

DECIMALS = 4
"""Rates and coefficients are shown (page, LaTeX) to four decimals; the JSON and the CSV keep
full precision."""


@dataclass(frozen=True)
class Report:
    project: Project
    tables: list[PaperTable]
    computed_at: str | None
    fresh: bool
    pending: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": {
                "id": self.project.pk,
                "name": self.project.name,
                "task_type": self.project.task_type,
            },
            "computed_at": self.computed_at,
            "fresh": self.fresh,
            "pending": self.pending,
            "tables": [table.to_dict() for table in self.tables],
        }


def project_report(*, project: Project) -> Report | None:
    """The project's paper tables; ``None`` while its first figures are being computed."""
    view = snapshots.analysis_get(project=project)
    if view.figures is None:
        return None
    data = view.figures.to_dict()
    return Report(
        project=project,
        tables=get_task_type(project.task_type).paper_tables(data),
        computed_at=data["computed_at"],
        fresh=view.fresh,
        pending=view.pending,
    )


def shown(value: Any) -> str:
    """A cell as the page and LaTeX show it: rates to ``DECIMALS``, nothing as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{DECIMALS}f}"
    return str(value)


def shown_tables(tables: list[PaperTable]) -> list[dict[str, Any]]:
    """Each table with its cells as shown and its LaTeX: what the templates render."""
    return [
        {
            "table": table,
            "cells": [[shown(v) for v in row] for row in table.rows],
            "latex": report_latex(table),
        }
        for table in tables
    ]


def report_csv(tables: list[PaperTable]) -> str:
    """Every table, one after another: its title on a line, its header, its rows, a blank line.
    Numbers at full precision; cells that a spreadsheet would run as formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for index, table in enumerate(tables):
        if index:
            writer.writerow([])
        writer.writerow([csv_safe(table.title)])
        writer.writerow([csv_safe(c) for c in table.columns])
        for row in table.rows:
            writer.writerow(["" if v is None else csv_safe(v) for v in row])
    return out.getvalue()


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "–": "--",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def report_latex(table: PaperTable) -> str:
    """A ``tabular`` (booktabs) of one table, ready to paste into a paper."""
    align = "l" + "r" * (len(table.columns) - 1)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\begin{{tabular}}{{{align}}}",
        r"\toprule",
        " & ".join(latex_escape(c) for c in table.columns) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(latex_escape(shown(v)) for v in row) + r" \\" for row in table.rows]
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{latex_escape(table.caption)}}}",
        r"\end{table}",
    ]
    return "\n".join(lines)

"""``derailment`` prediction adapters (``?adapter=`` of the predictions import).

``ltm``: the derailment paper's prompt-results layout (Imran et al., 2025, ``results/Prompt
Results.xlsx``, sheet ``LtM``, saved as CSV), one row per conversation: ``issue_id``,
``possibility_toxic`` (the model's P(the conversation derails to toxicity), 0 to 1) and
``true_label`` (0/1, optional). Each row becomes a score-only prediction of the item whose
``external_id`` is the issue id (as the ``github_derailment`` items adapter names threads):
``{external_id, score, details: {"adapter": "ltm", "true_label": bool}}``. Other columns (the
sheet's own ``pred``, say) are ignored: the threshold is the project's (``config.threshold``).

The file's ``true_label`` is kept with the prediction, never written to the item: an item's
reference label comes from an items import (the ``github_derailment`` adapter's ``toxic`` column).
The metrics report agreement with the file's label apart (``vs_file_label``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.errors import FieldError, SchemaError

LTM_REQUIRED = ("issue_id", "possibility_toxic")
_FLAGS = {"1": True, "0": False, "true": True, "false": False, "1.0": True, "0.0": False}


def _ltm_row(row: dict[str, Any]) -> dict[str, Any] | list[FieldError]:
    errors = []
    missing = [c for c in LTM_REQUIRED if not str(row.get(c, "")).strip()]
    errors += [FieldError(c, "required in every row") for c in missing]
    issue = str(row.get("issue_id", "")).strip()
    if issue and not issue.isdigit():
        errors.append(FieldError("issue_id", f"must be a GitHub issue id (digits), not {issue!r}"))
    raw_p = str(row.get("possibility_toxic", "")).strip()
    p: float | None = None
    if raw_p:
        try:
            p = float(raw_p)
        except ValueError:
            errors.append(FieldError("possibility_toxic", f"must be a number, not {raw_p!r}"))
        else:
            if not 0.0 <= p <= 1.0:  # also refuses nan
                errors.append(FieldError("possibility_toxic", f"must be from 0 to 1, not {raw_p}"))
    raw_label = str(row.get("true_label", "")).strip().lower()
    if raw_label and raw_label not in _FLAGS:
        errors.append(FieldError("true_label", f"must be 0 or 1, not {raw_label!r}"))
    if errors:
        return errors
    details: dict[str, Any] = {"adapter": "ltm"}
    if raw_label:
        details["true_label"] = _FLAGS[raw_label]
    return {"external_id": issue, "score": p, "details": details}


def ltm_predictions(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """The ``ltm`` adapter: one score-only prediction per row (see the module's docstring)."""
    for line, row in rows:
        if not isinstance(row, dict):
            yield line, row  # a parse problem: passed on for the importer to report
            continue
        adapted = _ltm_row(row)
        yield line, SchemaError(adapted) if isinstance(adapted, list) else adapted


PREDICTION_ADAPTERS = {"ltm": ltm_predictions}

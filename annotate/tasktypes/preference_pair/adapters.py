"""``preference_pair`` import adapters for published preference data, items with their labels.

- ``multipref`` (MultiPref, Miranda et al., 2024): one row per comparison (``comparison_id``,
  ``text``, ``model_a``/``completion_a``, ``model_b``/``completion_b``, ...) with the lists
  ``normal_worker_annotations`` and ``expert_worker_annotations``; each entry is one annotator's
  label: ``evaluator`` becomes an external annotator of cohort ``crowd`` or ``expert``,
  ``overall_pref`` the preference on the 5-point scale, ``helpful_pref`` / ``truthful_pref`` /
  ``harmless_pref`` the aspects, ``time_spent`` (seconds) its time, ``timestamp`` its date, every
  other field (confidences, reasons) the label's metadata.
- ``helpsteer2`` (HelpSteer2 preference rows, Wang et al., 2024): ``prompt``, ``response_1`` (A),
  ``response_2`` (B), ``preference_strength`` -3..+3 and ``all_preferences_unprocessed``, one
  ``{strength, justification}`` per rater. HelpSteer2 publishes no ids: the item of the n-th row
  of the file is ``hs2-<split>-<n>`` and its k-th rater ``hs2-<split>-<n>-<k>`` (an anonymous
  external annotator of that one row). Strengths stay on the 7-point scale (the adapter sets
  ``{"scale": 7}``); justifications become rationales.

Both yield ``AdaptedItem``s (the item record and its labels); a bad row is reported on its line
with the field named.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

from core.errors import FieldError, SchemaError
from core.records import finite_number

from ..base import AdaptedItem

MULTIPREF_PREFS = {
    "A-is-clearly-better": -2,
    "A-is-slightly-better": -1,
    "Tie": 0,
    "B-is-slightly-better": 1,
    "B-is-clearly-better": 2,
}
"""MultiPref's spelling of the 5-point scale (A is response_a: negative votes)."""
MULTIPREF_ASPECTS = ("helpful", "truthful", "harmless")
MULTIPREF_COHORTS = {"normal_worker_annotations": "crowd", "expert_worker_annotations": "expert"}
MULTIPREF_REQUIRED = ("comparison_id", "text", "completion_a", "completion_b")
_MULTIPREF_ITEM_FIELDS = {"text", "model_a", "completion_a", "model_b", "completion_b"}

HELPSTEER2_REQUIRED = ("prompt", "response_1", "response_2", "all_preferences_unprocessed")
HELPSTEER2_STRENGTHS = range(-3, 4)


def _missing(row: Mapping[str, Any], required: tuple[str, ...]) -> list[FieldError]:
    return [
        FieldError(column, "required column missing or empty")
        for column in required
        if row.get(column) in (None, "")
    ]


def _multipref_label(
    entry: Any, where: str, cohort: str
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    if not isinstance(entry, Mapping):
        return None, [FieldError(where, "must be an object")]
    errors = []
    evaluator = entry.get("evaluator")
    if evaluator in (None, ""):
        errors.append(FieldError(f"{where}.evaluator", "required"))
    spellings = ", ".join(MULTIPREF_PREFS)
    overall = entry.get("overall_pref")
    if overall not in MULTIPREF_PREFS:
        errors.append(FieldError(f"{where}.overall_pref", f"{overall!r} is not one of {spellings}"))
    aspects = {}
    for aspect in MULTIPREF_ASPECTS:
        raw = entry.get(f"{aspect}_pref")
        if raw in (None, ""):
            continue
        if raw not in MULTIPREF_PREFS:
            errors.append(
                FieldError(f"{where}.{aspect}_pref", f"{raw!r} is not one of {spellings}")
            )
        else:
            aspects[aspect] = MULTIPREF_PREFS[raw]
    if errors:
        return None, errors
    used = {"evaluator", "overall_pref"} | {f"{aspect}_pref" for aspect in MULTIPREF_ASPECTS}
    label: dict[str, Any] = {
        "annotator": str(evaluator),
        "cohort": cohort,
        "value": {"preference": MULTIPREF_PREFS[str(overall)], "aspects": aspects},
        "metadata": {key: value for key, value in entry.items() if key not in used},
    }
    timestamp = entry.get("timestamp")
    if isinstance(timestamp, str):
        with suppress(ValueError):  # a date it cannot read stays in the metadata alone
            label["created_at"] = datetime.fromisoformat(timestamp).isoformat()
    seconds = entry.get("time_spent")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        label["time_spent_ms"] = int(round(seconds * 1000))
    return label, []


def multipref_records(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """MultiPref rows as preference pairs with their crowd and expert labels."""
    for line, row in rows:
        if not isinstance(row, dict):
            yield line, row  # a parse problem: passed on for the importer to report
            continue
        errors = _missing(row, MULTIPREF_REQUIRED)
        labels = []
        for column, cohort in MULTIPREF_COHORTS.items():
            entries = row.get(column) or []
            if not isinstance(entries, list):
                errors.append(FieldError(column, "must be a list of annotations"))
                continue
            for index, entry in enumerate(entries):
                label, problems = _multipref_label(entry, f"{column}[{index}]", cohort)
                errors.extend(problems)
                if label is not None:
                    labels.append(label)
        if errors:
            yield line, SchemaError(errors)
            continue
        metadata = {
            key: value
            for key, value in row.items()
            if key not in _MULTIPREF_ITEM_FIELDS and key not in MULTIPREF_COHORTS
        }
        record = {
            "external_id": str(row["comparison_id"]),
            "prompt": row["text"],
            "response_a": row["completion_a"],
            "response_b": row["completion_b"],
            "model_a": row.get("model_a") or None,
            "model_b": row.get("model_b") or None,
            "metadata": metadata,
        }
        yield line, AdaptedItem(record=record, labels=labels)


def _strength(raw: Any) -> int | None:
    """An integer strength -3..+3 (also as an integral float or text), else ``None``."""
    number = finite_number(raw)
    if number is None or not number.is_integer() or int(number) not in HELPSTEER2_STRENGTHS:
        return None
    return int(number)


def helpsteer2_records(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """HelpSteer2 preference rows as pairs (response_1 is A) with one label per rater."""
    number = 0
    for line, row in rows:
        number += 1
        if not isinstance(row, dict):
            yield line, row
            continue
        errors = _missing(row, HELPSTEER2_REQUIRED)
        overall = row.get("preference_strength")
        if overall not in (None, "") and _strength(overall) is None:
            errors.append(FieldError("preference_strength", "must be an integer from -3 to 3"))
        raters = row.get("all_preferences_unprocessed")
        if raters not in (None, "") and not isinstance(raters, list):
            errors.append(FieldError("all_preferences_unprocessed", "must be a list"))
            raters = []
        split = str(row.get("split") or "").strip()
        external_id = f"hs2-{split}-{number}" if split else f"hs2-{number}"
        labels = []
        for k, entry in enumerate(raters or [], start=1):
            where = f"all_preferences_unprocessed[{k - 1}]"
            if not isinstance(entry, Mapping):
                errors.append(FieldError(where, "must be an object"))
                continue
            vote = _strength(entry.get("strength"))
            if vote is None:
                errors.append(FieldError(f"{where}.strength", "must be an integer from -3 to 3"))
                continue
            justification = entry.get("justification")
            labels.append(
                {
                    "annotator": f"{external_id}-{k}",
                    "value": {
                        "preference": vote,
                        "rationale": str(justification or "").strip(),
                    },
                    "metadata": {
                        key: value
                        for key, value in entry.items()
                        if key not in {"strength", "justification"}
                    },
                }
            )
        if errors:
            yield line, SchemaError(errors)
            continue
        metadata = {
            key: value
            for key, value in row.items()
            if key not in {"prompt", "response_1", "response_2", "all_preferences_unprocessed"}
        }
        metadata["row"] = number
        record = {
            "external_id": external_id,
            "prompt": row["prompt"],
            "response_a": row["response_1"],
            "response_b": row["response_2"],
            "metadata": metadata,
        }
        yield line, AdaptedItem(record=record, labels=labels)


ADAPTERS = {"multipref": multipref_records, "helpsteer2": helpsteer2_records}
ADAPTER_CONFIG: dict[str, dict[str, Any]] = {
    "multipref": {"scale": 5, "aspects": list(MULTIPREF_ASPECTS)},
    "helpsteer2": {"scale": 7},
}
"""The configuration each adapter needs (``TaskType.adapter_config``)."""

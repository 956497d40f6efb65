"""Predictions made outside, imported as a finished model run (all or nothing).

The file is JSON Lines, a JSON array or CSV (``core.records``: ``fmt``, sniffed when not given),
one prediction per row: ``{external_id, value?, score?, distribution?, details?}``. ``value`` is
in the task type's annotation shape (checked by its schema); a type with
``score_only_predictions`` takes rows with a ``score`` and no ``value`` (stored with ``value``
``{}``). In CSV, ``value``, ``distribution`` and ``details`` are JSON cells and ``score`` a number.

``adapter`` names one of the task type's prediction adapters (``TaskType.prediction_adapters``),
which turns a paper's own layout into these rows. A row whose ``external_id`` is not an item of
the project is an error (every such row is listed), or with ``unknown="skip"`` is left out and
counted (``n_skipped_unknown``): importing a paper's full prediction file into a sample project.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotate.models import Item, Project
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import TaskType
from core.errors import FieldError, ImportFailed, InvalidInput, SchemaError
from core.records import ParseProblem, as_buffered, finite_number, parse_records

from .models import ModelRun, Prediction

FIELDS = {"external_id", "value", "score", "distribution", "details"}
JSON_COLUMNS = frozenset({"value", "distribution", "details"})
UNKNOWN_CHOICES = ("error", "skip")


@dataclass
class _ImportRow:
    item_id: int
    value: dict[str, Any]
    score: float | None
    distribution: dict[str, float] | None
    details: dict[str, Any]


@dataclass
class PredictionsImported:
    """What a predictions import did: the finished run, and the rows left out because their
    ``external_id`` is not an item of the project (``unknown="skip"``)."""

    run: ModelRun
    n_predictions: int
    n_skipped_unknown: int


def _problem(line: int, errors: list[FieldError]) -> dict[str, Any]:
    return {"line": line, "errors": errors}


def _external_id(raw: Any) -> str | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, str) and raw.strip():
        return raw
    return None


def _row_errors(record: dict[str, Any]) -> list[FieldError]:
    """What is wrong with a row whatever item it names (fields, score, distribution, details)."""
    errors = [FieldError(key, "unknown field") for key in sorted(set(record) - FIELDS)]
    if _external_id(record.get("external_id")) is None:
        errors.append(FieldError("external_id", "required: the item's external id"))
    score = record.get("score")
    if score is not None and finite_number(score) is None:
        errors.append(FieldError("score", "must be a finite number or null"))
    distribution = record.get("distribution")
    if distribution is not None and (
        not isinstance(distribution, dict)
        or not all(finite_number(v) is not None for v in distribution.values())
    ):
        errors.append(FieldError("distribution", "an object of numbers"))
    details = record.get("details")
    if details is not None and not isinstance(details, dict):
        errors.append(FieldError("details", "must be an object"))
    return errors


def _records(
    stream: IO[bytes] | Any, *, plugin: TaskType, fmt: str | None, adapter: str | None
) -> Iterator[tuple[int, Any]]:
    records = parse_records(as_buffered(stream), fmt=fmt, json_columns=JSON_COLUMNS)
    if not adapter:
        return records
    adapters = plugin.prediction_adapters()
    if adapter not in adapters:
        known = ", ".join(sorted(adapters)) or "none"
        raise InvalidInput(
            f"task type {plugin.name} has no predictions adapter {adapter!r} (known: {known})",
            detail=[FieldError("adapter", f"unknown adapter {adapter!r} (known: {known})")],
        )
    return adapters[adapter](records)


def _read_rows(
    records: Iterator[tuple[int, Any]], *, project: Project, plugin: TaskType, skip_unknown: bool
) -> tuple[list[_ImportRow], list[dict[str, Any]], int]:
    lines: list[tuple[int, dict[str, Any]]] = []
    problems: list[dict[str, Any]] = []
    for number, record in records:
        if isinstance(record, ParseProblem):
            problems.append(_problem(number, [FieldError("(row)", record.message)]))
        elif isinstance(record, SchemaError):  # unstorable text, or an adapter's verdict
            problems.append(_problem(number, record.errors))
        elif not isinstance(record, dict):
            problems.append(_problem(number, [FieldError("(row)", "must be a JSON object")]))
        else:
            lines.append((number, record))
    wanted = {_external_id(record.get("external_id")) for _n, record in lines} - {None}
    items = {
        item.external_id: item
        for item in Item.objects.filter(project=project, external_id__in=wanted).only(
            "id", "external_id", "payload"
        )
    }
    rows: list[_ImportRow] = []
    seen: dict[str, int] = {}
    skipped = 0
    for number, record in lines:
        errors = _row_errors(record)
        external_id = _external_id(record.get("external_id"))
        item = items.get(external_id) if external_id is not None else None
        if external_id is not None and item is None:
            if skip_unknown:
                if errors:
                    problems.append(_problem(number, errors))
                else:
                    skipped += 1
                continue
            errors.append(
                FieldError(
                    "external_id",
                    f"no item {external_id!r} in the project (?unknown=skip leaves such rows out)",
                )
            )
        elif external_id is not None and external_id in seen:
            errors.append(
                FieldError(
                    "external_id", f"repeated in this file (first on line {seen[external_id]})"
                )
            )
        value: dict[str, Any] = {}
        raw_value = record.get("value")
        score = finite_number(record.get("score"))
        if raw_value is None and score is not None and plugin.score_only_predictions:
            pass  # a score-only row: the value stays {} (the type reads its score)
        elif item is not None:
            try:
                value = plugin.validate_prediction(
                    raw_value, config=project.config, payload=item.payload
                )
            except SchemaError as exc:
                errors += exc.errors
        if errors:
            problems.append(_problem(number, errors))
            continue
        assert item is not None and external_id is not None
        seen[external_id] = number
        distribution = record.get("distribution")
        rows.append(
            _ImportRow(
                item.pk,
                value,
                score,
                None
                if distribution is None
                else {str(k): float(v) for k, v in distribution.items()},
                dict(record.get("details") or {}),
            )
        )
    return rows, problems, skipped


def predictions_import(
    *,
    project: Project,
    model_name: str,
    stream: IO[bytes] | Any,
    fmt: str | None = None,
    adapter: str | None = None,
    unknown: str = "error",
    created_by: User | None = None,
) -> PredictionsImported:
    """Store predictions made outside as a finished run (see the module's docstring for the
    rows). All or nothing: ``ImportFailed`` lists every bad line with its field errors;
    ``InvalidInput`` names a bad ``model``, ``adapter`` or ``unknown``."""
    model_name = (model_name or "").strip()
    if not model_name or len(model_name) > 200:
        raise InvalidInput(
            "name the model", detail=[FieldError("model", "required, at most 200 characters")]
        )
    if unknown not in UNKNOWN_CHOICES:
        raise InvalidInput(
            "unknown must be error or skip",
            detail=[FieldError("unknown", f"must be error or skip, not {unknown!r}")],
        )
    plugin = get_task_type(project.task_type)
    records = _records(stream, plugin=plugin, fmt=fmt, adapter=adapter)
    rows, problems, skipped = _read_rows(
        records, project=project, plugin=plugin, skip_unknown=unknown == "skip"
    )
    if problems:
        raise ImportFailed(f"{len(problems)} bad line(s); nothing was imported", detail=problems)
    if not rows:
        message = "no predictions in the file"
        if skipped:
            message = f"no prediction names an item of the project ({skipped} skipped)"
        raise InvalidInput(message, detail=[FieldError("(body)", message)])
    now = timezone.now()
    with transaction.atomic():
        run = ModelRun.objects.create(
            project=project,
            predictor=None,
            model_name=model_name,
            source=ModelRun.Source.IMPORT,
            status=ModelRun.Status.DONE,
            n_items=len(rows),
            n_done=len(rows),
            device="import",
            params={"adapter": adapter} if adapter else {},
            created_by=created_by,
            started_at=now,
            finished_at=now,
        )
        try:
            Prediction.objects.bulk_create(
                [
                    Prediction(
                        run=run,
                        item_id=r.item_id,
                        value=r.value,
                        score=r.score,
                        distribution=r.distribution,
                        details=r.details,
                    )
                    for r in rows
                ],
                batch_size=2000,
            )
        except IntegrityError as exc:  # the file named an item twice under two spellings
            raise ImportFailed(
                "duplicate items",
                detail=[_problem(0, [FieldError("external_id", str(exc))])],
            ) from None
    return PredictionsImported(run=run, n_predictions=len(rows), n_skipped_unknown=skipped)

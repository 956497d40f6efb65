"""Predictions made outside, imported from JSON Lines as a finished model run (all or nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotate.models import Item, Project
from annotate.tasktypes import get_task_type
from core.errors import FieldError, ImportFailed, InvalidInput, SchemaError
from core.records import ParseProblem, as_buffered, parse_records

from .models import ModelRun, Prediction

FIELDS = {"external_id", "value", "score", "distribution"}


@dataclass
class _ImportRow:
    item_id: int
    value: dict[str, Any]
    score: float | None
    distribution: dict[str, float] | None


def _problem(line: int, errors: list[FieldError]) -> dict[str, Any]:
    return {"line": line, "errors": errors}


def _read_rows(
    stream: IO[bytes] | Any, *, project: Project
) -> tuple[list[_ImportRow], list[dict[str, Any]]]:
    plugin = get_task_type(project.task_type)
    lines: list[tuple[int, Any]] = []
    problems: list[dict[str, Any]] = []
    for number, record in parse_records(as_buffered(stream), fmt="jsonl"):
        if isinstance(record, ParseProblem):
            problems.append(_problem(number, [FieldError("(row)", record.message)]))
        elif isinstance(record, SchemaError):  # text PostgreSQL cannot store
            problems.append(_problem(number, record.errors))
        else:
            lines.append((number, record))
    wanted = {str(record.get("external_id")) for _n, record in lines if isinstance(record, dict)}
    items = {
        item.external_id: item
        for item in Item.objects.filter(project=project, external_id__in=wanted).only(
            "id", "external_id", "payload"
        )
    }
    rows: list[_ImportRow] = []
    seen: set[str] = set()
    for number, record in lines:
        if not isinstance(record, dict):
            problems.append(_problem(number, [FieldError("(row)", "must be a JSON object")]))
            continue
        errors = [FieldError(key, "unknown field") for key in sorted(set(record) - FIELDS)]
        external_id = record.get("external_id")
        if isinstance(external_id, int) and not isinstance(external_id, bool):
            external_id = str(external_id)
        item = items.get(external_id) if isinstance(external_id, str) else None
        if item is None:
            errors.append(FieldError("external_id", f"no item {external_id!r} in the project"))
        elif external_id in seen:
            errors.append(FieldError("external_id", "repeated in this file"))
        value: dict[str, Any] = {}
        try:
            value = plugin.validate_annotation(
                record.get("value"), config=project.config, payload=item.payload if item else {}
            )
        except SchemaError as exc:
            errors += exc.errors
        score = record.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
            errors.append(FieldError("score", "must be a number or null"))
        distribution = record.get("distribution")
        if distribution is not None and (
            not isinstance(distribution, dict)
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool)
                for v in distribution.values()
            )
        ):
            errors.append(FieldError("distribution", "an object of numbers"))
        if errors:
            problems.append(_problem(number, errors))
            continue
        assert item is not None
        seen.add(item.external_id)
        rows.append(
            _ImportRow(item.pk, value, None if score is None else float(score), distribution)
        )
    return rows, problems


def predictions_import(
    *, project: Project, model_name: str, stream: IO[bytes] | Any, created_by: User | None = None
) -> ModelRun:
    """Store predictions made outside as a finished run: JSON Lines rows
    ``{external_id, value, score}`` (``value`` in the task type's annotation shape, checked by
    its schema). All or nothing: ``ImportFailed`` lists every bad line with its field errors."""
    model_name = (model_name or "").strip()
    if not model_name or len(model_name) > 200:
        raise InvalidInput(
            "name the model", detail=[FieldError("model", "required, at most 200 characters")]
        )
    rows, problems = _read_rows(stream, project=project)
    if problems:
        raise ImportFailed(f"{len(problems)} bad line(s); nothing was imported", detail=problems)
    if not rows:
        raise InvalidInput("no predictions in the file", detail=[FieldError("(body)", "no rows")])
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
    return run

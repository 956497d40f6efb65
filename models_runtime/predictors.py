"""Predictors: validated configurations of a model behind one of the backends."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from annotate.tasktypes import get_task_type
from core.errors import FieldError, InvalidInput, SchemaError

from .backends import BackendError, backend_spec
from .models import Predictor


def predictor_errors(
    *, task_type: str, backend: str, weights_path: str, params: Any, queue: str
) -> list[FieldError]:
    """Every reason a predictor's configuration cannot work.

    Checks that the backend is known, that it answers the task type (which must be registered),
    that a local weights directory exists where the backend needs one, and that the parameters
    are ones the backend understands. Never loads the model (the web process stays light).
    """
    errors: list[FieldError] = []
    try:
        spec = backend_spec(backend)
    except BackendError as exc:
        return [FieldError("backend", str(exc))]
    try:
        get_task_type(task_type)
    except SchemaError as exc:
        errors.append(FieldError("task_type", exc.errors[0].message))
    else:
        if task_type not in spec.task_types:
            answers = ", ".join(sorted(spec.task_types))
            errors.append(
                FieldError("task_type", f"backend {backend} answers {answers}, not {task_type}")
            )
    if spec.needs_weights:
        if not weights_path:
            errors.append(FieldError("weights_path", "this backend needs local weights"))
        elif not os.path.isdir(weights_path):
            errors.append(FieldError("weights_path", f"no directory at {weights_path}"))
        elif not os.path.exists(os.path.join(weights_path, "config.json")):
            errors.append(FieldError("weights_path", "no config.json in the directory"))
    if not isinstance(params, dict):
        errors.append(FieldError("params", "must be a JSON object"))
    else:
        try:
            spec.params_with_defaults(params)
        except BackendError as exc:
            errors.append(FieldError("params", str(exc)))
    if queue not in Predictor.Queue.values:
        errors.append(FieldError("queue", f"one of {', '.join(Predictor.Queue.values)}"))
    return errors


def _predictor_save(predictor: Predictor) -> Predictor:
    errors = predictor_errors(
        task_type=predictor.task_type,
        backend=predictor.backend,
        weights_path=predictor.weights_path,
        params=predictor.params,
        queue=predictor.queue,
    )
    try:
        predictor.full_clean()
    except ValidationError as exc:
        named = {error.field for error in errors}
        errors += [
            FieldError(field, message)
            for field, messages in exc.message_dict.items()
            for message in messages
            if field not in named
        ]
    if errors:
        raise InvalidInput("the predictor is invalid", detail=errors)
    predictor.save()
    return predictor


def predictor_create(
    *,
    name: str,
    task_type: str,
    backend: str,
    weights_path: str = "",
    params: dict[str, Any] | None = None,
    queue: str = Predictor.Queue.DEFAULT,
    description: str = "",
    created_by: User | None = None,
) -> Predictor:
    """Register a predictor after checking that its configuration can work."""
    return _predictor_save(
        Predictor(
            name=name,
            task_type=task_type,
            backend=backend,
            weights_path=weights_path,
            params=params if params is not None else {},
            queue=queue,
            description=description,
            created_by=created_by,
        )
    )


def predictor_update(*, predictor: Predictor, **fields: Any) -> Predictor:
    """Change a predictor's configuration; the same checks as on creation."""
    for name, value in fields.items():
        setattr(predictor, name, value)
    return _predictor_save(predictor)

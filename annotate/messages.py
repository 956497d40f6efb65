"""Validation errors in an annotator's words (issue 10, point 1).

The schema reports ``value.reasoning_steps.0.from: List should have at least 1 item after
validation``; the page shows "Reasoning step 1: choose where it starts". Each task type words its
own fields in ``annotate/tasktypes/<type>/messages.py`` (a ``describe(path, message, payload)``
that returns the words, or ``None`` to fall back); anything it leaves is worded here, one-based.
Every error keeps its field path (``FieldError.field``) so the page can place it by its field.
The API keeps the schema's own messages: this is for people, not programs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from annotate.models import Project
from annotate.tasktypes import get_task_type
from core.errors import FieldError

Describe = Callable[[tuple[str, ...], str, Mapping[str, Any]], str | None]

_PLAIN = (
    (re.compile(r"^Field required$"), "please answer this"),
    (re.compile(r"^List should have at least 1 item"), "choose at least one"),
    (re.compile(r"^String should have at least 1 character"), "please fill this in"),
    (re.compile(r"^Input should be a valid (integer|boolean|string|number)"), "please choose one"),
    (re.compile(r"^Input should be less than or equal to (\S+)"), r"at most \1"),
    (re.compile(r"^Input should be greater than or equal to (\S+)"), r"at least \1"),
    (re.compile(r"^Extra inputs are not permitted$"), "not part of this form"),
)


def plain_message(message: str) -> str:
    """A schema library's message in everyday words (unchanged when it has none)."""
    for pattern, words in _PLAIN:
        if pattern.search(message):
            return pattern.sub(words, message) if "\\" in words else words
    return message


def generic_label(path: tuple[str, ...]) -> str:
    """``("reasoning_steps", "0", "from")`` → ``"Reasoning steps 1, from"`` (one-based)."""
    parts: list[str] = []
    for segment in path:
        if segment.isdigit() and parts:
            parts[-1] = f"{parts[-1]} {int(segment) + 1}"
        else:
            parts.append(segment.replace("_", " ").strip())
    label = ", ".join(part for part in parts if part)
    return label[:1].upper() + label[1:] if label else "This answer"


def _words_of(task_type: str, name: str) -> Any:
    """A function of the type's own ``messages`` module, or ``None``."""
    package = type(get_task_type(task_type)).__module__.rpartition(".")[0]
    try:
        module = import_module(f"{package}.messages")
    except ModuleNotFoundError:
        return None
    return getattr(module, name, None)


def answer_lines(
    project: Project,
    value: Mapping[str, Any],
    *,
    payload: Mapping[str, Any],
    shown_order: Mapping[str, Any],
) -> list[tuple[str, str]]:
    """An answer as the annotator would say it (the type's ``answer_summary``), else its fields."""
    summary = _words_of(project.task_type, "answer_summary")
    if summary is not None:
        return list(summary(value, payload=payload, shown_order=shown_order))
    return [(generic_label((key,)), str(shown)) for key, shown in value.items()]


def _path_of(field: str) -> tuple[str, ...]:
    return tuple(field.removeprefix("value.").split(".")) if field else ()


def answer_form_fields(
    project: Project, value: Mapping[str, Any], *, shown_order: Mapping[str, Any]
) -> dict[str, list[str]] | None:
    """The answer as form fields (name → values) for a reopened item's controls; ``None`` when
    the type cannot say (its page script then shows the answer its own way)."""
    as_form = _words_of(project.task_type, "answer_as_form")
    return None if as_form is None else as_form(value, shown_order=shown_order)


def annotator_errors(
    project: Project, detail: Any, *, payload: Mapping[str, Any] | None = None
) -> list[FieldError]:
    """The service's field errors (``FieldError`` objects or their dicts) for the page."""
    describe: Describe | None = _words_of(project.task_type, "describe")
    shown: list[FieldError] = []
    seen: set[str] = set()
    for error in detail or []:
        if isinstance(error, FieldError):
            field, message = error.field, error.message
        elif isinstance(error, Mapping):
            field, message = str(error.get("field", "")), str(error.get("message", ""))
        else:
            field, message = "", str(error)
        path = _path_of(field)
        words = describe(path, message, payload or {}) if describe else None
        if words is None:
            words = f"{generic_label(path)}: {plain_message(message)}"
        if words not in seen:  # two schema fields behind one control say the same thing once
            seen.add(words)
            shown.append(FieldError(field, words))
    return shown

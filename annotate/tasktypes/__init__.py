"""The task-type registry: type name → plug-in instance."""

from __future__ import annotations

from core.errors import FieldError, SchemaError

from .base import ItemSummary, TaskType
from .derailment import Derailment
from .preference_pair import PreferencePair
from .tom import Tom
from .visual_argument import VisualArgument

_REGISTRY: dict[str, TaskType] = {}


def register(task_type: TaskType) -> TaskType:
    if task_type.name in _REGISTRY:
        raise ValueError(f"task type {task_type.name!r} is registered twice")
    _REGISTRY[task_type.name] = task_type
    return task_type


def get_task_type(name: str) -> TaskType:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise SchemaError(
            [FieldError("task_type", f"unknown task type {name!r} (known: {known})")]
        ) from None


def task_types() -> list[TaskType]:
    """Every registered task type, in the order of registration."""
    return list(_REGISTRY.values())


def task_type_choices() -> list[tuple[str, str]]:
    return [(name, plugin.label) for name, plugin in sorted(_REGISTRY.items())]


register(PreferencePair())
register(Derailment())
register(Tom())
register(VisualArgument())

__all__ = [
    "ItemSummary",
    "TaskType",
    "get_task_type",
    "register",
    "task_type_choices",
    "task_types",
]

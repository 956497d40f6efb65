"""The task-type plug-in interface.

A task type owns its item and annotation schemas (pydantic v2, the one schema language of the
project), the import adapters that turn foreign rows into its items, the annotator template, how
an annotator's form becomes a canonical value, and its export columns. Nothing outside
``annotate/tasktypes/<type>.py`` and its templates branches on a task type's name.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class SchemaError(Exception):
    """A value does not fit a schema; ``errors`` name each field and reason."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))

    def as_list(self) -> list[dict[str, str]]:
        return [error.as_dict() for error in self.errors]


def field_errors(exc: ValidationError, *, prefix: str = "") -> list[FieldError]:
    errors = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"])
        name = f"{prefix}{location}" if location else (prefix.rstrip(".") or "(row)")
        errors.append(FieldError(field=name, message=error["msg"]))
    return errors


def validate_model(schema: type[BaseModel], data: Any, *, prefix: str = "") -> BaseModel:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise SchemaError(field_errors(exc, prefix=prefix)) from None


@dataclass
class ItemSummary:
    """What the items export and the analysis need from an item's human labels."""

    n_annotations: int
    label_distribution: dict[str, int]
    majority_label: Any
    agreement_status: str | None
    extra: dict[str, Any] = field(default_factory=dict)


# An adapter turns raw records (dicts, with their source line) into the platform's records.
Adapter = Callable[[Iterator[tuple[int, dict[str, Any]]]], Iterator[tuple[int, dict[str, Any]]]]


class TaskType:
    """Base class of the plug-ins; subclasses set the class attributes and override hooks."""

    name: ClassVar[str]
    label: ClassVar[str]
    item_schema: ClassVar[type[BaseModel]]
    annotation_schema: ClassVar[type[BaseModel]]
    annotator_template: ClassVar[str]
    default_config: ClassVar[dict[str, Any]] = {}
    # Columns of the platform's own CSV layout holding JSON (lists, objects).
    csv_json_columns: ClassVar[frozenset[str]] = frozenset({"metadata"})

    # --- validation
    def validate_item(self, data: Mapping[str, Any]) -> dict[str, Any]:
        model = validate_model(self.item_schema, data)
        return model.model_dump(mode="json", exclude_none=True)

    def validate_annotation(
        self, value: Any, *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        model = validate_model(self.annotation_schema, value, prefix="value.")
        cleaned = model.model_dump(mode="json")
        errors = self.check_annotation(cleaned, config=self.config(config), payload=payload)
        if errors:
            raise SchemaError(errors)
        return cleaned

    def check_annotation(
        self, value: dict[str, Any], *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[FieldError]:
        """Rules that need the project's configuration or the item; none by default."""
        return []

    def config(self, project_config: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.default_config, **project_config}

    def validate_config(self, project_config: Mapping[str, Any]) -> dict[str, Any]:
        return dict(project_config)

    # --- import
    def adapters(self) -> dict[str, Adapter]:
        """Named import adapters beyond the platform's own format."""
        return {}

    # --- annotator UI
    def shown_order(self, payload: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        return {}

    def form_to_value(
        self, form: Mapping[str, Any], *, shown_order: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        raise NotImplementedError(f"{self.name} has no annotator form")

    def display_context(
        self, payload: Mapping[str, Any], *, shown_order: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {"payload": payload}

    # --- summaries and export
    def label_of(self, value: Mapping[str, Any]) -> Any:
        """The primary label of an annotation, the unit of distributions and majorities."""
        raise NotImplementedError

    def agreement_status(self, labels: list[Any]) -> str | None:
        return None

    def summarize(self, values: list[Mapping[str, Any]]) -> ItemSummary:
        labels = [self.label_of(value) for value in values]
        counts = Counter(labels)
        majority = None
        if counts:
            top = max(counts.values())
            winners = sorted(label for label, count in counts.items() if count == top)
            majority = winners[0] if len(winners) == 1 else None
        return ItemSummary(
            n_annotations=len(values),
            label_distribution={str(label): counts[label] for label in sorted(counts)},
            majority_label=majority,
            agreement_status=self.agreement_status(labels),
        )

    def export_item_fields(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Every field of the item schema, in schema order, so export columns never vary."""
        return {name: payload.get(name) for name in self.item_schema.model_fields}

    def export_shapes(self) -> dict[str, Callable[..., Iterator[dict[str, Any]]]]:
        """Export shapes beyond ``annotations`` and ``items``."""
        return {}

"""The task-type plug-in interface.

A task type owns its item and annotation schemas (pydantic v2, the one schema language of the
project), the import adapters that turn foreign rows into its items, the annotator template, how
an annotator's form becomes a canonical value, its configuration schema, its export shapes and
their options, and its review filters. Nothing outside ``annotate/tasktypes/<type>/`` and its
templates and static files branches on a task type's name: the API, the commands and the pages
render these declarations generically.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from core.errors import FieldError, SchemaError, validate_model

from .modeling import Predictions

_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_DROP_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE))


def not_blank(text: str) -> str:
    """A pydantic after-validator for text fields: whitespace and zero-width characters (zero-width
    space, non-joiner, joiner, word joiner, byte-order mark) alone are not text."""
    stripped = text.strip()
    if stripped and stripped[0] not in _INVISIBLE:
        return text  # a visible character: text (the common case, without copying the text)
    if not text.translate(_DROP_INVISIBLE).strip():
        raise ValueError("must not be blank")
    return text


def unanimous_or_split(labels: list[Any]) -> str | None:
    """The agreement status of types without a finer one: ``unanimous`` when every label is the
    same, ``split`` otherwise, ``None`` below two labels."""
    if len(labels) < 2:
        return None
    return "unanimous" if len(set(labels)) == 1 else "split"


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


@dataclass
class AdaptedItem:
    """What an adapter yields for an item that comes with published labels.

    ``labels`` are rows of the labels import (``annotate.services.labels_import``) without their
    ``external_id``: ``{annotator, value, cohort?, created_at?, time_spent_ms?, metadata?}``.
    The items import stores them in the same transaction as the items, all or nothing.
    """

    record: dict[str, Any]
    labels: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportSource:
    """Where an import's records come from (see ``TaskType.import_source``).

    ``stream`` and ``fmt`` are what the importer parses; ``finish``, when set, runs on the records
    after the adapter and before validation (e.g. to resolve file references and store the files).
    """

    stream: Any
    fmt: str | None
    finish: Callable[[Iterator[tuple[int, Any]]], Iterator[tuple[int, Any]]] | None = None


class ConfigInvalid(SchemaError, ValueError):
    """A project configuration does not fit its task type's ``config_schema``.

    A ``SchemaError`` (its ``errors`` name each ``config.<key>``) and a ``ValueError`` (what the
    project service turns into a 400 on ``config``)."""


@dataclass(frozen=True)
class ShapeOption:
    """An option of an export shape (``ExportShape.options``): a choice among fixed values.

    The export API takes it as a query parameter, the ``export`` command as ``--<name>`` (dashes
    for underscores), and the project page as a select; ``default`` is used when it is not given.
    """

    name: str
    label: str
    choices: tuple[tuple[str, str], ...]
    default: str
    help: str = ""

    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _label in self.choices)

    def check(self, value: str) -> str:
        """``value`` when it is one of the choices; ``ValueError`` naming the option otherwise."""
        if value not in self.values():
            values = self.values()
            listed = ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]
            raise ValueError(f"{self.name} must be {listed}")
        return value


@dataclass(frozen=True)
class ExportShape:
    """A task type's own export shape (beyond ``annotations`` and ``items``).

    ``rows(records, **options)`` turns ``(item, labels, summary)`` records into rows; every
    option it takes is declared in ``options``, and arrives checked against its choices.
    """

    name: str
    # ``None`` only for the platform's own shapes (``annotate.exporting.BASE_SHAPES``).
    rows: Callable[..., Iterator[dict[str, Any]]] | None = None
    options: tuple[ShapeOption, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class ReviewFilter:
    """A list of the leads' review queue beyond "untagged", "all" and "tagged": the diverging
    items whose agreement status is one of ``statuses`` (``DivergenceSpec.review_filters``)."""

    name: str
    label: str
    statuses: tuple[str, ...]


@dataclass(frozen=True)
class Demo:
    """A task type's demo project for ``manage.py demo_setup``: its name and instructions, and
    the items as the bytes of an import (``fmt``; ``adapter``, when set, names one of the type's
    import adapters), so the demo goes through the same import path as real data."""

    project_name: str
    instructions: str
    data: Callable[[], bytes]
    fmt: str | None = None
    adapter: str | None = None


@dataclass(frozen=True)
class AgreementField:
    """One field the analysis measures agreement on (``TaskType.agreement_fields``).

    A value is read either by ``path`` (keys into the annotation value; read in SQL, so it is fast
    on big projects), then recoded by ``transform`` (a vectorised function on a float array), or by
    ``extract(value, payload)`` when it needs the item (a comment id's position, say). Nominal
    fields may give any JSON scalar; the other levels need numbers. ``None`` means no value.
    ``level`` is ``nominal``, ``ordinal``, ``interval``, ``ratio`` or ``custom`` (``distance``).
    ``tolerance`` adds agreement within +-tolerance; ``reference(payload)`` a gold answer to score
    against; the ``primary`` field is the one of annotator agreement and model accuracy.
    """

    name: str
    label: str
    level: str = "nominal"
    path: tuple[str, ...] = ()
    transform: Callable[[Any], Any] | None = None
    extract: Callable[[Mapping[str, Any], Mapping[str, Any]], Any] | None = None
    distance: Callable[[float, float], float] | None = None
    tolerance: float | None = None
    reference: Callable[[Mapping[str, Any]], Any] | None = None
    primary: bool = False
    value_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SetField:
    """A field whose value is a set per annotation (boxes, tone labels), measured on whole sets
    rather than scalars (``TaskType.set_fields``).

    ``extract(value, payload)`` gives an annotation's sets as ``{unit key: elements}``: one key for
    one set per item (a visual argument's boxes), one key per part of the item for a set per part
    (a thread's comments and their tones); ``None`` means no value. The analysis gathers one unit
    per (item, key), a mapping annotator id -> elements, and ``measure(units)`` (a pure function
    from ``stats``) returns the figures as ``{name: number or None}``, with
    ``{"reasons": {name: why}}`` for the undefined ones. ``figures`` names and labels the figures
    shown, in order, on the dashboard, in the API's CSV and in ``compute_agreement``.
    """

    name: str
    label: str
    extract: Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any] | None]
    measure: Callable[[Sequence[Mapping[int, Any]]], Mapping[str, Any]]
    figures: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DivergenceSpec:
    """How a task type's items diverge (``TaskType.divergence``): which agreement statuses a lead
    reviews, the default taxonomy of reasons, and how to read a model's prediction against them."""

    statuses: tuple[str, ...]
    diverging: frozenset[str]
    agreeing: frozenset[str]
    # The agreement field whose values feed ``TaskType.agreement_status``.
    status_field: str
    default_taxonomy: tuple[tuple[str, tuple[str, ...]], ...]
    # The two texts the cheap suggestion signals compare (``analysis.suggestions``).
    texts: Callable[[Mapping[str, Any]], tuple[str, str] | None]
    # A prediction's uncertainty from its score and distribution (higher = less sure).
    uncertainty: Callable[[float | None, Mapping[str, Any] | None], float | None]
    # Whether a prediction's value picks a winner (not a tie).
    picks_winner: Callable[[Mapping[str, Any]], bool | None]
    # The template showing one item in the leads' review queue (context: ``item``, ``payload``).
    review_template: str = ""
    # Lists of the review queue by agreement status, shown between "all" and "tagged".
    review_filters: tuple[ReviewFilter, ...] = ()


class TaskType:
    """Base class of the plug-ins; subclasses set the class attributes and override hooks."""

    name: ClassVar[str]
    label: ClassVar[str]
    item_schema: ClassVar[type[BaseModel]]
    annotation_schema: ClassVar[type[BaseModel]]
    annotator_template: ClassVar[str]
    # Static files the annotator page loads for this type (paths under static/).
    annotator_scripts: ClassVar[tuple[str, ...]] = ()
    annotator_styles: ClassVar[tuple[str, ...]] = ()
    default_config: ClassVar[dict[str, Any]] = {}
    # The project configuration's schema; ``validate_config`` checks a configuration with it.
    config_schema: ClassVar[type[BaseModel] | None] = None
    # Columns of the platform's own CSV layout holding JSON (lists, objects).
    csv_json_columns: ClassVar[frozenset[str]] = frozenset({"metadata"})
    # How model backends predict this type: one mapping per operation it can use (modeling.py).
    predictions: ClassVar[Predictions | None] = None

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
        """The configuration as given (defaults are filled in by ``config``), once it fits
        ``config_schema``; ``ConfigInvalid`` names each key that does not."""
        if self.config_schema is not None:
            try:
                validate_model(self.config_schema, dict(project_config), prefix="config.")
            except SchemaError as exc:
                raise ConfigInvalid(exc.errors) from None
        return dict(project_config)

    # --- import
    def adapters(self) -> dict[str, Adapter]:
        """Named import adapters beyond the platform's own format. An adapter yields item
        records, or ``AdaptedItem``s: an item record with the labels published for it."""
        return {}

    def adapter_config(self, adapter: str) -> dict[str, Any]:
        """Project configuration an adapter needs (a 7-point scale, say): set by the import on a
        project without items, and required to match on one that has some. None by default."""
        return {}

    def import_source(self, stream: Any, *, fmt: str | None) -> ImportSource:
        """The records of an import. The default parses ``stream`` as it is; a task type may
        accept other containers (a zip of images plus a manifest) or post-process records."""
        return ImportSource(stream=stream, fmt=fmt)

    def item_files(self, payload: Mapping[str, Any]) -> dict[str, str]:
        """Files an item refers to, as ``{key: storage path}``, served to project members."""
        return {}

    # --- annotator UI
    def annotator_payload(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """What an annotator may see of an item: gold and reference answers left out."""
        return dict(payload)

    def shown_order(self, payload: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        return {}

    def form_to_value(
        self, form: Mapping[str, Any], *, shown_order: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        raise NotImplementedError(f"{self.name} has no annotator form")

    def display_context(
        self,
        payload: Mapping[str, Any],
        *,
        shown_order: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> dict[str, Any]:
        return {"payload": payload}

    # --- summaries and export
    def label_of(self, value: Mapping[str, Any]) -> Any:
        """The primary label of an annotation, the unit of distributions and majorities."""
        raise NotImplementedError

    def gold_agrees(self, value: Mapping[str, Any], gold_value: Mapping[str, Any]) -> bool:
        """Whether an annotation counts as right on a gold item; by default, the same label."""
        return bool(self.label_of(value) == self.label_of(gold_value))

    def agreement_status(
        self, labels: list[Any], *, config: Mapping[str, Any] | None = None
    ) -> str | None:
        """An item's agreement status from its labels, for a project's ``config``."""
        return None

    # --- analysis (the ``analysis`` app reads these; none by default)
    def agreement_fields(self, config: Mapping[str, Any]) -> list[AgreementField]:
        """The fields agreement is measured on, for a project's configuration."""
        return []

    def set_fields(self, config: Mapping[str, Any]) -> list[SetField]:
        """The set-valued fields agreement is measured on (boxes, labels per part of an item)."""
        return []

    def divergence(self) -> DivergenceSpec | None:
        """Divergence review (statuses, taxonomy, suggestions), for types that have it."""
        return None

    def position_pick(self, value: Mapping[str, Any], shown_order: Mapping[str, Any]) -> str | None:
        """``left`` or ``right``: the on-screen side an annotation picked (position bias)."""
        return None

    # The keys of an annotation value that ``position_pick`` reads. When given, the analysis reads
    # only those and calls ``position_pick`` once per distinct (annotator, value, shown order),
    # counted in SQL, instead of once per annotation with the whole value.
    position_keys: ClassVar[tuple[str, ...] | None] = None

    @property
    def has_position_pick(self) -> bool:
        """Whether annotations pick an on-screen side (``position_pick`` is overridden), so the
        dashboard's "left picks" column means something for this type."""
        return type(self).position_pick is not TaskType.position_pick

    def summarize(
        self, values: list[Mapping[str, Any]], *, config: Mapping[str, Any] | None = None
    ) -> ItemSummary:
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
            agreement_status=self.agreement_status(labels, config=config),
        )

    def demo(self) -> Demo | None:
        """The type's demo project (``manage.py demo_setup``), if it has one."""
        return None

    def export_item_fields(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Every field of the item schema, in schema order, so export columns never vary."""
        return {name: payload.get(name) for name in self.item_schema.model_fields}

    def export_shapes(self) -> tuple[ExportShape, ...]:
        """Export shapes beyond ``annotations`` and ``items``, with their options."""
        return ()

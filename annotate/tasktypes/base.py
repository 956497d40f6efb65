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
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from core.errors import FieldError, SchemaError, validate_model
from stats.spread import not_unanimous, spread_exceeds

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


MIN_VOTES_FOR_STATUS = 2
"""An item needs at least this many counted labels for an agreement status: one label cannot
diverge, and would read as high agreement. ``TaskType.item_status`` applies it, for the exports
(``ItemSummary.agreement_status``), the analysis and the API alike: the one place of the rule."""


def unanimous_or_split(labels: list[Any]) -> str | None:
    """The agreement status of types without a finer one: ``unanimous`` when every label is the
    same, ``split`` otherwise (``TaskType.item_status`` leaves out items with too few labels)."""
    if not labels:
        return None
    return "unanimous" if len(set(labels)) == 1 else "split"


def _field_value(
    field_: AgreementField, value: Mapping[str, Any], payload: Mapping[str, Any]
) -> Any:
    """An agreement field's value in one annotation, read in Python (``None``: no value)."""
    if field_.extract is not None:
        return field_.extract(value, payload)
    current: Any = value
    for key in field_.path:
        if not isinstance(current, Mapping) or key not in current:
            return None
        current = current[key]
    if current is not None and field_.transform is not None:
        current = float(field_.transform(float(current)))
    return current


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


@dataclass(frozen=True)
class RunPrediction:
    """One prediction of a model run, as the type's paper metrics read it."""

    item_id: int
    value: Mapping[str, Any]
    score: float | None
    distribution: Mapping[str, float] | None
    details: Mapping[str, Any]


class MetricsData(Protocol):
    """What a type's paper metrics may read about a project: plain data, read lazily (each
    method queries once, on first use) by ``analysis.selectors.metrics``. Item ids are the keys.
    Gold and qualification items are left out of ``human_values``, as in every analysis."""

    @property
    def config(self) -> Mapping[str, Any]: ...

    def payloads(self) -> Mapping[int, Mapping[str, Any]]: ...

    def gold(self) -> Mapping[int, Mapping[str, Any]]:
        """The gold value of every item that has one (gold items and imported references)."""
        ...

    def human_values(self) -> Mapping[int, Sequence[Mapping[str, Any]]]:
        """The current annotation values of every annotated item (flagged annotators left out)."""
        ...

    def statuses(self) -> Mapping[int, str | None]:
        """Each annotated item's agreement status (types with a divergence spec; else empty)."""
        ...


@dataclass(frozen=True)
class PaperTable:
    """One table of the type's source paper, laid out from a project's figures (the JSON of
    ``Figures.to_dict()``) for the paper view, ``/report/`` and its CSV."""

    key: str
    title: str
    caption: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "caption": self.caption,
            "columns": list(self.columns),
            "rows": [list(row) for row in self.rows],
            "notes": list(self.notes),
        }


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

    def validate_prediction(
        self, value: Any, *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A model's prediction value as stored: an annotation's rules by default. A type whose
        predictions may leave parts unanswered (a reply that did not parse) relaxes them."""
        return self.validate_annotation(value, config=config, payload=payload)

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
        """The type's classification of an item's labels, for a project's ``config``. Callers
        use ``item_status``, which applies the minimum number of labels first."""
        return None

    def item_status(
        self, labels: Sequence[Any], *, config: Mapping[str, Any] | None = None
    ) -> str | None:
        """An item's agreement status: ``None`` under ``MIN_VOTES_FOR_STATUS`` labels, else the
        type's ``agreement_status``. Exports, analysis and API all read statuses through here."""
        if len(labels) < MIN_VOTES_FOR_STATUS:
            return None
        return self.agreement_status(list(labels), config=config)

    def labels_disagree(
        self,
        values: Sequence[Mapping[str, Any]],
        *,
        payload: Mapping[str, Any],
        threshold: float,
        config: Mapping[str, Any],
    ) -> bool:
        """Whether an item's first labels disagree enough to ask for more (adaptive overlap).

        By default on the primary agreement field: a nominal one disagrees when not unanimous
        (``threshold`` unused), an ordered one when its spread is more than ``threshold``; a
        type without a primary field compares ``label_of``. A type overrides this for its own
        scale (a preference's points)."""
        primary = next((f for f in self.agreement_fields(config) if f.primary), None)
        if primary is None:
            return not_unanimous(self.label_of(value) for value in values)
        read = [_field_value(primary, value, payload) for value in values]
        if primary.level in ("ordinal", "interval", "ratio"):
            return spread_exceeds([float(v) for v in read if v is not None], threshold)
        return not_unanimous(read)

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
            agreement_status=self.item_status(labels, config=config),
        )

    def summary_key(self) -> Callable[[Mapping[str, Any]], Any] | None:
        """What ``summarize`` reads of one annotation value, as a function giving a hashable key:
        items whose labels give the same keys (in the same order) get one summary, computed once
        (the export summarizes a million items). ``None``: not declared, every item summarized.
        The base ``summarize`` reads ``label_of`` only; a type that overrides ``summarize``
        declares its own key (or none)."""
        return self.label_of if type(self).summarize is TaskType.summarize else None

    def demo(self) -> Demo | None:
        """The type's demo project (``manage.py demo_setup``), if it has one."""
        return None

    def export_item_fields(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Every field of the item schema, in schema order, so export columns never vary."""
        return {name: payload.get(name) for name in self.item_schema.model_fields}

    def export_shapes(self) -> tuple[ExportShape, ...]:
        """Export shapes beyond ``annotations`` and ``items``, with their options."""
        return ()

    # --- the source paper's metrics (the analysis app calls these; JSON-ready dicts)
    def paper_figures(self, data: MetricsData) -> dict[str, Any]:
        """Project-level figures of the type's source paper computed from the humans' labels
        (``Figures.paper``): e.g. the humans' accuracy against gold per question kind."""
        return {}

    def model_metrics(
        self, data: MetricsData, predictions: Sequence[RunPrediction]
    ) -> dict[str, Any]:
        """The source paper's metrics for one model run (``ModelFigures.metrics``)."""
        return {}

    def paper_tables(self, figures: Mapping[str, Any]) -> list[PaperTable]:
        """The source paper's tables laid out from a project's figures (their JSON form)."""
        return []

    # --- predictions import (``models_runtime.predictions_import``)
    # Whether an imported prediction may carry a ``score`` and no ``value`` (stored as ``{}``;
    # readers of a prediction's value must then treat each field as absent).
    score_only_predictions: ClassVar[bool] = False

    def prediction_adapters(self) -> dict[str, Adapter]:
        """Named adapters of the predictions import (``?adapter=``): each turns a file's records
        into rows ``{external_id, value?, score?, distribution?, details?}``, and may yield
        ``(line, SchemaError)`` for a bad source row, as the item adapters do."""
        return {}

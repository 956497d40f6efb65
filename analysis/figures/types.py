"""The figures of a project as typed values, shared by the tables, views, templates and the API.

``Figures.to_dict()`` is the JSON form: the API body and what ``AnalysisSnapshot.data`` stores;
``Figures.from_dict()`` reads it back. The JSON keeps its historical shape: keys that only some
fields have (a bootstrap interval, Fleiss' and Cohen's kappa, a tolerance, a label distribution,
accuracy against a reference) are left out where they do not apply, not written as ``null``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any


def sorted_keys(value: Any) -> Any:
    """A type-defined JSON value (``ModelFigures.metrics``, ``Figures.paper``) with every
    mapping's keys sorted: the same order computed and read back from a JSONB snapshot."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value


@dataclass(frozen=True)
class ProjectRef:
    id: int
    name: str
    task_type: str


@dataclass(frozen=True)
class TimelinePoint:
    date: str
    n: int
    cumulative: int


@dataclass(frozen=True)
class Progress:
    n_items: int
    n_done: int
    n_in_progress: int
    n_open: int
    n_annotations: int
    n_annotations_wanted: int
    timeline: list[TimelinePoint] = dataclass_field(default_factory=list)
    # Items whose target adaptive overlap raised (their first labels disagreed); 0 in
    # figures stored before it existed.
    n_extended: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_items": self.n_items,
            "n_done": self.n_done,
            "n_in_progress": self.n_in_progress,
            "n_open": self.n_open,
            "n_annotations": self.n_annotations,
            "n_annotations_wanted": self.n_annotations_wanted,
            "n_extended": self.n_extended,
            "timeline": [vars(p).copy() for p in self.timeline],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Progress:
        return cls(
            **{k: v for k, v in d.items() if k != "timeline"},
            timeline=[TimelinePoint(**p) for p in d.get("timeline", [])],
        )


@dataclass(frozen=True)
class FieldFigures:
    """One agreement field. ``confidence`` is ``None`` when the field has no annotations yet;
    the kappas then do not apply, and Cohen's only with exactly two coders."""

    name: str
    label: str
    level: str
    alpha: float | None = None
    low: float | None = None
    high: float | None = None
    confidence: float | None = None
    n_bootstrap: int | None = None
    reason: str | None = None
    n_coders: int = 0
    n_units: int = 0
    n_pairable_values: int = 0
    observed_agreement: float | None = None
    tolerance: float | None = None
    agreement_within_tolerance: float | None = None
    distribution: dict[str, int] | None = None
    fleiss_kappa: float | None = None
    fleiss_reason: str | None = None
    cohen_kappa: float | None = None
    reference_accuracy: float | None = None
    reference_n: int | None = None

    @property
    def has_kappas(self) -> bool:
        return self.level == "nominal" and self.confidence is not None

    @property
    def has_cohen_kappa(self) -> bool:
        return self.has_kappas and self.n_coders == 2

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "level": self.level,
            "alpha": self.alpha,
            "low": self.low,
            "high": self.high,
        }
        if self.confidence is not None:
            d.update(confidence=self.confidence, n_bootstrap=self.n_bootstrap)
        d.update(
            reason=self.reason,
            n_coders=self.n_coders,
            n_units=self.n_units,
            n_pairable_values=self.n_pairable_values,
            observed_agreement=self.observed_agreement,
        )
        if self.tolerance is not None:
            d.update(
                tolerance=self.tolerance,
                agreement_within_tolerance=self.agreement_within_tolerance,
            )
        if self.distribution is not None:
            d["distribution"] = dict(self.distribution)
        if self.has_kappas:
            d.update(fleiss_kappa=self.fleiss_kappa, fleiss_reason=self.fleiss_reason)
        if self.has_cohen_kappa:
            d["cohen_kappa"] = self.cohen_kappa
        if self.reference_n is not None:
            d.update(reference_accuracy=self.reference_accuracy, reference_n=self.reference_n)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FieldFigures:
        return cls(**d)


@dataclass(frozen=True)
class SetFigure:
    name: str
    label: str
    value: int | float | None
    reason: str | None


@dataclass(frozen=True)
class SetFieldFigures:
    """A set field's figures (boxes, tones per comment), in the order its task type lists them."""

    name: str
    label: str
    figures: list[SetFigure]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "figures": [vars(f).copy() for f in self.figures],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SetFieldFigures:
        return cls(d["name"], d["label"], [SetFigure(**f) for f in d["figures"]])


@dataclass(frozen=True)
class AnnotatorRow:
    annotator_id: int
    username: str
    flagged: bool
    n_annotations: int
    loo_agreement: float | None
    loo_compared: int
    gold_accuracy: float | None
    gold_answers: int
    median_seconds: float | None
    left_pick_rate: float | None
    side_picks: int


@dataclass(frozen=True)
class Pairwise:
    """The pairwise agreement matrix on the primary field; ``field`` is ``None`` without one."""

    annotators: list[str] = dataclass_field(default_factory=list)
    agreement: list[list[float | None]] = dataclass_field(default_factory=list)
    n_common: list[list[int]] = dataclass_field(default_factory=list)
    field: str | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        if self.field is None:
            return {"annotators": [], "agreement": [], "n_common": []}
        return {
            "field": self.field,
            "annotators": list(self.annotators),
            "agreement": [list(row) for row in self.agreement],
            "n_common": [list(row) for row in self.n_common],
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Pairwise:
        return cls(**d)


@dataclass(frozen=True)
class AnnotatorFigures:
    field: str | None
    rows: list[AnnotatorRow]
    pairwise: Pairwise

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "rows": [vars(r).copy() for r in self.rows],
            "pairwise": self.pairwise.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnnotatorFigures:
        return cls(
            field=d["field"],
            rows=[AnnotatorRow(**r) for r in d["rows"]],
            pairwise=Pairwise.from_dict(d["pairwise"]),
        )


@dataclass(frozen=True)
class DivergenceFigures:
    """Items per agreement status, the diverging items as ``(item id, status)``, and the ids of
    the items of every status (``items_by_status``, ascending; items with too few votes for a
    status are in none), which the divergence API filters and pages by."""

    status_counts: dict[str, int]
    n_with_status: int
    n_too_few_votes: int
    diverging_items: list[tuple[int, str]]
    items_by_status: dict[str, list[int]] = dataclass_field(default_factory=dict)

    def status_of(self) -> dict[int, str]:
        """Item id -> status, for the items that have one."""
        return {i: status for status, ids in self.items_by_status.items() for i in ids}

    def to_dict(self) -> dict[str, Any]:
        return {
            "status_counts": dict(self.status_counts),
            "n_with_status": self.n_with_status,
            "n_too_few_votes": self.n_too_few_votes,
            "diverging_items": [[item_id, status] for item_id, status in self.diverging_items],
            "items_by_status": {s: list(ids) for s, ids in self.items_by_status.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DivergenceFigures:
        # ``items_by_status`` is required: figures stored before it are recomputed (``load``).
        return cls(
            status_counts=dict(d["status_counts"]),
            n_with_status=d["n_with_status"],
            n_too_few_votes=d["n_too_few_votes"],
            diverging_items=[(int(i), s) for i, s in d["diverging_items"]],
            items_by_status={s: [int(i) for i in ids] for s, ids in d["items_by_status"].items()},
        )


@dataclass(frozen=True)
class CohortFieldFigures:
    """Agreement on one field among one cohort's annotators only."""

    name: str
    label: str
    alpha: float | None
    reason: str | None
    n_coders: int
    n_units: int
    n_pairable_values: int


@dataclass(frozen=True)
class CohortFigures:
    """One cohort of annotators (``Membership.cohort``, e.g. crowd or expert, set by the labels
    import): its size and the agreement per field computed on its annotators' labels alone."""

    cohort: str
    n_annotators: int
    n_annotations: int
    fields: list[CohortFieldFigures]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "n_annotators": self.n_annotators,
            "n_annotations": self.n_annotations,
            "fields": [vars(f).copy() for f in self.fields],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CohortFigures:
        return cls(
            cohort=d["cohort"],
            n_annotators=d["n_annotators"],
            n_annotations=d["n_annotations"],
            fields=[CohortFieldFigures(**f) for f in d["fields"]],
        )


@dataclass(frozen=True)
class ModelFieldFigures:
    name: str
    alpha_humans: float | None
    alpha_with_model: float | None
    reason: str | None


@dataclass(frozen=True)
class ModelFigures:
    """One finished model run against the humans. The AUROC and winner-share figures are there
    only for task types with a divergence spec (``auroc_n_diverging`` is ``None`` otherwise).

    ``winner_share_by_status``: ``{status: {"share": float | None, "n": int, "n_winner": int}}``
    for every agreement status of the spec: of the run's predictions on items of that status,
    how many pick a winner (not a tie). Items with too few votes for a status are left out."""

    run_id: int
    model_name: str
    source: str
    n_predictions: int
    accuracy_vs_majority: float | None
    n_compared: int
    fields: list[ModelFieldFigures]
    auroc: float | None = None
    auroc_reason: str | None = None
    auroc_n_diverging: int | None = None
    auroc_n_agreeing: int | None = None
    diverging_winner_share: float | None = None
    n_diverging_predicted: int | None = None
    winner_share_by_status: dict[str, dict[str, Any]] | None = None
    # The source paper's metrics for this run (``TaskType.model_metrics``), type-defined keys.
    metrics: dict[str, Any] = dataclass_field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "run_id": self.run_id,
            "model_name": self.model_name,
            "source": self.source,
            "n_predictions": self.n_predictions,
            "accuracy_vs_majority": self.accuracy_vs_majority,
            "n_compared": self.n_compared,
            "fields": [vars(f).copy() for f in self.fields],
        }
        if self.auroc_n_diverging is not None:
            d.update(
                auroc=self.auroc,
                auroc_reason=self.auroc_reason,
                auroc_n_diverging=self.auroc_n_diverging,
                auroc_n_agreeing=self.auroc_n_agreeing,
                diverging_winner_share=self.diverging_winner_share,
                n_diverging_predicted=self.n_diverging_predicted,
            )
            if self.winner_share_by_status is not None:
                d["winner_share_by_status"] = {
                    status: dict(cell) for status, cell in self.winner_share_by_status.items()
                }
        if self.metrics:
            d["metrics"] = sorted_keys(self.metrics)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelFigures:
        shares = d.get("winner_share_by_status")
        return cls(
            **{k: v for k, v in d.items() if k not in ("fields", "winner_share_by_status")},
            fields=[ModelFieldFigures(**f) for f in d["fields"]],
            # Each cell's keys in their written order (JSONB does not keep it).
            winner_share_by_status=(
                {
                    status: {"share": c["share"], "n": c["n"], "n_winner": c["n_winner"]}
                    for status, c in shares.items()
                }
                if shares is not None
                else None
            ),
        )


@dataclass(frozen=True)
class DawidSkeneLabel:
    """One label of a Dawid-Skene field: its estimated prior, its mean posterior over the items,
    and the items whose most probable true label it is."""

    label: str
    prior: float | None
    mean_posterior: float | None
    n_map: int


@dataclass(frozen=True)
class DawidSkeneAnnotator:
    """An annotator's estimated accuracy: the chance their label is the true one on an item drawn
    from the estimated prior (sum over labels k of prior_k x confusion[k, k])."""

    annotator_id: int
    username: str
    n_labels: int
    accuracy: float | None


@dataclass(frozen=True)
class DawidSkeneFigures:
    """Dawid-Skene (1979) on one nominal agreement field (``analysis.figures.dawid_skene``)."""

    field: str
    label: str
    n_items: int
    n_annotators: int
    labels: list[DawidSkeneLabel]
    annotators: list[DawidSkeneAnnotator]
    mean_map_posterior: float | None
    n_differs_from_majority: int
    n_majority_ties: int
    iterations: int
    converged: bool
    log_likelihood: float | None

    def to_dict(self) -> dict[str, Any]:
        d = vars(self).copy()
        d["labels"] = [vars(x).copy() for x in self.labels]
        d["annotators"] = [vars(x).copy() for x in self.annotators]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DawidSkeneFigures:
        return cls(
            **{k: v for k, v in d.items() if k not in ("labels", "annotators")},
            labels=[DawidSkeneLabel(**x) for x in d["labels"]],
            annotators=[DawidSkeneAnnotator(**x) for x in d["annotators"]],
        )


@dataclass(frozen=True)
class Figures:
    """Every figure of a project's analysis (``analysis.figures.agreement_compute``)."""

    project: ProjectRef
    computed_at: str
    n_annotations: int
    n_items_annotated: int
    n_annotators: int
    progress: Progress
    fields: list[FieldFigures]
    annotators: AnnotatorFigures
    divergence: DivergenceFigures | None
    set_fields: list[SetFieldFigures]
    models: list[ModelFigures]
    # The source paper's project-level figures (``TaskType.paper_figures``), type-defined keys.
    paper: dict[str, Any] = dataclass_field(default_factory=dict)
    # Agreement per cohort of annotators, where memberships have cohorts (key absent otherwise).
    cohorts: list[CohortFigures] = dataclass_field(default_factory=list)
    # Dawid-Skene per nominal agreement field (the JSON key is left out when there is none).
    dawid_skene: list[DawidSkeneFigures] = dataclass_field(default_factory=list)

    @property
    def has_reference(self) -> bool:
        """Whether any field was compared with a reference (gold) answer."""
        return any(f.reference_n for f in self.fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": vars(self.project).copy(),
            "computed_at": self.computed_at,
            "n_annotations": self.n_annotations,
            "n_items_annotated": self.n_items_annotated,
            "n_annotators": self.n_annotators,
            "progress": self.progress.to_dict(),
            "fields": [f.to_dict() for f in self.fields],
            "annotators": self.annotators.to_dict(),
            "divergence": self.divergence.to_dict() if self.divergence else None,
            "set_fields": [f.to_dict() for f in self.set_fields],
            "models": [m.to_dict() for m in self.models],
            **({"paper": sorted_keys(self.paper)} if self.paper else {}),
            **({"cohorts": [c.to_dict() for c in self.cohorts]} if self.cohorts else {}),
            **(
                {"dawid_skene": [f.to_dict() for f in self.dawid_skene]} if self.dawid_skene else {}
            ),
        }

    @classmethod
    def load(cls, data: Any) -> Figures | None:
        """The figures of a stored JSON form; ``None`` when there is none, or when it has a shape
        this code cannot read (written by another version): the caller treats it as missing."""
        if not data:
            return None
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Figures:
        return cls(
            project=ProjectRef(**d["project"]),
            computed_at=d["computed_at"],
            n_annotations=d["n_annotations"],
            n_items_annotated=d["n_items_annotated"],
            n_annotators=d["n_annotators"],
            progress=Progress.from_dict(d["progress"]),
            fields=[FieldFigures.from_dict(f) for f in d["fields"]],
            annotators=AnnotatorFigures.from_dict(d["annotators"]),
            divergence=DivergenceFigures.from_dict(d["divergence"]) if d["divergence"] else None,
            set_fields=[SetFieldFigures.from_dict(f) for f in d.get("set_fields", [])],
            models=[ModelFigures.from_dict(m) for m in d.get("models", [])],
            paper=d.get("paper", {}),
            cohorts=[CohortFigures.from_dict(c) for c in d.get("cohorts", [])],
            dawid_skene=[DawidSkeneFigures.from_dict(f) for f in d.get("dawid_skene", [])],
        )

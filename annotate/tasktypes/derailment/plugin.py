"""``derailment``: where does a conversation derail (SPEC 2.2; Imran et al., 2025).

An item is an issue thread; an annotation says whether it turns toxic, which comment is the toxic
one, where it first turns toward toxicity (the derailment point, or ``None`` for "never derails")
and, optionally, tone labels per comment.

Rules (one function, ``derailment_rules``, used for annotations and imported reference labels):
- ``toxic_comment`` and ``derailment_comment`` name comments of the thread;
- ``toxic`` true needs a ``toxic_comment``; ``toxic`` false needs both to be ``None`` (a thread
  that never turns toxic has no derailment point in the paper's sense);
- the derailment comment is the toxic comment or comes before it.

Reference labels (the paper's ``toxic``/``tbdf`` columns) are kept in the item's ``reference``
field, never as an annotation: they do not count toward overlap, distributions or agreement, are
never shown to annotators, and are exported in their own column.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from core.errors import FieldError, SchemaError, validate_model
from stats.label_sets import label_set_agreement

from ..base import AgreementField, ItemSummary, SetField, TaskType, not_blank, unanimous_or_split
from .predictions import PREDICTIONS

DEFAULT_TONES = [
    "Bitter frustration",
    "Impatience",
    "Mocking",
    "Insulting",
    "Vulgarity",
    "Irony",
    "Entitlement",
    "Identity attack / name-calling",
    "Threat",
]
MAX_COMMENTS = 2000
NEVER = "never"  # the derailment label of "never derails" in distributions and exports


def _id_text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


CommentId = Annotated[str, BeforeValidator(_id_text), Field(min_length=1, max_length=100)]
Title = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(not_blank)]


class Comment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: CommentId
    author: str = Field(default="", max_length=200)
    author_association: str | None = Field(default=None, max_length=50)
    created_at: str | None = Field(default=None, max_length=64)
    reply_to: CommentId | None = None
    body: str = Field(max_length=200_000)


class DerailmentAnnotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    toxic: StrictBool
    toxic_comment: CommentId | None
    derailment_comment: CommentId | None
    tones: dict[str, list[Annotated[str, Field(min_length=1, max_length=100)]]] = Field(
        default_factory=dict
    )


class Reference(BaseModel):
    """A label that came with the data (e.g. the paper's), kept apart from crowd labels."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=200)
    value: DerailmentAnnotation


class DerailmentItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    comments: list[Comment] = Field(min_length=1, max_length=MAX_COMMENTS)
    metadata: dict[str, Any] = Field(default_factory=dict)
    reference: Reference | None = None


def derailment_rules(
    value: Mapping[str, Any],
    comment_ids: list[str],
    *,
    tones: list[str] | None,
    prefix: str = "value.",
) -> list[FieldError]:
    """The rules an annotation (or a reference label) must meet on its thread."""
    position = {comment_id: index for index, comment_id in enumerate(comment_ids)}
    errors = []
    toxic_comment = value.get("toxic_comment")
    derailment = value.get("derailment_comment")
    for name, chosen in (("toxic_comment", toxic_comment), ("derailment_comment", derailment)):
        if chosen is not None and chosen not in position:
            errors.append(FieldError(prefix + name, f"{chosen!r} is not a comment of this thread"))
    if value.get("toxic"):
        if toxic_comment is None:
            errors.append(
                FieldError(prefix + "toxic_comment", "required when toxic is true: which comment")
            )
    else:
        if toxic_comment is not None:
            errors.append(FieldError(prefix + "toxic_comment", "must be null when toxic is false"))
        if derailment is not None:
            errors.append(
                FieldError(
                    prefix + "derailment_comment",
                    "must be null when toxic is false: a thread that never turns toxic "
                    "does not derail",
                )
            )
    at = {
        name: position.get(chosen) if chosen is not None else None
        for name, chosen in (("toxic", toxic_comment), ("derailment", derailment))
    }
    if at["toxic"] is not None and at["derailment"] is not None and at["derailment"] > at["toxic"]:
        errors.append(
            FieldError(
                prefix + "derailment_comment",
                f"comes after the toxic comment (comment {at['derailment'] + 1} vs "
                f"{at['toxic'] + 1}); the derailment point must be the toxic comment or come "
                "before it",
            )
        )
    for comment_id, labels in value.get("tones", {}).items():
        field = f"{prefix}tones.{comment_id}"
        if comment_id not in position:
            errors.append(FieldError(field, "not a comment of this thread"))
        if len(set(labels)) != len(labels):
            errors.append(FieldError(field, "a tone is listed twice"))
        if tones is not None:
            for label in labels:
                if label not in tones:
                    errors.append(FieldError(field, f"{label!r} is not a tone of this project"))
    return errors


class Derailment(TaskType):
    name = "derailment"
    predictions = PREDICTIONS
    label = "Derailment point"
    item_schema = DerailmentItem
    annotation_schema = DerailmentAnnotation
    annotator_template = "annotate/tasktypes/derailment.html"
    annotator_scripts = ("js/derailment.js",)
    annotator_styles = ("css/derailment.css",)
    default_config = {"tones": DEFAULT_TONES, "tolerance": 1}
    csv_json_columns = frozenset({"comments", "metadata", "reference"})

    def validate_config(self, project_config: Mapping[str, Any]) -> dict[str, Any]:
        config = dict(project_config)
        tones = config.get("tones", DEFAULT_TONES)
        if (
            not isinstance(tones, list)
            or not all(isinstance(t, str) and t.strip() for t in tones)
            or len(set(tones)) != len(tones)
        ):
            raise ValueError("config.tones must be a list of distinct non-empty strings")
        tolerance = config.get("tolerance", 1)
        if not isinstance(tolerance, int) or isinstance(tolerance, bool) or tolerance < 0:
            raise ValueError("config.tolerance must be a whole number of comments, 0 or more")
        return config

    def validate_item(self, data: Mapping[str, Any]) -> dict[str, Any]:
        model = validate_model(self.item_schema, data)
        payload = model.model_dump(mode="json", exclude_none=True)
        if isinstance(model, DerailmentItem) and model.reference is not None:
            # A reference label's nulls ("never derails") are answers, not absent fields.
            payload["reference"] = model.reference.model_dump(mode="json")
        ids = [comment["id"] for comment in payload["comments"]]
        errors = []
        first: dict[str, int] = {}
        for index, comment_id in enumerate(ids):
            if first.setdefault(comment_id, index) != index:
                errors.append(
                    FieldError(
                        f"comments.{index}.id",
                        f"{comment_id!r} is also the id of comment {first[comment_id]}",
                    )
                )
        reference = payload.get("reference")
        if reference and not errors:
            errors += derailment_rules(
                reference["value"], ids, tones=None, prefix="reference.value."
            )
        if errors:
            raise SchemaError(errors)
        return payload

    def check_annotation(
        self, value: dict[str, Any], *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[FieldError]:
        ids = [comment["id"] for comment in payload.get("comments", [])]
        return derailment_rules(value, ids, tones=list(config["tones"]))

    # --- import
    def adapters(self) -> dict[str, Any]:
        return {"github_derailment": github_derailment_records}

    # --- annotator UI
    def annotator_payload(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in payload.items() if key != "reference"}

    def shown_order(self, payload: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        return {}  # a thread is read in its own order

    def form_to_value(
        self, form: Mapping[str, Any], *, shown_order: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Radio values are ``c:<comment id>``, ``none`` (no toxic comment) or ``never``; tone
        checkboxes are named ``tones:<comment id>``. A question left unanswered is left out, so
        that the schema names it."""
        value: dict[str, Any] = {}
        toxic = form.get("toxic_comment")
        if toxic:
            comment = toxic[2:] if toxic.startswith("c:") else None
            value["toxic"] = comment is not None
            value["toxic_comment"] = comment
        derailment = form.get("derailment_comment")
        if derailment:
            value["derailment_comment"] = derailment[2:] if derailment.startswith("c:") else None
        tones: dict[str, list[str]] = {}
        for key in form:
            if key.startswith("tones:"):
                labels = form.getlist(key) if hasattr(form, "getlist") else [form[key]]
                if labels:
                    tones[key.removeprefix("tones:")] = list(labels)
        value["tones"] = tones
        return value

    def display_context(
        self,
        payload: Mapping[str, Any],
        *,
        shown_order: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> dict[str, Any]:
        tones = self.config(config)["tones"]
        return {
            "title": payload["title"],
            "metadata": payload.get("metadata", {}),
            "comments": [
                {**comment, "position": index + 1}
                for index, comment in enumerate(payload["comments"])
            ],
            "tones": [(index + 1 if index < 9 else None, tone) for index, tone in enumerate(tones)],
        }

    # --- summaries and export
    def label_of(self, value: Mapping[str, Any]) -> str:
        return value.get("derailment_comment") or NEVER

    def agreement_status(self, labels: list[Any]) -> str | None:
        """``unanimous`` when every annotator picked the same derailment point (or "never"),
        ``split`` otherwise; ``None`` below two labels. Tolerance-window agreement is analysis."""
        return unanimous_or_split(labels)

    def summarize(self, values: list[Mapping[str, Any]]) -> ItemSummary:
        summary = super().summarize(values)
        toxic = Counter("true" if value["toxic"] else "false" for value in values)
        summary.extra["toxic_distribution"] = dict(sorted(toxic.items()))
        return summary

    def export_shapes(self) -> dict[str, Any]:
        return {"derailment_points": derailment_point_rows}

    # --- analysis
    def agreement_fields(self, config: Mapping[str, Any]) -> list[AgreementField]:
        """``toxic`` as nominal data (the primary field; scored against an imported reference
        label when the item has one), and the derailment point as a distance over comment
        positions with "never" as a value of its own, plus agreement within +-tolerance."""
        return [
            AgreementField(
                "toxic",
                "Toxic (yes / no)",
                "nominal",
                path=("toxic",),
                primary=True,
                reference=_reference_toxic,
                value_labels={"true": "toxic", "false": "not toxic"},
            ),
            AgreementField(
                "derailment_point",
                "Derailment point (comment position)",
                "custom",
                extract=_derailment_position,
                distance=derailment_distance,
                tolerance=float(self.config(config)["tolerance"]),
            ),
        ]

    def set_fields(self, config: Mapping[str, Any]) -> list[SetField]:
        """Tones per comment (SPEC 2.2): each comment of a thread is a unit, each annotator of
        the thread gives it a set of tones (empty when they ticked none); measured per tone
        (presence / absence, nominal alpha), as "any tone", and as whole sets (MASI distance)."""
        tones = tuple(self.config(config)["tones"])
        figures = (
            ("masi_alpha", "Tones per comment: alpha with the MASI set distance"),
            ("exact_agreement", "Tones per comment: pairs giving the same set"),
            ("any_alpha", "Any tone on a comment (yes / no): alpha"),
            *((f"alpha:{tone}", f"{tone}: alpha (present / absent)") for tone in tones),
            ("n_units", "Comments with two or more annotators"),
        )
        return [
            SetField(
                "tones",
                "Tones per comment",
                extract=_tones_per_comment,
                measure=_tone_measure(tones),
                figures=figures,
            )
        ]


NEVER_POSITION = -1000.0
"""The code of "never derails": far from every position, so no tolerance window reaches it."""

NEVER_DISTANCE = 25.0
"""Distance between "never" and any position, and the cap of positional distances: squared
differences (Krippendorff's interval footing) up to 5 comments apart, so that disagreeing on
whether a conversation derails at all weighs as much as the widest disagreement on where."""


def derailment_distance(c: float, k: float) -> float:
    if c == k:
        return 0.0
    if NEVER_POSITION in (c, k):
        return NEVER_DISTANCE
    return min((c - k) ** 2, NEVER_DISTANCE)


def _derailment_position(value: Mapping[str, Any], payload: Mapping[str, Any]) -> float | None:
    point = value.get("derailment_comment")
    if point is None:
        return NEVER_POSITION
    for position, comment in enumerate(payload.get("comments", [])):
        if str(comment.get("id")) == str(point):
            return float(position)
    return None


def _tones_per_comment(
    value: Mapping[str, Any], payload: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Every comment of the thread with the tones this annotation gave it (none: empty)."""
    tones = value.get("tones")
    if not isinstance(tones, Mapping):
        return None
    return {
        str(c.get("id")): list(tones.get(str(c.get("id")), [])) for c in payload.get("comments", [])
    }


def _tone_measure(tones: tuple[str, ...]) -> Any:
    def measure(units: Any) -> dict[str, Any]:
        result = label_set_agreement(units, labels=tones)
        figures: dict[str, Any] = {
            "masi_alpha": result.masi.alpha,
            "exact_agreement": result.exact_agreement,
            "any_alpha": result.any_label.alpha,
            "n_units": result.n_units,
        }
        reasons = {"masi_alpha": result.masi.reason, "any_alpha": result.any_label.reason}
        for tone in tones:
            figures[f"alpha:{tone}"] = result.per_label[tone].alpha
            reasons[f"alpha:{tone}"] = result.per_label[tone].reason
            figures[f"prevalence:{tone}"] = result.prevalence[tone]
        if result.exact_agreement is None:
            reasons["exact_agreement"] = "no comment with two or more annotators"
        figures["reasons"] = {name: why for name, why in reasons.items() if why}
        return figures

    return measure


def _reference_toxic(payload: Mapping[str, Any]) -> bool | None:
    reference = payload.get("reference") or {}
    return (reference.get("value") or {}).get("toxic")


def derailment_point_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]],
) -> Iterator[dict[str, Any]]:
    """One row per annotation with comment positions (1-based) next to ids, and the reference."""
    for item, labels, _summary in records:
        ids = [comment["id"] for comment in item.payload["comments"]]
        position = {comment_id: index + 1 for index, comment_id in enumerate(ids)}
        reference = (item.payload.get("reference") or {}).get("value") or {}
        for label in labels:
            value = label["value"]
            yield {
                "external_id": item.external_id,
                "annotator": label["annotator"],
                "n_comments": len(ids),
                "toxic": value["toxic"],
                "toxic_comment": value["toxic_comment"],
                "toxic_position": position.get(value["toxic_comment"]),
                "derailment_comment": value["derailment_comment"],
                "derailment_position": position.get(value["derailment_comment"]),
                "never_derails": value["derailment_comment"] is None,
                "tones": value.get("tones", {}),
                "reference_toxic": reference.get("toxic"),
                "reference_derailment_comment": reference.get("derailment_comment"),
                "reference_derailment_position": position.get(reference.get("derailment_comment")),
            }


# --- the paper's CSV layout: one row per comment, grouped by issue_id

PAPER_COLUMNS = (
    "link",
    "title",
    "speaker",
    "comments_count",
    "issue_id",
    "comment_sequence",
    "comment_unique_id",
    "toxic",
    "reply_to",
    "timestamp",
    "text",
    "is_first_comment",
    "tbdf",
    "author_association",
)
"""Every column of the paper's CSV, in its order; the adapter reads them by name."""
REQUIRED_COLUMNS = ("issue_id", "comment_sequence", "comment_unique_id", "speaker")
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}
_ISSUE_URL = re.compile(r"^https://api\.github\.com/repos/([^/]+/[^/]+)/issues/(\d+)$")


def _tone_key(label: str) -> str:
    return re.sub(r"[^a-z]", "", label.lower())


# The dataset writes "Identity attacks/Name-Calling"; the default set says it in the SPEC's words.
_TONE_ALIASES = {_tone_key(t): t for t in DEFAULT_TONES} | {
    "identityattacksnamecalling": "Identity attack / name-calling",
}


def _flag(raw: Any) -> bool | None:
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def github_derailment_records(
    rows: Iterator[tuple[int, Any]],
) -> Iterator[tuple[int, Any]]:
    """Group the paper's one-row-per-comment CSV into threads, one item per ``issue_id``.

    The rows of one issue must be contiguous (as in the paper's files); an issue that appears again
    after another one is reported on the row where it reappears. Each item is reported under the
    line of its first row; a bad row is reported under its own line, with the column named.
    When any row of a thread has ``toxic`` or ``tbdf`` filled, the thread gets a reference label:
    the toxic comment is the row with ``toxic`` = 1, the derailment point the first earlier row
    with a ``tbdf`` label (none: the thread turned toxic without derailing first), and every
    ``tbdf`` label becomes a tone of its comment.
    """
    group: list[tuple[int, dict[str, Any]]] = []
    group_ok = True
    finished: dict[str, int] = {}
    current: str | None = None

    def emit() -> Iterator[tuple[int, Any]]:
        if group and group_ok:
            yield from _thread_record(group)

    for line, row in rows:
        if not isinstance(row, dict):
            yield line, row  # a parse problem: passed on for the importer to report
            continue
        missing = [column for column in REQUIRED_COLUMNS if not str(row.get(column, "")).strip()]
        if missing:
            yield line, SchemaError([FieldError(c, "required in every row") for c in missing])
            group_ok = False
            continue
        issue = str(row["issue_id"]).strip()
        if issue != current:
            yield from emit()
            if issue in finished:
                yield (
                    line,
                    SchemaError(
                        [
                            FieldError(
                                "issue_id",
                                f"issue {issue} reappears; its rows must be contiguous "
                                f"(its first row is on line {finished[issue]})",
                            )
                        ]
                    ),
                )
                group, group_ok, current = [], False, issue
                continue
            finished[issue] = line
            group, group_ok, current = [], True, issue
        problems = _row_problems(row)
        if problems:
            yield line, SchemaError(problems)
            group_ok = False
            continue
        group.append((line, row))
    yield from emit()


def _row_problems(row: Mapping[str, Any]) -> list[FieldError]:
    errors = []
    sequence = str(row["comment_sequence"]).strip()
    if not sequence.isdigit():
        errors.append(FieldError("comment_sequence", f"must be a whole number, not {sequence!r}"))
    if "toxic" in row and _flag(row["toxic"]) is None:
        errors.append(FieldError("toxic", f"must be 0 or 1, not {row['toxic']!r}"))
    tbdf = str(row.get("tbdf", "")).strip()
    if tbdf and tbdf != "0" and _tone_key(tbdf) not in _TONE_ALIASES:
        errors.append(FieldError("tbdf", f"unknown tone-bearing discussion feature {tbdf!r}"))
    return errors


def _thread_record(group: list[tuple[int, dict[str, Any]]]) -> Iterator[tuple[int, Any]]:
    first_line, first = group[0]
    rows = sorted(group, key=lambda pair: int(str(pair[1]["comment_sequence"]).strip()))
    seen: dict[int, int] = {}
    errors: list[tuple[int, FieldError]] = []
    for line, row in rows:
        sequence = int(str(row["comment_sequence"]).strip())
        if sequence in seen:
            errors.append(
                (
                    line,
                    FieldError("comment_sequence", f"{sequence} is also on line {seen[sequence]}"),
                )
            )
        seen.setdefault(sequence, line)
    toxic_lines = [line for line, row in rows if _flag(row.get("toxic", "0"))]
    for line in toxic_lines[1:]:
        errors.append(
            (
                line,
                FieldError(
                    "toxic", f"a second toxic comment (the first is on line {toxic_lines[0]})"
                ),
            )
        )
    if errors:
        for line, error in errors:
            yield line, SchemaError([error])
        return

    comments = []
    for _line, row in rows:
        comment = {
            "id": str(row["comment_unique_id"]).strip(),
            "author": str(row["speaker"]).strip(),
            "body": str(row.get("text", "")),
        }
        for source, target in (
            ("author_association", "author_association"),
            ("timestamp", "created_at"),
            ("reply_to", "reply_to"),
        ):
            raw = str(row.get(source, "")).strip()
            if raw and not (source == "reply_to" and raw == "0"):
                comment[target] = raw
        comments.append(comment)

    metadata: dict[str, Any] = {"issue_id": str(first["issue_id"]).strip()}
    match = _ISSUE_URL.match(str(first.get("link", "")).strip())
    if match:
        metadata["repository"] = match.group(1)
        metadata["issue_number"] = int(match.group(2))
        metadata["link"] = f"https://github.com/{match.group(1)}/issues/{match.group(2)}"
    if str(first.get("comments_count", "")).strip().isdigit():
        metadata["comments_count"] = int(str(first["comments_count"]).strip())

    record: dict[str, Any] = {
        "external_id": metadata["issue_id"],
        "title": str(first.get("title", "")).strip() or f"Issue {metadata['issue_id']}",
        "comments": comments,
        "metadata": metadata,
    }
    labelled = any(
        str(row.get(column, "")).strip() for _line, row in rows for column in ("toxic", "tbdf")
    )
    if labelled:
        record["reference"] = {"source": "github_derailment", "value": _reference(rows)}
    yield first_line, record


def _reference(rows: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    ids = [str(row["comment_unique_id"]).strip() for _line, row in rows]
    toxic_index = next(
        (index for index, (_line, row) in enumerate(rows) if _flag(row.get("toxic", "0"))), None
    )
    tones: dict[str, list[str]] = {}
    for comment_id, (_line, row) in zip(ids, rows, strict=True):
        tbdf = str(row.get("tbdf", "")).strip()
        if tbdf and tbdf != "0":
            tones[comment_id] = [_TONE_ALIASES[_tone_key(tbdf)]]
    derailment = None
    if toxic_index is not None:
        derailment = next((ids[i] for i in range(toxic_index) if ids[i] in tones), None)
    return {
        "toxic": toxic_index is not None,
        "toxic_comment": ids[toxic_index] if toxic_index is not None else None,
        "derailment_comment": derailment,
        "tones": tones,
    }

"""``visual_argument``: premises of a visual argument (SPEC 2.4; VisArgs, Chung et al., 2024).

An item is an image (stored through Django's storage API; the payload keeps its storage path,
width and height), with an optional description and conclusion, and optional premise options for
the identification mode.

Two annotation modes, chosen per project by ``config.mode``:
- ``structure`` (default): visual premises with boxes in image pixels, commonsense premises,
  reasoning steps forming a tree that ends in the conclusion ``C``, and the conclusion text;
- ``identification``: pick the one of the item's premise options that supports the conclusion.

Images arrive with the import: a zip of images plus a manifest (``manifest.jsonl``, ``.json`` or
``.csv``) whose ``image`` fields name files in the zip, or a manifest whose ``image`` fields are
http(s) URLs or paths of images already in the storage. Every image is checked by content
(``annotate.images``) before it is stored.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Annotated, Any

from django.conf import settings
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
)

from annotate.images import (
    STORAGE_PREFIX,
    ImageRejected,
    image_fetch,
    image_from_storage,
    image_store,
    read_limited,
)
from core.errors import FieldError, InvalidInput, SchemaError, validate_model
from core.limits import zip_check_uncompressed
from stats.box_agreement import box_agreement

from ..base import AgreementField, ImportSource, ItemSummary, SetField, TaskType, not_blank

MODES = ("structure", "identification")
MANIFEST_NAMES = (("manifest.jsonl", "jsonl"), ("manifest.json", "json"), ("manifest.csv", "csv"))
VP_ID = re.compile(r"^VP[1-9][0-9]*$")
CP_ID = re.compile(r"^CP[1-9][0-9]*$")
IC_ID = re.compile(r"^IC[1-9][0-9]*$")
CONCLUSION = "C"
EPSILON = 1e-6  # boxes drawn on a scaled image may round to a hair past the edge


Text = Annotated[str, Field(min_length=1, max_length=5000), AfterValidator(not_blank)]


def _number(value: Any, *, positive: bool) -> int | float:
    """A JSON number, kept as given (ints stay ints); booleans, strings and NaN are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError("must be a number")
    if abs(value) == float("inf"):
        raise ValueError("must be finite")
    if positive and value <= 0:
        raise ValueError("must be greater than 0")
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


Coordinate = Annotated[int | float, PlainValidator(lambda v: _number(v, positive=False))]
Size = Annotated[int | float, PlainValidator(lambda v: _number(v, positive=True))]


class _ImageProblem:
    """Put in place of an image reference that could not be resolved, for the schema to report
    under the ``image`` field."""

    def __init__(self, message: str):
        self.message = message


def _image_resolved(value: Any) -> Any:
    if isinstance(value, _ImageProblem):
        raise ValueError(value.message)
    if isinstance(value, str):
        raise ValueError("the image reference was not resolved")
    return value


class StoredImage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=500)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    format: str | None = Field(default=None, max_length=10)
    source: str | None = Field(default=None, max_length=2000)


class Box(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Coordinate
    y: Coordinate
    w: Size
    h: Size


class VisualPremise(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=VP_ID.pattern)
    text: Text
    box: Box


class CommonsensePremise(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=CP_ID.pattern)
    text: Text


class ReasoningStep(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: list[Annotated[str, Field(min_length=1, max_length=20)]] = Field(
        alias="from", min_length=1, max_length=50
    )
    to: str = Field(pattern=r"^(IC[1-9][0-9]*|C)$")
    text: str = Field(default="", max_length=5000)


class StructureAnnotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visual_premises: list[VisualPremise] = Field(min_length=1, max_length=50)
    commonsense_premises: list[CommonsensePremise] = Field(default_factory=list, max_length=50)
    reasoning_steps: list[ReasoningStep] = Field(min_length=1, max_length=100)
    conclusion: Text


class IdentificationAnnotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choice: str = Field(min_length=1, max_length=50)


class PremiseOption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=50)
    text: Text


class VisualArgumentItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: Annotated[StoredImage, BeforeValidator(_image_resolved)]
    description: str | None = Field(default=None, max_length=20_000)
    conclusion: str | None = Field(default=None, max_length=5000)
    premise_options: list[PremiseOption] = Field(default_factory=list, max_length=10)
    answer: str | None = Field(default=None, max_length=50)
    reference: StructureAnnotation | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


def structure_rules(
    value: Mapping[str, Any], *, width: float, height: float, prefix: str = "value."
) -> list[FieldError]:
    """Ids, box bounds, and that the reasoning steps form a tree rooted at ``C``.

    The tree: every step produces one node (``IC<n>`` or ``C``), produced by no other step; ``C``
    is produced exactly once and used by none; every intermediate conclusion feeds exactly one
    later step; no step depends on itself through a cycle. Premises are the leaves: a premise may
    feed more than one step and need not be used.
    """
    errors: list[FieldError] = []
    premises: dict[str, str] = {}
    for kind in ("visual_premises", "commonsense_premises"):
        for index, premise in enumerate(value.get(kind, [])):
            if premise["id"] in premises:
                errors.append(
                    FieldError(f"{prefix}{kind}.{index}.id", f"{premise['id']!r} is used twice")
                )
            premises[premise["id"]] = kind
    for index, premise in enumerate(value.get("visual_premises", [])):
        box = premise["box"]
        if box["x"] + box["w"] > width + EPSILON or box["y"] + box["h"] > height + EPSILON:
            errors.append(
                FieldError(
                    f"{prefix}visual_premises.{index}.box",
                    f"reaches past the image ({width:g}×{height:g} pixels): "
                    f"x+w={box['x'] + box['w']:g}, y+h={box['y'] + box['h']:g}",
                )
            )

    steps = value.get("reasoning_steps", [])
    producer: dict[str, int] = {}
    for index, step in enumerate(steps):
        if step["to"] in producer:
            errors.append(
                FieldError(
                    f"{prefix}reasoning_steps.{index}.to",
                    f"{step['to']} is also produced by step {producer[step['to']]}",
                )
            )
        else:
            producer[step["to"]] = index
    consumers: dict[str, list[int]] = {}
    for index, step in enumerate(steps):
        field = f"{prefix}reasoning_steps.{index}.from"
        inputs = step["from"]
        if len(set(inputs)) != len(inputs):
            errors.append(FieldError(field, "an input is listed twice"))
        for source in inputs:
            if source == CONCLUSION:
                errors.append(FieldError(field, "C is the conclusion: no step can use it"))
            elif source == step["to"]:
                errors.append(FieldError(field, f"{source} cannot be an input of its own step"))
            elif IC_ID.match(source):
                if source not in producer:
                    errors.append(FieldError(field, f"unknown id {source!r}: no step produces it"))
                consumers.setdefault(source, []).append(index)
            elif source not in premises:
                errors.append(
                    FieldError(field, f"unknown id {source!r}: not a premise of this annotation")
                )
    if CONCLUSION not in producer:
        errors.append(
            FieldError(
                f"{prefix}reasoning_steps",
                "no step ends in the conclusion C: the steps must form a tree rooted at C",
            )
        )
    for node, index in producer.items():
        if node == CONCLUSION:
            continue
        used_by = consumers.get(node, [])
        field = f"{prefix}reasoning_steps.{index}.to"
        if not used_by:
            errors.append(
                FieldError(
                    field,
                    f"{node} is never used: every intermediate conclusion "
                    "must feed a later step on the way to C",
                )
            )
        elif len(used_by) > 1:
            errors.append(
                FieldError(field, f"{node} feeds steps {used_by}; in a tree it feeds exactly one")
            )
    if not errors:
        # Every node now has exactly one consumer; walking consumers from any step must reach C.
        consumer_of = {node: used[0] for node, used in consumers.items()}
        for index in range(len(steps)):
            seen: set[int] = set()
            current = index
            while steps[current]["to"] != CONCLUSION:
                if current in seen:
                    errors.append(
                        FieldError(
                            f"{prefix}reasoning_steps.{index}",
                            "the steps form a cycle and never reach C",
                        )
                    )
                    break
                seen.add(current)
                current = consumer_of[steps[current]["to"]]
            if errors:
                break
    return errors


class VisualArgument(TaskType):
    name = "visual_argument"
    label = "Visual argument"
    item_schema = VisualArgumentItem
    annotation_schema = StructureAnnotation
    annotator_template = "annotate/tasktypes/visual_argument.html"
    annotator_scripts = ("js/visual_argument.js",)
    annotator_styles = ("css/visual_argument.css",)
    default_config = {"mode": "structure"}
    csv_json_columns = frozenset(
        {
            "metadata",
            "premise_options",
            "reference",
            "visual_premises",
            "b_box",
            "commonsense_premises",
            "reasoning_steps",
        }
    )

    def validate_config(self, project_config: Mapping[str, Any]) -> dict[str, Any]:
        config = dict(project_config)
        if config.get("mode", "structure") not in MODES:
            raise ValueError(f"config.mode must be one of {', '.join(MODES)}")
        return config

    def validate_item(self, data: Mapping[str, Any]) -> dict[str, Any]:
        model = validate_model(self.item_schema, data)
        payload = model.model_dump(mode="json", exclude_none=True, by_alias=True)
        errors = []
        option_ids = [option["id"] for option in payload["premise_options"]]
        if len(set(option_ids)) != len(option_ids):
            errors.append(FieldError("premise_options", "two options have the same id"))
        if payload.get("answer") is not None and payload["answer"] not in option_ids:
            errors.append(
                FieldError("answer", f"{payload['answer']!r} is not the id of a premise option")
            )
        if payload.get("reference"):
            errors += structure_rules(
                payload["reference"],
                width=payload["image"]["width"],
                height=payload["image"]["height"],
                prefix="reference.",
            )
        if errors:
            raise SchemaError(errors)
        return payload

    def _mode(self, config: Mapping[str, Any]) -> str:
        return str(self.config(config)["mode"])

    def validate_annotation(
        self, value: Any, *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        mode = self._mode(config)
        schema = StructureAnnotation if mode == "structure" else IdentificationAnnotation
        model = validate_model(schema, value, prefix="value.")
        cleaned = model.model_dump(mode="json", by_alias=True)
        errors = self.check_annotation(cleaned, config=self.config(config), payload=payload)
        if errors:
            raise SchemaError(errors)
        return cleaned

    def check_annotation(
        self, value: dict[str, Any], *, config: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> list[FieldError]:
        if self._mode(config) == "identification":
            options = [option["id"] for option in payload.get("premise_options", [])]
            if not options:
                return [FieldError("value.choice", "this item has no premise options to pick")]
            if value["choice"] not in options:
                return [
                    FieldError(
                        "value.choice", f"{value['choice']!r} is not one of the options {options}"
                    )
                ]
            return []
        image = payload.get("image", {})
        return structure_rules(value, width=image.get("width", 0), height=image.get("height", 0))

    # --- import
    def adapters(self) -> dict[str, Any]:
        return {"visargs": visargs_records}

    def import_source(self, stream: Any, *, fmt: str | None) -> ImportSource:
        head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
        if fmt == "zip" or head == b"PK\x03\x04":
            return _zip_source(stream)
        return ImportSource(stream=stream, fmt=fmt, finish=_resolver(None))

    def item_files(self, payload: Mapping[str, Any]) -> dict[str, str]:
        image = payload.get("image") or {}
        return {"image": image["path"]} if image.get("path") else {}

    # --- annotator UI
    def annotator_payload(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in payload.items() if k not in {"answer", "reference"}}

    def shown_order(self, payload: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        options = [option["id"] for option in payload.get("premise_options", [])]
        rng.shuffle(options)
        return {"options": options} if options else {}

    def form_to_value(
        self, form: Mapping[str, Any], *, shown_order: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Identification: the ``choice`` field. Structure: the page's script keeps the whole
        structure as JSON in ``value_json``; what does not parse is passed on for the schema to
        reject with its message."""
        if self._mode(config) == "identification":
            choice = form.get("choice")
            return {"choice": choice} if choice else {}
        raw = form.get("value_json") or ""
        try:
            value = json.loads(raw)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def display_context(
        self,
        payload: Mapping[str, Any],
        *,
        shown_order: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> dict[str, Any]:
        safe = self.annotator_payload(payload)
        by_id = {option["id"]: option for option in safe.get("premise_options", [])}
        order = [oid for oid in shown_order.get("options", []) if oid in by_id]
        order += [oid for oid in by_id if oid not in order]
        return {
            "mode": self._mode(config),
            "image": safe["image"],
            "description": safe.get("description"),
            "conclusion": safe.get("conclusion") or "",
            "options": [
                {"key": index + 1, **by_id[option_id]} for index, option_id in enumerate(order)
            ],
        }

    # --- summaries and export
    def label_of(self, value: Mapping[str, Any]) -> Any:
        """Identification: the chosen option. Structure: the number of visual premises (boxes
        are compared by IoU in the analysis, not as labels)."""
        if "choice" in value:
            return value["choice"]
        return len(value.get("visual_premises", []))

    def export_item_fields(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        image = payload.get("image") or {}
        fields = {
            "image_path": image.get("path"),
            "image_width": image.get("width"),
            "image_height": image.get("height"),
            "image_source": image.get("source"),
        }
        for name in self.item_schema.model_fields:
            if name != "image":
                fields[name] = payload.get(name)
        return fields

    def export_shapes(self) -> dict[str, Any]:
        return {"boxes": box_rows}

    # --- analysis
    def agreement_fields(self, config: Mapping[str, Any]) -> list[AgreementField]:
        """Identification: the chosen option as nominal data, scored against the item's
        ``answer`` (accuracy against gold). Structure: the number of visual premises as interval
        data (the boxes themselves are a set field)."""
        if self._mode(config) == "identification":
            return [
                AgreementField(
                    "choice",
                    "Premise choice",
                    "nominal",
                    path=("choice",),
                    primary=True,
                    reference=_gold_answer,
                )
            ]
        return [
            AgreementField(
                "n_visual_premises",
                "Visual premises per annotation (count)",
                "interval",
                extract=_premise_count,
                primary=True,
            )
        ]

    def set_fields(self, config: Mapping[str, Any]) -> list[SetField]:
        """Structure mode: the visual premises' boxes, in fractions of the image (see
        ``stats.box_agreement``)."""
        if self._mode(config) == "identification":
            return []
        return [
            SetField(
                "boxes",
                "Visual premise boxes",
                extract=_boxes_of,
                measure=box_measure,
                figures=BOX_FIGURES,
            )
        ]


BOX_FIGURES = (
    ("hit_rate", "Box hit rate (IoU >= 0.5, pairs of annotators)"),
    ("mean_iou", "Mean IoU of matched boxes (hits)"),
    ("mean_iou_assigned", "Mean IoU of all overlapping assigned pairs"),
    ("alpha", "Alpha with 1 - IoU as the distance"),
    ("n_items", "Items with two or more annotators"),
    ("n_pairs", "Annotator pairs compared"),
    ("n_boxes", "Boxes in those pairs"),
    ("n_hits", "Hits"),
    ("n_units", "Box groups (alpha units)"),
)


def box_measure(units: Any) -> dict[str, Any]:
    """``stats.box_agreement`` as the figures of ``BOX_FIGURES``."""
    result = box_agreement(units)
    figures: dict[str, Any] = {name: getattr(result, name) for name, _label in BOX_FIGURES}
    figures["reasons"] = dict(result.reasons)
    figures["expected_method"] = result.expected_method
    return figures


def _gold_answer(payload: Mapping[str, Any]) -> Any:
    return payload.get("answer")


def _premise_count(value: Mapping[str, Any], payload: Mapping[str, Any]) -> int | None:
    premises = value.get("visual_premises")
    return len(premises) if isinstance(premises, list) else None


def _boxes_of(value: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """One set per item: the annotation's boxes as (x, y, w, h) fractions of the image."""
    premises = value.get("visual_premises")
    image = payload.get("image") or {}
    width, height = image.get("width"), image.get("height")
    if not isinstance(premises, list) or not width or not height:
        return None
    return {
        "": [
            [
                p["box"]["x"] / width,
                p["box"]["y"] / height,
                p["box"]["w"] / width,
                p["box"]["h"] / height,
            ]
            for p in premises
        ]
    }


def box_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]],
    *,
    include_reference: str = "yes",
) -> Iterator[dict[str, Any]]:
    """One row per visual premise box, in pixels and normalised to [0, 1] by the image size,
    with the image path; the item's reference boxes too (annotator ``reference``) unless
    ``include_reference=no``."""
    if include_reference not in {"yes", "no"}:
        raise ValueError("include_reference must be yes or no")
    return _box_rows(records, include_reference=include_reference == "yes")


def _box_rows(records: Any, *, include_reference: bool) -> Iterator[dict[str, Any]]:
    for item, labels, _summary in records:
        image = item.payload["image"]
        width, height = image["width"], image["height"]
        sources = [(label["annotator"], label["value"]) for label in labels]
        if include_reference and item.payload.get("reference"):
            sources.append(("reference", item.payload["reference"]))
        for annotator, value in sources:
            for premise in value.get("visual_premises", []):
                box = premise["box"]
                yield {
                    "external_id": item.external_id,
                    "annotator": annotator,
                    "image_path": image["path"],
                    "image_width": width,
                    "image_height": height,
                    "premise_id": premise["id"],
                    "text": premise["text"],
                    "x": box["x"],
                    "y": box["y"],
                    "w": box["w"],
                    "h": box["h"],
                    "x_norm": box["x"] / width,
                    "y_norm": box["y"] / height,
                    "w_norm": box["w"] / width,
                    "h_norm": box["h"] / height,
                }


# --- images at import


def _zip_source(stream: Any) -> ImportSource:
    limit = int(getattr(settings, "DISSENSUS_IMPORT_ARCHIVE_MAX_BYTES", 2 * 1024**3))
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the resolver when it finishes
    copied = 0
    while chunk := stream.read(1 << 20):
        copied += len(chunk)
        if copied > limit:
            spool.close()
            raise InvalidInput(
                f"the archive is larger than {limit} bytes",
                detail=[{"field": "file", "message": "archive too large"}],
            )
        spool.write(chunk)
    spool.seek(0)
    try:
        archive = zipfile.ZipFile(spool)
        zip_check_uncompressed(archive, limit=limit)  # the limit counts uncompressed bytes
    except zipfile.BadZipFile as exc:
        spool.close()
        raise InvalidInput(
            f"not a valid zip archive: {exc}",
            detail=[{"field": "file", "message": "not a valid zip archive"}],
        ) from None
    names = set(archive.namelist())
    for name, fmt in MANIFEST_NAMES:
        if name in names:
            manifest = archive.open(name)
            return ImportSource(stream=manifest, fmt=fmt, finish=_resolver(archive, spool))
    archive.close()
    spool.close()
    wanted = ", ".join(name for name, _fmt in MANIFEST_NAMES)
    raise InvalidInput(
        f"the archive holds no manifest (one of {wanted} at its top level)",
        detail=[{"field": "file", "message": "no manifest in the archive"}],
    )


def _resolver(archive: zipfile.ZipFile | None, spool: Any = None) -> Any:
    def resolve(records: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
        try:
            for line, record in records:
                if isinstance(record, dict) and "image" in record:
                    record = dict(record)
                    record["image"] = _resolve_image(record["image"], archive)
                yield line, record
        finally:
            if archive is not None:
                archive.close()
            if spool is not None:
                spool.close()

    return resolve


def _archive_member(archive: zipfile.ZipFile, reference: str) -> zipfile.ZipInfo | None:
    name = reference.removeprefix("./")
    try:
        return archive.getinfo(name)
    except KeyError:
        return None


def _resolve_image(reference: Any, archive: zipfile.ZipFile | None) -> Any:
    try:
        if isinstance(reference, Mapping) and isinstance(reference.get("path"), str):
            stored = image_from_storage(reference["path"])
            result = stored.as_dict()
            if reference.get("source"):
                result["source"] = reference["source"]
            return result
        if not isinstance(reference, str) or not reference.strip():
            return _ImageProblem(
                "must name a file in the archive, an http(s) URL, or a stored image path"
            )
        reference = reference.strip()
        if archive is not None and (member := _archive_member(archive, reference)) is not None:
            with archive.open(member) as handle:
                stored = image_store(read_limited(handle))
        elif reference.lower().startswith(("http://", "https://")):
            if not settings.DISSENSUS_IMAGE_FETCH_URLS:
                return _ImageProblem("fetching image URLs is turned off on this server")
            stored = image_store(image_fetch(reference))
        elif reference.startswith(STORAGE_PREFIX):
            stored = image_from_storage(reference)
        else:
            where = "in the archive" if archive is not None else "(import a zip with the images)"
            return _ImageProblem(
                f"{reference!r} is not a file {where}, an http(s) URL or a stored image path"
            )
    except ImageRejected as exc:
        return _ImageProblem(f"{reference if isinstance(reference, str) else 'image'}: {exc}")
    return {**stored.as_dict(), "source": reference}


# --- VisArgs annotation rows

_STEP = re.compile(
    r"^\s*\(\s*(?P<inputs>[^()]*?)\s*->\s*(?P<to>[A-Za-z0-9]+)\s*\)\s*:?\s*(?P<text>.*)$", re.DOTALL
)


def parse_reasoning_step(raw: str) -> dict[str, Any]:
    """``"(VP1, CP1 -> IC1): text"`` → ``{"from": ["VP1", "CP1"], "to": "IC1", "text": "text"}``."""
    match = _STEP.match(raw)
    if not match:
        raise ValueError(f"not a step like '(VP1, CP1 -> IC1): text': {raw[:80]!r}")
    inputs = [part.strip() for part in match.group("inputs").split(",") if part.strip()]
    if not inputs:
        raise ValueError(f"the step has no inputs: {raw[:80]!r}")
    return {"from": inputs, "to": match.group("to").strip(), "text": match.group("text").strip()}


def _texts(row: Mapping[str, Any], field: str, errors: list[FieldError]) -> list[str]:
    value = row.get(field, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(FieldError(field, "must be a list of strings"))
        return []
    return value


def visargs_records(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """VisArgs annotation rows (one per image) → items with the row's structure as reference.

    ``b_box[i]`` (``startX``, ``startY``, ``w``, ``h`` in image pixels) is the box of
    ``visual_premises[i]``, whose id becomes ``VP<i+1>``; commonsense premises become ``CP<i+1>``;
    reasoning steps are parsed from their ``(inputs -> output): text`` strings. The external id is
    the row's ``id`` when present, else the image file name of ``url``.
    """
    for line, row in rows:
        if not isinstance(row, dict):
            yield line, row
            continue
        errors: list[FieldError] = []
        url = str(row.get("url") or row.get("image") or "").strip()
        if not url:
            errors.append(FieldError("url", "required: the image URL"))
        premises = _texts(row, "visual_premises", errors)
        commonsense = _texts(row, "commonsense_premises", errors)
        step_texts = _texts(row, "reasoning_steps", errors)
        boxes = row.get("b_box", [])
        if not isinstance(boxes, list):
            errors.append(FieldError("b_box", "must be a list of {startX, startY, w, h}"))
            boxes = []
        elif len(boxes) != len(premises):
            errors.append(
                FieldError(
                    "b_box",
                    f"{len(boxes)} boxes for {len(premises)} visual "
                    "premises; they pair up one to one",
                )
            )
        visual = []
        for index, (text, box) in enumerate(zip(premises, boxes, strict=False)):
            try:
                shaped = {"x": box["startX"], "y": box["startY"], "w": box["w"], "h": box["h"]}
            except (KeyError, TypeError):
                errors.append(FieldError(f"b_box.{index}", "must have startX, startY, w and h"))
                continue
            visual.append({"id": f"VP{index + 1}", "text": text, "box": shaped})
        steps = []
        for index, raw in enumerate(step_texts):
            try:
                steps.append(parse_reasoning_step(raw))
            except ValueError as exc:
                errors.append(FieldError(f"reasoning_steps.{index}", str(exc)))
        if errors:
            yield line, SchemaError(errors)
            continue
        external_id = str(row.get("id") or "").strip() or PurePosixPath(url.split("?")[0]).name
        record: dict[str, Any] = {
            "external_id": external_id,
            "image": url,
            "reference": {
                "visual_premises": visual,
                "commonsense_premises": [
                    {"id": f"CP{index + 1}", "text": text} for index, text in enumerate(commonsense)
                ],
                "reasoning_steps": steps,
                "conclusion": str(row.get("conclusion", "")),
            },
        }
        if row.get("conclusion"):
            record["conclusion"] = str(row["conclusion"])
        if row.get("description"):
            record["description"] = str(row["description"])
        yield line, record

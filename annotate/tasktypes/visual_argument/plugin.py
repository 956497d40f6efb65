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
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import FieldError, SchemaError, validate_model

from ..base import (
    AgreementField,
    Demo,
    ExportShape,
    ImportSource,
    MetricsData,
    PaperTable,
    RunPrediction,
    SetField,
    TaskType,
)
from . import analysis, paper
from .adapters import NEGATIVESET_CSV_COLUMNS, visargs_negativeset_records, visargs_records
from .demo import DEMO
from .export import EXPORT_SHAPES
from .media import resolver, zip_source
from .predictions import PREDICTIONS
from .report import paper_tables
from .schemas import (
    IdentificationAnnotation,
    StructureAnnotation,
    VisualArgumentConfig,
    VisualArgumentItem,
    structure_rules,
)


class VisualArgument(TaskType):
    name = "visual_argument"
    label = "Visual argument"
    predictions = PREDICTIONS
    item_schema = VisualArgumentItem
    annotation_schema = StructureAnnotation
    annotator_template = "annotate/tasktypes/visual_argument.html"
    annotator_scripts = ("js/visual_argument.js",)
    annotator_styles = ("css/visual_argument.css",)
    default_config = {"mode": "structure"}
    config_schema = VisualArgumentConfig
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
        | NEGATIVESET_CSV_COLUMNS
    )

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
        return {"visargs": visargs_records, "visargs_negativeset": visargs_negativeset_records}

    def adapter_config(self, adapter: str) -> dict[str, Any]:
        """The negative sets are premise identification items: the project is in that mode."""
        return {"mode": "identification"} if adapter == "visargs_negativeset" else {}

    def import_source(self, stream: Any, *, fmt: str | None) -> ImportSource:
        head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
        if fmt == "zip" or head == b"PK\x03\x04":
            return zip_source(stream)
        return ImportSource(stream=stream, fmt=fmt, finish=resolver(None))

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

    def export_shapes(self) -> tuple[ExportShape, ...]:
        return EXPORT_SHAPES

    # --- analysis
    def agreement_fields(self, config: Mapping[str, Any]) -> list[AgreementField]:
        return analysis.agreement_fields(self._mode(config))

    def set_fields(self, config: Mapping[str, Any]) -> list[SetField]:
        return analysis.set_fields(self._mode(config))

    def demo(self) -> Demo:
        return DEMO

    def paper_tables(self, figures: Mapping[str, Any]) -> list[PaperTable]:
        return paper_tables(figures)

    # --- the VisArgs paper's figures (``paper.py``)
    def paper_figures(self, data: MetricsData) -> dict[str, Any]:
        return paper.paper_figures(data, mode=self._mode(data.config))

    def model_metrics(
        self, data: MetricsData, predictions: Sequence[RunPrediction]
    ) -> dict[str, Any]:
        return paper.model_metrics(data, predictions)

"""``visual_argument`` schemas: the item with its stored image, the two annotation modes, the
rules of a structure annotation (``structure_rules``), and the project configuration."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
)

from core.errors import FieldError

from ..base import not_blank

MODES = ("structure", "identification")
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


class ImageProblem:
    """Put in place of an image reference that could not be resolved, for the schema to report
    under the ``image`` field."""

    def __init__(self, message: str):
        self.message = message


def _image_resolved(value: Any) -> Any:
    if isinstance(value, ImageProblem):
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


class VisualArgumentConfig(BaseModel):
    """``mode``: ``structure`` (premises, boxes and reasoning steps) or ``identification``
    (pick one of the item's premise options). Other keys are kept as they are."""

    model_config = ConfigDict(extra="allow")

    mode: Literal["structure", "identification"] = "structure"

"""``tom`` schemas: the story with its questions, the annotation, and the project configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from ..base import not_blank

KINDS = ("mental_state", "behavior", "judgment")
KIND_ORDER = {kind: index for index, kind in enumerate(KINDS)}
KIND_LABELS = {
    "mental_state": "Mental state",
    "behavior": "Behavior",
    "judgment": "Judgment",
}
# SimpleToM question ids end in one of these; the rest of the id names the story.
SUFFIX_KINDS = {"_aware": "mental_state", "_action": "behavior", "_judge": "judgment"}
CHOICE_KEYS = "abcdefghij"


Text = Annotated[str, Field(min_length=1, max_length=20_000), AfterValidator(not_blank)]
Label = Annotated[str, Field(min_length=1, max_length=50)]
QuestionId = Annotated[str, Field(min_length=1, max_length=200)]
Confidence = Annotated[int, Field(strict=True, ge=1, le=5)]


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label
    text: Text


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: QuestionId
    kind: Literal["mental_state", "behavior", "judgment"]
    text: Text
    choices: list[Choice] = Field(min_length=2, max_length=len(CHOICE_KEYS))
    answer: Label | None = None


class TomItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    story: Text
    scenario: str | None = Field(default=None, max_length=500)
    questions: list[Question] = Field(min_length=1, max_length=20)
    metadata: dict[str, Any] = Field(default_factory=dict)


class TomAnnotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[QuestionId, Label]
    confidence: dict[QuestionId, Confidence] = Field(default_factory=dict)


def questions_in_order(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Mental state, behavior, judgment; the item's own order within a kind."""
    return sorted(payload.get("questions", []), key=lambda q: KIND_ORDER[q["kind"]])


class TomConfig(BaseModel):
    """``ask_confidence``: whether the annotator is asked how sure they are (true or false).
    Other keys are kept as they are."""

    model_config = ConfigDict(extra="allow")

    ask_confidence: StrictBool = True

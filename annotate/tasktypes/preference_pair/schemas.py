"""``preference_pair`` schemas: the item, the annotation and the project configuration."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, StringConstraints

from ..base import not_blank

NonEmptyText = Annotated[
    str, StringConstraints(min_length=1, max_length=200_000), AfterValidator(not_blank)
]
Vote = Annotated[int, Field(strict=True, ge=-2, le=2)]
Name = Annotated[StrictStr, Field(min_length=1)]


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=200_000)


class PreferencePairItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: NonEmptyText
    context: list[Turn] = Field(default_factory=list)
    response_a: NonEmptyText
    response_b: NonEmptyText
    model_a: str | None = Field(default=None, max_length=200)
    model_b: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)


class PreferenceAnnotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preference: Vote
    aspects: dict[str, Vote] = Field(default_factory=dict)
    rationale: str = Field(default="", max_length=10_000)
    flags: list[str] = Field(default_factory=list, max_length=20)


class PreferenceConfig(BaseModel):
    """``aspects`` rated on the same scale as the preference, ``flags`` an annotator may raise;
    both lists of non-empty strings. Other keys are kept as they are."""

    model_config = ConfigDict(extra="allow")

    aspects: list[Name] = Field(default_factory=list)
    flags: list[Name] = Field(default_factory=list)

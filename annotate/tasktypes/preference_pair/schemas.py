"""``preference_pair`` schemas: the item, the annotation and the project configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, StringConstraints

from ..base import not_blank

DEFAULT_SCALE: Literal[5, 7] = 5


def scale_of(config: Mapping[str, Any]) -> int:
    """The number of points of a project's preference scale (5 unless its config says 7)."""
    return int(config.get("scale") or DEFAULT_SCALE)


NonEmptyText = Annotated[
    str, StringConstraints(min_length=1, max_length=200_000), AfterValidator(not_blank)
]
# Any vote of the widest scale; the project's own scale (5 or 7 points) is checked by the plug-in.
Vote = Annotated[int, Field(strict=True, ge=-3, le=3)]
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
    both lists of non-empty strings. ``scale`` is the number of points of the preference scale:
    5 (the default, as MultiPref: -2..+2) or 7 (as HelpSteer2: -3..+3). Other keys are kept as
    they are."""

    model_config = ConfigDict(extra="allow")

    scale: Literal[5, 7] = DEFAULT_SCALE
    aspects: list[Name] = Field(default_factory=list)
    flags: list[Name] = Field(default_factory=list)

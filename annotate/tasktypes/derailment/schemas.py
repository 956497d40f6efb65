"""``derailment`` schemas: the thread, the annotation, its reference label, the rules an
annotation must meet on its thread (``derailment_rules``), and the project configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)

from core.errors import FieldError

from ..base import not_blank

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
DEFAULT_THRESHOLD = 0.5  # P(derails) from which a prediction says "derails" (config.threshold)
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
    toxic_derails: bool = True,
) -> list[FieldError]:
    """The rules an annotation (or a reference label) must meet on its thread.

    A toxic thread has a toxic comment; a derailment point needs a toxic comment, and
    "never derails" (``None``) holds only for a thread that never turns toxic: a thread that
    turns toxic has derailed at the latest at its toxic comment (``toxic_derails``). Reference
    labels imported from the paper's data pass ``toxic_derails=False``: there a toxic thread with
    no tone-bearing comment before it is recorded as turning toxic without derailing first.
    """
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
        elif derailment is None and toxic_derails and "derailment_comment" in value:
            errors.append(
                FieldError(
                    prefix + "derailment_comment",
                    "required when toxic is true: a thread that turns toxic derails at the "
                    "toxic comment or before it, so it cannot 'never derail'",
                )
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


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must be a list of distinct non-empty strings")
    return values


Tone = Annotated[StrictStr, AfterValidator(not_blank)]


class DerailmentConfig(BaseModel):
    """``tones``: distinct non-empty labels offered per comment; ``tolerance``: the window, in
    comments, of agreement on the derailment point; ``threshold``: the P(derails) from which a
    model's prediction counts as "derails" in its metrics (0 to 1). Other keys are kept."""

    model_config = ConfigDict(extra="allow")

    tones: Annotated[list[Tone], AfterValidator(_distinct)] = Field(
        default_factory=lambda: list(DEFAULT_TONES)
    )
    tolerance: StrictInt = Field(default=1, ge=0)
    threshold: float = Field(
        default=DEFAULT_THRESHOLD, ge=0.0, le=1.0, strict=True, allow_inf_nan=False
    )

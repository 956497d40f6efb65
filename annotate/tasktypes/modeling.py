"""What a task type and a model backend say to each other (issue 9): generic operations.

A backend (``models_runtime.backends``) offers one or more *operations*, each a request and a
response of a kind that knows nothing of task types:

- ``score_texts`` (``ScoreTexts`` → ``list[TextScore]``): a reward for each chat; reward
  models, with a variance where the model has a distributional head;
- ``classify_texts`` (``ClassifyTexts`` → ``list[list[float]]``): class probabilities for each
  text; sequence classifiers (a model with one output gives one probability, its sigmoid);
- ``compare_options`` (``CompareOptions`` → ``list[list[float]]``): the log-likelihood of each
  option continuing each prompt; causal language models as judges;
- ``match_image`` (``MatchImage`` → ``ImageMatch``): an image against texts; CLIP-style models;
- ``chat`` (``Chat`` → ``list[ChatReply]``): chat completions with the first token's top
  log-probabilities; OpenAI-compatible endpoints.

A task type that wants model predictions lists, in ``TaskType.predictions``, one
``OperationMapping`` per operation it can use (in ``<type>/predictions.py``): it builds the
request from an item's payload and turns the response into the prediction in its annotation
shape (value, score, distribution, details), and declares the parameters that are its own
(margins, thresholds, prompts, answer labels). A backend answers a task type when the type has
a mapping for one of the backend's operations; a new task type adds a mapping and touches no
backend.

Pure: no Django models, no torch (the web process imports it to validate predictors).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ModelingError(Exception):
    """A prediction cannot be made: bad parameters, or a payload or an answer that does not fit.

    ``models_runtime.backends.BackendError`` is this class."""


@dataclass(frozen=True)
class PredictInput:
    key: int  # the item's id, handed back untouched
    payload: Mapping[str, Any]


@dataclass
class ItemPrediction:
    """A prediction in the task type's annotation shape, with its score and distribution."""

    key: int
    value: dict[str, Any]
    score: float | None = None
    distribution: dict[str, float] | None = None
    details: dict[str, Any] = field(default_factory=dict)


# --- operations: one request per item, one response per request

SCORE_TEXTS = "score_texts"
CLASSIFY_TEXTS = "classify_texts"
COMPARE_OPTIONS = "compare_options"
MATCH_IMAGE = "match_image"
CHAT = "chat"
OPERATIONS = frozenset({SCORE_TEXTS, CLASSIFY_TEXTS, COMPARE_OPTIONS, MATCH_IMAGE, CHAT})

Message = dict[str, str]  # {"role": ..., "content": ...}


@dataclass(frozen=True)
class ScoreTexts:
    """Chats to score one by one (a chat template or plain ``Role: content`` text)."""

    chats: list[list[Message]]


@dataclass(frozen=True)
class TextScore:
    """A reward; ``variance`` only from a distributional (mean, log variance) head."""

    mean: float
    variance: float | None = None


@dataclass(frozen=True)
class ClassifyTexts:
    texts: list[str]


@dataclass(frozen=True)
class OptionPrompt:
    """A prompt (asked as one user message) and the option strings scored after it."""

    prompt: str
    options: list[str]


@dataclass(frozen=True)
class CompareOptions:
    prompts: list[OptionPrompt]


@dataclass(frozen=True)
class MatchImage:
    """An image (a storage name or a file path) against texts."""

    image: str
    texts: list[str]


@dataclass(frozen=True)
class ImageMatch:
    """Scaled image–text similarities and their softmax over the texts."""

    logits: list[float]
    probabilities: list[float]


@dataclass(frozen=True)
class Conversation:
    """One chat completion: its messages and, when the answer is one of a few, those answers
    (a server that can enforces them)."""

    messages: list[Message]
    answers: list[str] | None = None


@dataclass(frozen=True)
class Chat:
    conversations: list[Conversation]


@dataclass(frozen=True)
class ChatReply:
    """The reply's text, and its first token's top ``(token, log-probability)`` when sent."""

    text: str
    top_logprobs: list[tuple[str, float]] | None = None


# --- the mapping a task type gives for each operation it can use


class OperationMapping(ABC):
    """How one task type uses one operation: payload → request, response → prediction.

    ``default_params`` are the mapping's own parameters with their defaults; the predictor's
    parameters (these and the backend's, merged with both defaults) are given to ``__init__``,
    which checks the mapping's own and raises ``ModelingError`` on a bad one.
    """

    operation: ClassVar[str]
    default_params: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, params: Mapping[str, Any]):
        self.params: dict[str, Any] = dict(params)

    @abstractmethod
    def request(self, payload: Mapping[str, Any]) -> Any:
        """The operation's request for one item (raises ``ModelingError`` on a bad payload)."""

    @abstractmethod
    def prediction(self, key: int, payload: Mapping[str, Any], response: Any) -> ItemPrediction:
        """The item's prediction from the backend's response to its request."""


Predictions = tuple[type[OperationMapping], ...]


def mapping_for(
    predictions: Predictions | None, operations: frozenset[str]
) -> type[OperationMapping] | None:
    """The first of a task type's mappings whose operation is one of ``operations``, or None."""
    return next((m for m in predictions or () if m.operation in operations), None)


# --- helpers the mappings share


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def softmax(values: Sequence[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


@dataclass(frozen=True)
class Choice:
    label: str
    text: str


def choices_of(raw: Any) -> list[Choice]:
    """Options given as a list of strings, a list of ``{label|id, text}`` objects, or the
    SimpleToM ``{"text": [...], "label": [...]}`` object."""
    if isinstance(raw, Mapping) and "text" in raw:
        texts = list(raw["text"])
        labels = list(raw.get("label") or [chr(ord("A") + i) for i in range(len(texts))])
        return [Choice(str(label), str(text)) for label, text in zip(labels, texts, strict=True)]
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ModelingError("choices must be a non-empty list")
    result = []
    for option in raw:
        if isinstance(option, str):
            result.append(Choice(option, option))
        elif isinstance(option, Mapping) and "text" in option:
            label = option.get("label", option.get("id", option["text"]))
            result.append(Choice(str(label), str(option["text"])))
        else:
            raise ModelingError(f"cannot read choice {option!r}")
    return result


def reply_distribution(reply: ChatReply, answers: list[str]) -> dict[str, float]:
    """The distribution over ``answers`` from a chat reply: the first token's top
    log-probabilities where the reply has them (each answer gets the mass of the tokens that
    are it or begin it), else the answer the text names, as certain."""
    distribution = _logprob_distribution(reply.top_logprobs, answers)
    if distribution is not None:
        return distribution
    content = reply.text.strip()
    chosen = next((a for a in answers if content.lower() == a.lower()), None)
    chosen = chosen or next((a for a in answers if content.lower().startswith(a.lower())), None)
    if chosen is None:
        raise ModelingError(f"the model answered {content!r}, not one of {answers}")
    return {answer: 1.0 if answer == chosen else 0.0 for answer in answers}


def _logprob_distribution(
    top: list[tuple[str, float]] | None, answers: list[str]
) -> dict[str, float] | None:
    if top is None:
        return None
    mass = dict.fromkeys(answers, 0.0)
    for raw_token, logprob in top:
        token = raw_token.strip().lower()
        if not token:
            continue
        matches = [a for a in answers if a.lower() == token]
        matches = matches or [a for a in answers if a.lower().startswith(token)]
        if len(matches) == 1:
            mass[matches[0]] += math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return {answer: value / total for answer, value in mass.items()}

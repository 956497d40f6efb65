"""The one interface every inference backend implements, and the pure helpers they share.

Nothing here imports torch or transformers: the web process imports this module (through the
registry) to validate predictors, and must stay light. Backends that need torch import it in
their own modules, which only workers load.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The preference scale of SPEC 2.1, from P(B better than A).
DEFAULT_TIE_MARGIN = 0.1
DEFAULT_STRONG_MARGIN = 0.35


class BackendError(Exception):
    """A predictor cannot be built or cannot answer for an input (bad params, bad payload)."""


class TransientBackendError(BackendError):
    """A failure worth retrying later (an endpoint unreachable or overloaded)."""


@dataclass(frozen=True)
class PredictorConfig:
    task_type: str
    weights_path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # Reads a stored file (an item's image) by its storage name; given by the worker.
    open_media: Callable[[str], bytes] | None = None


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


class Predictor(ABC):
    """A loaded model that answers batches of items of the task types it supports."""

    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        """``params`` are the predictor's parameters merged with the backend's defaults."""
        self.config = config
        self.task_type = config.task_type
        self.params: dict[str, Any] = dict(params)

    @property
    @abstractmethod
    def device(self) -> str:
        """Where inference runs, in words (``cpu``, ``cuda:0 (NVIDIA H100)``, ``http``)."""

    @abstractmethod
    def batches(self, inputs: Sequence[PredictInput]) -> Iterator[list[PredictInput]]:
        """Split ``inputs`` into batches (dynamic size by sequence length where that applies)."""

    @abstractmethod
    def predict_batch(self, inputs: Sequence[PredictInput]) -> list[ItemPrediction]:
        """One prediction per input, in the same order."""

    def predict(self, inputs: Sequence[PredictInput]) -> list[ItemPrediction]:
        """Every input, batch by batch; the results in the order of ``inputs``."""
        by_key: dict[int, ItemPrediction] = {}
        for batch in self.batches(inputs):
            for prediction in self.predict_batch(batch):
                by_key[prediction.key] = prediction
        return [by_key[item.key] for item in inputs]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the predictor holds (GPU memory, connections)."""


# --- pure helpers shared by the backends


def token_budget_batches(
    lengths: Sequence[int], *, max_tokens: int, max_batch: int, widths: Sequence[int] | None = None
) -> list[list[int]]:
    """Indices grouped into batches whose padded size stays under a token budget.

    Sorting by length puts sequences of similar length together, so little is spent on padding;
    a batch holds as many as fit in ``max_tokens`` counted as ``sum(widths) * longest`` (``widths``
    is how many sequences each entry stands for, 1 by default), and never more than ``max_batch``
    entries. An entry longer than the budget gets a batch of its own.
    """
    if max_tokens < 1 or max_batch < 1:
        raise ValueError("max_tokens and max_batch must be positive")
    widths = widths or [1] * len(lengths)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    batches: list[list[int]] = []
    current: list[int] = []
    longest = rows = 0
    for index in order:
        new_longest = max(longest, lengths[index])
        new_rows = rows + widths[index]
        if current and (new_longest * new_rows > max_tokens or len(current) >= max_batch):
            batches.append(current)
            current, new_longest, new_rows = [], lengths[index], widths[index]
        current.append(index)
        longest, rows = new_longest, new_rows
    if current:
        batches.append(current)
    return batches


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


def bradley_terry(
    reward_a: float, reward_b: float, *, var_a: float = 0.0, var_b: float = 0.0, scale: float = 1.0
) -> float:
    """P(B better than A) under Bradley–Terry on the rewards.

    With reward variances (a distributional head) the logistic is averaged over the Gaussian
    reward difference with the probit approximation (MacKay 1992):
    E[sigmoid(d)] ≈ sigmoid(mu / sqrt(1 + pi * s2 / 8)), mu and s2 the difference's mean and
    variance. Without variances this is ``sigmoid((reward_b - reward_a) / scale)``.
    """
    mu = (reward_b - reward_a) / scale
    s2 = (var_a + var_b) / (scale * scale)
    return sigmoid(mu / math.sqrt(1.0 + math.pi * s2 / 8.0))


def preference_from_probability(
    p_b: float,
    *,
    tie_margin: float = DEFAULT_TIE_MARGIN,
    strong_margin: float = DEFAULT_STRONG_MARGIN,
) -> int:
    """The SPEC 2.1 signed 5-point vote from P(B better): 0 near 1/2, ±2 far from it."""
    margin = p_b - 0.5
    if abs(margin) < tie_margin:
        return 0
    strength = 2 if abs(margin) >= strong_margin else 1
    return strength if margin > 0 else -strength


def preference_value(p_b: float, params: Mapping[str, Any]) -> dict[str, Any]:
    """A preference_pair annotation value (the shape humans submit) from P(B better)."""
    vote = preference_from_probability(
        p_b,
        tie_margin=float(params.get("tie_margin", DEFAULT_TIE_MARGIN)),
        strong_margin=float(params.get("strong_margin", DEFAULT_STRONG_MARGIN)),
    )
    return {"preference": vote, "aspects": {}, "rationale": "", "flags": []}


def preference_prediction(
    key: int,
    distribution: dict[str, float],
    params: Mapping[str, Any],
    details: dict[str, Any] | None = None,
) -> ItemPrediction:
    """A preference_pair prediction from a judge's distribution over ``a``, ``b`` (and ``tie``):
    a tie counts half towards P(B better)."""
    p_b = distribution["b"] + distribution.get("tie", 0.0) / 2
    return ItemPrediction(
        key=key,
        value=preference_value(p_b, params),
        score=p_b,
        distribution=distribution,
        details=details or {},
    )


def tom_prediction(key: int, per_question: dict[str, dict[str, float]]) -> ItemPrediction:
    """A tom prediction from each question's distribution over its choice labels: the likeliest
    label per question, and their mean probability as the score."""
    answers = {qid: max(dist, key=lambda label: dist[label]) for qid, dist in per_question.items()}
    confidence = sum(per_question[qid][label] for qid, label in answers.items()) / len(answers)
    return ItemPrediction(
        key=key,
        value={"answers": answers},
        score=confidence,
        details={"questions": per_question},
    )


def conversation_messages(payload: Mapping[str, Any], response: str) -> list[dict[str, str]]:
    """A preference pair's earlier turns, its prompt and one response as chat messages."""
    messages = [
        {"role": str(turn["role"]), "content": str(turn["content"])}
        for turn in payload.get("context", [])
    ]
    messages.append({"role": "user", "content": str(payload["prompt"])})
    messages.append({"role": "assistant", "content": response})
    return messages


def plain_chat(messages: Sequence[Mapping[str, str]]) -> str:
    """Chat messages as plain text, for models without a chat template."""
    return "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)


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
        raise BackendError("choices must be a non-empty list")
    result = []
    for option in raw:
        if isinstance(option, str):
            result.append(Choice(option, option))
        elif isinstance(option, Mapping) and "text" in option:
            label = option.get("label", option.get("id", option["text"]))
            result.append(Choice(str(label), str(option["text"])))
        else:
            raise BackendError(f"cannot read choice {option!r}")
    return result


def tom_questions(payload: Mapping[str, Any]) -> list[tuple[str, str, list[Choice]]]:
    """(id, text, choices) of each question of a ``tom`` item (SPEC 2.3)."""
    questions = payload.get("questions")
    if not isinstance(questions, Sequence) or not questions:
        raise BackendError("a tom item needs a non-empty 'questions' list")
    return [(str(q["id"]), str(q["text"]), choices_of(q["choices"])) for q in questions]


def tom_prompt(payload: Mapping[str, Any], question: str, choices: Sequence[Choice]) -> str:
    lines = [f"Story: {payload['story']}", "", f"Question: {question}"]
    lines += [f"{choice.label}. {choice.text}" for choice in choices]
    return "\n".join(lines)


def derailment_prefixes(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(comment id, text of the thread up to and including that comment) for each comment."""
    comments = payload.get("comments")
    if not isinstance(comments, Sequence) or not comments:
        raise BackendError("a derailment item needs a non-empty 'comments' list")
    title = str(payload.get("title", ""))
    parts = [f"Title: {title}"]
    prefixes = []
    for comment in comments:
        parts.append(f"{comment.get('author', 'someone')}: {comment['body']}")
        prefixes.append((str(comment["id"]), "\n\n".join(parts)))
    return prefixes


def derailment_value(
    comment_ids: Sequence[str], scores: Sequence[float], *, threshold: float
) -> ItemPrediction:
    """The derailment annotation shape from per-prefix P(derails): the conversation's P is the
    highest prefix score; when it crosses ``threshold`` the thread is predicted toxic, the
    derailment point is the first comment whose score crosses it (SPEC 2.2) and the toxic
    comment the one with the highest score (never before the derailment point). ``key`` is
    filled in by the caller."""
    p = max(scores)
    toxic = p >= threshold
    crossing = next(
        (cid for cid, s in zip(comment_ids, scores, strict=True) if s >= threshold), None
    )
    peak = comment_ids[list(scores).index(p)]
    return ItemPrediction(
        key=0,
        value={
            "toxic": toxic,
            "toxic_comment": peak if toxic else None,
            "derailment_comment": crossing if toxic else None,
        },
        score=p,
        distribution={"no": 1.0 - p, "yes": p},
        details={
            "prefix_scores": [
                {"comment": cid, "p": s} for cid, s in zip(comment_ids, scores, strict=True)
            ],
            "threshold": threshold,
        },
    )

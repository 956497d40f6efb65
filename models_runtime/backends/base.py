"""The interfaces of the model runtime: a ``Backend`` answers generic operations, a ``Predictor``
answers a task type's items; ``MappedPredictor`` composes the two with the task type's mapping
(``annotate.tasktypes.modeling``), so no backend knows a task type.

Nothing here imports torch or transformers: the web process imports this module (through the
registry) to validate predictors, and must stay light. Backends that need torch import it in
their own modules, which only workers load.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from annotate.tasktypes.modeling import (
    ItemPrediction,
    ModelingError,
    OperationMapping,
    PredictInput,
)

# A predictor cannot be built or cannot answer for an input (bad params, bad payload); one
# class with the task types' mappings, which raise it for payloads that do not fit.
BackendError = ModelingError


class TransientBackendError(BackendError):
    """A failure worth retrying later (an endpoint unreachable or overloaded)."""


@dataclass(frozen=True)
class PredictorConfig:
    task_type: str
    weights_path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # Reads a stored file (an item's image) by its storage name; given by the worker.
    open_media: Callable[[str], bytes] | None = None


class Predictor(ABC):
    """A loaded model that answers batches of items of one task type."""

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


class Backend(ABC):
    """A loaded model that answers requests of its ``operations`` (one request per item)."""

    operations: ClassVar[frozenset[str]]

    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        """``params`` are the predictor's parameters merged with the defaults."""
        self.config = config
        self.params: dict[str, Any] = dict(params)

    @property
    @abstractmethod
    def device(self) -> str:
        """Where inference runs, in words."""

    @abstractmethod
    def batches(self, requests: Sequence[Any]) -> Iterator[list[int]]:
        """Indices of ``requests`` grouped into batches."""

    @abstractmethod
    def answer(self, requests: Sequence[Any]) -> list[Any]:
        """One response per request, in the same order."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the backend holds (GPU memory, connections)."""


class MappedPredictor(Predictor):
    """A task type's items through a backend: the mapping builds each item's request and reads
    the backend's response as the item's prediction.

    An item's request is built once, in ``batches``, and reused by ``predict_batch`` (the
    backend may cache what it derived from it, its token ids, for as long as ``batches`` runs).
    Other attributes (``model``, ``torch_device``, CLIP's ``score_boxes``) are the backend's.
    """

    def __init__(self, mapping: OperationMapping, backend: Backend):
        self.mapping = mapping
        self.backend = backend
        self.task_type = backend.config.task_type
        self._requests: dict[int, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name in {"mapping", "backend", "_requests"}:  # not yet set: no recursion
            raise AttributeError(name)
        return getattr(self.backend, name)

    @property
    def device(self) -> str:
        return self.backend.device

    def _request(self, item: PredictInput) -> Any:
        # Kept until ``batches`` ends: a backend's cache is keyed by the request's identity.
        cached = self._requests.get(item.key)
        return cached if cached is not None else self.mapping.request(item.payload)

    def encode(self, item: PredictInput) -> Any:
        """What the backend derives from the item's request (a transformers backend: the token
        sequences the model reads)."""
        encode = getattr(self.backend, "encode", None)
        if encode is None:
            raise AttributeError(f"{type(self.backend).__name__} encodes nothing")
        return encode(self.mapping.request(item.payload))

    def batches(self, inputs: Sequence[PredictInput]) -> Iterator[list[PredictInput]]:
        requests = [self.mapping.request(item.payload) for item in inputs]
        self._requests = {item.key: request for item, request in zip(inputs, requests, strict=True)}
        try:
            for group in self.backend.batches(requests):
                yield [inputs[i] for i in group]
        finally:
            self._requests.clear()

    def predict_batch(self, inputs: Sequence[PredictInput]) -> list[ItemPrediction]:
        requests = [self._request(item) for item in inputs]
        responses = self.backend.answer(requests)
        return [
            self.mapping.prediction(item.key, item.payload, response)
            for item, response in zip(inputs, responses, strict=True)
        ]

    def close(self) -> None:
        self.backend.close()


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


def plain_chat(messages: Sequence[Mapping[str, str]]) -> str:
    """Chat messages as plain text, for models without a chat template."""
    return "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)


__all__ = [
    "Backend",
    "BackendError",
    "ItemPrediction",
    "MappedPredictor",
    "PredictInput",
    "Predictor",
    "PredictorConfig",
    "TransientBackendError",
    "plain_chat",
    "token_budget_batches",
]

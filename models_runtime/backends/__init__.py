"""Backend registry: kind → where its class lives, the operations it offers and its parameters.

A backend answers a task type when the type's ``predictions`` (``annotate.tasktypes.modeling``)
map one of the backend's operations; ``load_predictor`` composes that mapping with the loaded
backend. A predictor's parameters are the backend's own and those of the mappings it may serve.

Modules are imported on first use only (like ``django.contrib.sessions.backends``), so
importing this package never loads torch or transformers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from annotate.tasktypes import TaskType, get_task_type, task_type_choices
from annotate.tasktypes.modeling import (
    CHAT,
    CLASSIFY_TEXTS,
    COMPARE_OPTIONS,
    MATCH_IMAGE,
    SCORE_TEXTS,
    OperationMapping,
    mapping_for,
)

from .base import (
    Backend,
    BackendError,
    ItemPrediction,
    MappedPredictor,
    PredictInput,
    Predictor,
    PredictorConfig,
)


def _task_types() -> dict[str, TaskType]:
    """Every registered task type by name."""
    return {name: get_task_type(name) for name, _label in task_type_choices()}


@dataclass(frozen=True)
class BackendSpec:
    kind: str
    class_path: str
    operations: frozenset[str]
    #: The backend's own parameters, with their defaults (documented in its module).
    default_params: Mapping[str, Any] = field(default_factory=dict)
    needs_weights: bool = True

    def mapping(self, task_type: str) -> type[OperationMapping] | None:
        """How ``task_type`` uses this backend, or None when it cannot."""
        plugin = _task_types().get(task_type)
        return mapping_for(plugin.predictions, self.operations) if plugin is not None else None

    @property
    def task_types(self) -> frozenset[str]:
        """The task types with a mapping for one of this backend's operations."""
        return frozenset(
            name
            for name, plugin in _task_types().items()
            if mapping_for(plugin.predictions, self.operations) is not None
        )

    def known_params(self, task_type: str | None = None) -> dict[str, Any]:
        """The backend's parameters and those of ``task_type``'s mapping (of every task type's
        mapping it may serve when None), with their defaults; a mapping's parameter never
        shadows one of the backend's."""
        params: dict[str, Any] = {}
        for name in sorted(self.task_types) if task_type is None else [task_type]:
            mapping = self.mapping(name)
            params.update(mapping.default_params if mapping is not None else {})
        return {**params, **self.default_params}

    def params_with_defaults(
        self, params: Mapping[str, Any], task_type: str | None = None
    ) -> dict[str, Any]:
        """``params`` over the defaults (those of ``task_type``'s mapping when given); a
        parameter that neither the backend nor any task type's mapping knows is refused."""
        known = self.known_params()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise BackendError(
                f"unknown parameter(s) for {self.kind}: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})"
            )
        return {**self.known_params(task_type), **params}


# Shared by the transformers backends: device ("auto", "cpu", "cuda", "cuda:1"), dtype on CUDA
# ("auto": bf16 where supported, else fp16), the token budget of one forward pass, the most
# sequences per pass, the longest sequence kept (longer ones are cut on the left, keeping the end).
_TORCH = {
    "device": "auto",
    "cuda_dtype": "auto",
    "max_tokens": 8192,
    "max_batch": 64,
    "max_length": 512,
}

BACKENDS: dict[str, BackendSpec] = {
    spec.kind: spec
    for spec in [
        BackendSpec(
            "reward_model",
            "models_runtime.backends.reward_model.RewardModelBackend",
            frozenset({SCORE_TEXTS}),
            {**_TORCH, "chat_template": "auto"},
        ),
        BackendSpec(
            "sequence_classifier",
            "models_runtime.backends.sequence_classifier.SequenceClassifierBackend",
            frozenset({CLASSIFY_TEXTS}),
            dict(_TORCH),
        ),
        BackendSpec(
            "causal_lm_judge",
            "models_runtime.backends.causal_lm.CausalLMJudgeBackend",
            frozenset({COMPARE_OPTIONS}),
            {**_TORCH, "length_normalize": False, "chat_template": "auto"},
        ),
        BackendSpec(
            "clip",
            "models_runtime.backends.clip.ClipBackend",
            frozenset({MATCH_IMAGE}),
            dict(_TORCH),
        ),
        BackendSpec(
            "openai_http",
            "models_runtime.backends.openai_http.OpenAIChatBackend",
            frozenset({CHAT}),
            {
                "base_url": "",
                "model": "",
                "api_key_env": "",
                "timeout": 60.0,
                "max_concurrency": 8,
                "max_retries": 2,
                "guided_choice": True,
                "logprobs": True,
                "system_prompt": "",
            },
            needs_weights=False,
        ),
    ]
}


def backend_spec(kind: str) -> BackendSpec:
    try:
        return BACKENDS[kind]
    except KeyError:
        raise BackendError(
            f"unknown backend {kind!r} (known: {', '.join(sorted(BACKENDS))})"
        ) from None


def backend_class(kind: str) -> type[Backend]:
    module_name, _, class_name = backend_spec(kind).class_path.rpartition(".")
    cls = getattr(import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendError(f"{class_name} is not a Backend")
    return cls


def load_predictor(kind: str, config: PredictorConfig) -> Predictor:
    """Build and load the predictor: the task type's mapping for one of the backend's
    operations, on the loaded backend; raises ``BackendError`` when it does not fit."""
    spec = backend_spec(kind)
    mapping = spec.mapping(config.task_type)
    if mapping is None:
        raise BackendError(f"backend {kind!r} does not answer task type {config.task_type!r}")
    params = spec.params_with_defaults(config.params, config.task_type)
    bound = mapping(params)  # checks the mapping's parameters before the model loads
    return MappedPredictor(bound, backend_class(kind)(config, params))


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "BackendSpec",
    "ItemPrediction",
    "MappedPredictor",
    "PredictInput",
    "Predictor",
    "PredictorConfig",
    "backend_spec",
    "load_predictor",
]

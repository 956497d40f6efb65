"""Backend registry: kind → where its class lives and which task types it answers.

Modules are imported on first use only (like ``django.contrib.sessions.backends``), so
importing this package never loads torch or transformers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from .base import BackendError, ItemPrediction, PredictInput, Predictor, PredictorConfig


@dataclass(frozen=True)
class BackendSpec:
    kind: str
    class_path: str
    task_types: frozenset[str]
    #: Parameters the backend understands, with their defaults (documented in its module).
    default_params: Mapping[str, Any] = field(default_factory=dict)
    needs_weights: bool = True

    def params_with_defaults(self, params: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(self.default_params))
        if unknown:
            raise BackendError(
                f"unknown parameter(s) for {self.kind}: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(self.default_params))})"
            )
        return {**self.default_params, **params}


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
_PREFERENCE = {"tie_margin": 0.1, "strong_margin": 0.35}

BACKENDS: dict[str, BackendSpec] = {
    spec.kind: spec
    for spec in [
        BackendSpec(
            "reward_model",
            "models_runtime.backends.reward_model.RewardModelPredictor",
            frozenset({"preference_pair"}),
            {**_TORCH, **_PREFERENCE, "scale": 1.0, "chat_template": "auto"},
        ),
        BackendSpec(
            "sequence_classifier",
            "models_runtime.backends.sequence_classifier.SequenceClassifierPredictor",
            frozenset({"derailment"}),
            {**_TORCH, "threshold": 0.5, "positive_label": 1},
        ),
        BackendSpec(
            "causal_lm_judge",
            "models_runtime.backends.causal_lm.CausalLMJudgePredictor",
            frozenset({"preference_pair", "tom"}),
            {
                **_TORCH,
                **_PREFERENCE,
                "options": {"a": " A", "b": " B", "tie": " tie"},
                "allow_tie": True,
                "debias_order": False,
                "length_normalize": False,
                "chat_template": "auto",
            },
        ),
        BackendSpec(
            "clip",
            "models_runtime.backends.clip.ClipPredictor",
            frozenset({"visual_argument"}),
            {
                **_TORCH,
                "image_field": "image",
                "options_field": "premise_options",
                "prompt": "{text}",
            },
        ),
        BackendSpec(
            "openai_http",
            "models_runtime.backends.openai_http.OpenAIChatPredictor",
            frozenset({"preference_pair", "tom"}),
            {
                **_PREFERENCE,
                "base_url": "",
                "model": "",
                "api_key_env": "",
                "timeout": 60.0,
                "max_concurrency": 8,
                "max_retries": 2,
                "allow_tie": True,
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


def predictor_class(kind: str) -> type[Predictor]:
    module_name, _, class_name = backend_spec(kind).class_path.rpartition(".")
    cls = getattr(import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Predictor)):
        raise BackendError(f"{class_name} is not a Predictor")
    return cls


def load_predictor(kind: str, config: PredictorConfig) -> Predictor:
    """Build and load the predictor; raises ``BackendError`` when it does not fit."""
    spec = backend_spec(kind)
    if config.task_type not in spec.task_types:
        raise BackendError(f"backend {kind!r} does not answer task type {config.task_type!r}")
    params = spec.params_with_defaults(config.params)
    return predictor_class(kind)(config, params)


__all__ = [
    "BACKENDS",
    "BackendError",
    "BackendSpec",
    "ItemPrediction",
    "PredictInput",
    "Predictor",
    "PredictorConfig",
    "backend_spec",
    "load_predictor",
]

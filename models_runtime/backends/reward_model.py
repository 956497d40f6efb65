"""Reward model for preference pairs: a sequence-classification model scores prompt + response.

Each response of a pair is scored on its own (with the earlier turns and the prompt, through the
tokenizer's chat template when it has one); P(B better) is Bradley–Terry on the two rewards. A
model with two outputs is read as a distributional head, (mean, log variance) of the reward, and
the probability then accounts for the variances (``base.bradley_terry``).

Parameters: ``scale`` (Bradley–Terry temperature), ``tie_margin``/``strong_margin`` (the 5-point
vote from the probability), ``chat_template`` (auto, always, never), and the shared ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from transformers import AutoModelForSequenceClassification

from . import _torch as tt
from .base import (
    BackendError,
    ItemPrediction,
    PredictInput,
    PredictorConfig,
    bradley_terry,
    conversation_messages,
    plain_chat,
    preference_value,
)


class RewardModelPredictor(tt.TransformersPredictor):
    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        super().__init__(config, params)
        self.model = self.load_model(AutoModelForSequenceClassification)
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.n_outputs = int(self.model.config.num_labels)
        if self.n_outputs not in (1, 2):
            raise BackendError(
                "a reward model has 1 output (reward) or 2 (mean, log variance), "
                f"not {self.n_outputs}"
            )

    def texts(self, item: PredictInput) -> list[str]:
        mode = str(self.params["chat_template"])
        return [
            tt.chat_text(
                self.tokenizer,
                conversation_messages(item.payload, str(response)),
                mode,
                plain_chat,
            )
            for response in (item.payload["response_a"], item.payload["response_b"])
        ]

    def encode(self, item: PredictInput) -> list[list[int]]:
        return self.encode_many([item])[0]

    def encode_many(self, items: Sequence[PredictInput]) -> list[list[list[int]]]:
        return self.split_encoded(items, self.texts)

    def _forward(self, sequences: list[list[int]], group: list[int]) -> list[tuple[float, float]]:
        logits = self.sequence_logits([sequences[i] for i in group])
        rows: list[list[float]] = logits.tolist()  # one conversion per forward pass
        if self.n_outputs == 1:
            return [(row[0], 0.0) for row in rows]
        return [(row[0], math.exp(row[1])) for row in rows]

    def predict_batch(self, inputs: Sequence[PredictInput]) -> list[ItemPrediction]:
        sequences, spans = self.batch_sequences(inputs)
        rewards = tt.run_in_batches(
            sequences,
            lambda group: self._forward(sequences, group),
            max_tokens=self.max_tokens,
            max_batch=self.max_batch,
        )
        predictions = []
        for item, span in zip(inputs, spans, strict=True):
            (mean_a, var_a), (mean_b, var_b) = rewards[span]
            p_b = bradley_terry(
                mean_a, mean_b, var_a=var_a, var_b=var_b, scale=float(self.params["scale"])
            )
            details: dict[str, Any] = {"reward_a": mean_a, "reward_b": mean_b}
            if self.n_outputs == 2:
                details.update(variance_a=var_a, variance_b=var_b)
            predictions.append(
                ItemPrediction(
                    key=item.key,
                    value=preference_value(p_b, self.params),
                    score=p_b,
                    distribution={"a": 1.0 - p_b, "b": p_b},
                    details=details,
                )
            )
        return predictions

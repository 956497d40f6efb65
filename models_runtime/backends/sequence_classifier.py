"""Sequence classifier for derailment: P(derails to toxicity) for every prefix of a thread.

Each prefix (title and comments up to comment k, cut on the left to ``max_length`` tokens so the
latest comments stay) is classified; the conversation's probability is the highest prefix
score and the predicted derailment point the first comment whose score crosses ``threshold``
(SPEC 2.2). A model with one output is read as a logit (sigmoid); with two or more, the softmax
probability of ``positive_label``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification

from . import _torch as tt
from .base import (
    BackendError,
    ItemPrediction,
    PredictInput,
    PredictorConfig,
    derailment_prefixes,
    derailment_value,
)


class SequenceClassifierPredictor(tt.TransformersPredictor):
    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        super().__init__(config, params)
        self.model = self.load_model(AutoModelForSequenceClassification)
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.positive = int(self.params["positive_label"])
        n_labels = int(self.model.config.num_labels)
        if n_labels > 1 and not 0 <= self.positive < n_labels:
            raise BackendError(
                f"positive_label {self.positive} is not one of the {n_labels} outputs"
            )
        self.threshold = float(self.params["threshold"])

    def encode(self, item: PredictInput) -> list[list[int]]:
        return self.encode_many([item])[0]

    def encode_many(self, items: Sequence[PredictInput]) -> list[list[list[int]]]:
        return self.split_encoded(
            items, lambda item: [text for _cid, text in derailment_prefixes(item.payload)]
        )

    def _forward(self, sequences: list[list[int]], group: list[int]) -> list[float]:
        logits = self.sequence_logits([sequences[i] for i in group])
        if logits.shape[-1] == 1:
            probs = torch.sigmoid(logits[:, 0])
        else:
            probs = torch.softmax(logits, dim=-1)[:, self.positive]
        return [float(p) for p in probs]

    def predict_batch(self, inputs: Sequence[PredictInput]) -> list[ItemPrediction]:
        sequences, spans = self.batch_sequences(inputs)
        scores = tt.run_in_batches(
            sequences,
            lambda group: self._forward(sequences, group),
            max_tokens=self.max_tokens,
            max_batch=self.max_batch,
        )
        predictions = []
        for item, span in zip(inputs, spans, strict=True):
            comment_ids = [cid for cid, _text in derailment_prefixes(item.payload)]
            prediction = derailment_value(comment_ids, scores[span], threshold=self.threshold)
            prediction.key = item.key
            predictions.append(prediction)
        return predictions

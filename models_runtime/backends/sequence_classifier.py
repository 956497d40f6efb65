"""Sequence classifier: class probabilities for texts (``classify_texts``).

Each text is cut on the left to ``max_length`` tokens (so the end stays: the latest comments of
a thread). A model with one output is read as a logit, and its sigmoid is the one probability
given; with two or more outputs, their softmax.

Parameters: the shared ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification

from annotate.tasktypes.modeling import CLASSIFY_TEXTS, ClassifyTexts

from . import _torch as tt
from .base import PredictorConfig


class SequenceClassifierBackend(tt.TransformersBackend):
    operations = frozenset({CLASSIFY_TEXTS})

    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        super().__init__(config, params)
        self.model = self.load_model(AutoModelForSequenceClassification)
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.n_labels = int(self.model.config.num_labels)

    def encode(self, request: ClassifyTexts) -> list[list[int]]:
        return self.encode_many([request])[0]

    def encode_many(self, requests: Sequence[ClassifyTexts]) -> list[list[list[int]]]:
        return self.encode_texts([request.texts for request in requests])

    def _forward(self, sequences: list[list[int]], group: list[int]) -> list[list[float]]:
        logits = self.sequence_logits([sequences[i] for i in group])
        one = logits.shape[-1] == 1
        probs = torch.sigmoid(logits) if one else torch.softmax(logits, dim=-1)
        rows: list[list[float]] = probs.tolist()
        return rows

    def answer(self, requests: Sequence[ClassifyTexts]) -> list[list[list[float]]]:
        sequences, spans = self.batch_sequences(requests)
        probabilities = tt.run_in_batches(
            sequences,
            lambda group: self._forward(sequences, group),
            max_tokens=self.max_tokens,
            max_batch=self.max_batch,
        )
        return [probabilities[span] for span in spans]

"""Reward model: a sequence-classification model scores chats (``score_texts``).

Each chat is scored on its own, through the tokenizer's chat template when it has one (else as
plain ``Role: content`` text), cut on the left to ``max_length`` tokens. A model with two
outputs is read as a distributional head, (mean, log variance) of the reward; with one, as the
reward alone.

Parameters: ``chat_template`` (auto, always, never), and the shared ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from transformers import AutoModelForSequenceClassification

from annotate.tasktypes.modeling import SCORE_TEXTS, ScoreTexts, TextScore

from . import _torch as tt
from .base import BackendError, PredictorConfig, plain_chat


class RewardModelBackend(tt.TransformersBackend):
    operations = frozenset({SCORE_TEXTS})

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

    def texts(self, request: ScoreTexts) -> list[str]:
        mode = str(self.params["chat_template"])
        return [tt.chat_text(self.tokenizer, chat, mode, plain_chat) for chat in request.chats]

    def encode(self, request: ScoreTexts) -> list[list[int]]:
        return self.encode_many([request])[0]

    def encode_many(self, requests: Sequence[ScoreTexts]) -> list[list[list[int]]]:
        return self.encode_texts([self.texts(request) for request in requests])

    def _forward(self, sequences: list[list[int]], group: list[int]) -> list[TextScore]:
        logits = self.sequence_logits([sequences[i] for i in group])
        rows: list[list[float]] = logits.tolist()  # one conversion per forward pass
        if self.n_outputs == 1:
            return [TextScore(row[0]) for row in rows]
        return [TextScore(row[0], math.exp(row[1])) for row in rows]

    def answer(self, requests: Sequence[ScoreTexts]) -> list[list[TextScore]]:
        sequences, spans = self.batch_sequences(requests)
        scores = tt.run_in_batches(
            sequences,
            lambda group: self._forward(sequences, group),
            max_tokens=self.max_tokens,
            max_batch=self.max_batch,
        )
        return [scores[span] for span in spans]

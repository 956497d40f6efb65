"""Causal LM as a judge: option log-likelihoods after a question prompt.

preference_pair: the pair is laid out as "Response A … Response B … Which response is better?",
and the options (``options``: ``{"a": " A", "b": " B", "tie": " tie"}``; the tie only with
``allow_tie``) are scored by their log-likelihood after the prompt; their softmax is the
distribution over a / tie / b, and the score P(B better) counts a tie as half. With
``debias_order`` the pair is also asked with the responses swapped and the two answers averaged,
which cancels the judge's position bias.

tom: each question is asked after the story with its labelled choices; each choice label is
scored as the answer. The value holds one chosen label per question.

``length_normalize`` divides an option's log-likelihood by its token count (for options of
different lengths). ``chat_template``: auto (when the tokenizer has one), always, never.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoModelForCausalLM

from . import _torch as tt
from .base import (
    BackendError,
    ItemPrediction,
    PredictInput,
    PredictorConfig,
    preference_prediction,
    softmax,
    tom_prediction,
    tom_prompt,
    tom_questions,
)


@dataclass(frozen=True)
class Question:
    """One multiple-choice prompt: its text and the option strings scored after it."""

    key: str
    prompt: str
    labels: list[str]
    options: list[str]


def preference_prompt(payload: Mapping[str, Any], first: str, second: str, allow_tie: bool) -> str:
    lines = []
    for turn in payload.get("context", []):
        lines.append(f"{str(turn['role']).capitalize()}: {turn['content']}")
    lines += [
        f"User prompt: {payload['prompt']}",
        "",
        f"Response A: {first}",
        "",
        f"Response B: {second}",
        "",
        "Which response is better? Answer A, B or tie."
        if allow_tie
        else "Which response is better? Answer A or B.",
    ]
    return "\n".join(lines)


class CausalLMJudgePredictor(tt.TransformersPredictor):
    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        super().__init__(config, params)
        options = self.params["options"]
        if not isinstance(options, Mapping) or not {"a", "b"} <= set(options):
            raise BackendError("options must map 'a', 'b' (and 'tie') to the answer strings")
        self.model = self.load_model(AutoModelForCausalLM)
        self._option_ids: dict[str, list[int]] = {}

    # --- prompts per task type
    def questions(self, payload: Mapping[str, Any]) -> list[Question]:
        if self.task_type == "tom":
            return [
                Question(
                    qid,
                    tom_prompt(payload, text, choices) + "\n",
                    [c.label for c in choices],
                    [f"Answer: {c.label}" for c in choices],
                )
                for qid, text, choices in tom_questions(payload)
            ]
        allow_tie = bool(self.params["allow_tie"])
        labels = ["a", "b", "tie"] if allow_tie else ["a", "b"]
        options = self.params["options"]
        a, b = str(payload["response_a"]), str(payload["response_b"])
        orders = [("ab", a, b), ("ba", b, a)] if self.params["debias_order"] else [("ab", a, b)]
        return [
            Question(
                key,
                preference_prompt(payload, first, second, allow_tie) + "\nAnswer:",
                labels,
                [str(options[label]) for label in labels],
            )
            for key, first, second in orders
        ]

    def _prompt_text(self, text: str) -> str:
        return tt.chat_text(
            self.tokenizer,
            [{"role": "user", "content": text}],
            str(self.params["chat_template"]),
            lambda _messages: text,
            add_generation_prompt=True,
        )

    def option_ids(self, option: str) -> list[int]:
        if option not in self._option_ids:
            ids = self.tokenizer(option, add_special_tokens=False)["input_ids"]
            if not ids:
                raise BackendError(f"option {option!r} has no tokens")
            self._option_ids[option] = ids
        return self._option_ids[option]

    def encode(self, item: PredictInput) -> list[list[int]]:
        sequences = []
        for question in self.questions(item.payload):
            prompt_ids = self.tokenizer(self._prompt_text(question.prompt))["input_ids"]
            for option in question.options:
                option_ids = self.option_ids(option)
                room = max(1, self.max_length - len(option_ids))
                sequences.append(prompt_ids[-room:] + option_ids)
        return sequences

    def _forward(
        self, sequences: list[list[int]], option_lengths: list[int], group: list[int]
    ) -> list[float]:
        rows = [sequences[i] for i in group]
        ids, mask = tt.padded(rows, self.tokenizer.pad_token_id, self.torch_device)
        with torch.inference_mode(), tt.autocast(self.torch_device, self.dtype):
            logits = self.model(input_ids=ids, attention_mask=mask).logits
        scores = []
        for row, (index, sequence) in enumerate(zip(group, rows, strict=True)):
            n, k = len(sequence), option_lengths[index]
            step_logits = logits[row, n - k - 1 : n - 1].float()
            targets = ids[row, n - k : n]
            log_probs = torch.log_softmax(step_logits, dim=-1).gather(-1, targets[:, None])
            total = float(log_probs.sum())
            scores.append(total / k if self.params["length_normalize"] else total)
        return scores

    def predict_batch(self, inputs: Sequence[PredictInput]) -> list[ItemPrediction]:
        sequences: list[list[int]] = []
        option_lengths: list[int] = []
        layouts = []
        for item in inputs:
            questions = self.questions(item.payload)
            layouts.append(questions)
            sequences.extend(self._sequences(item))
            option_lengths.extend(
                len(self.option_ids(option)) for q in questions for option in q.options
            )
        logliks = tt.run_in_batches(
            sequences,
            lambda group: self._forward(sequences, option_lengths, group),
            max_tokens=self.max_tokens,
            max_batch=self.max_batch,
        )
        predictions = []
        position = 0
        for item, questions in zip(inputs, layouts, strict=True):
            per_question = {}
            for question in questions:
                count = len(question.options)
                probs = softmax(logliks[position : position + count])
                position += count
                per_question[question.key] = dict(zip(question.labels, probs, strict=True))
            predictions.append(
                tom_prediction(item.key, per_question)
                if self.task_type == "tom"
                else self._preference(item.key, per_question)
            )
        return predictions

    def _preference(self, key: int, per_order: dict[str, dict[str, float]]) -> ItemPrediction:
        labels = list(per_order["ab"])
        if "ba" in per_order:
            swapped = {"a": "b", "b": "a", "tie": "tie"}
            dist = {
                label: (per_order["ab"][label] + per_order["ba"][swapped[label]]) / 2
                for label in labels
            }
        else:
            dist = dict(per_order["ab"])
        return preference_prediction(key, dist, self.params, {"orders": per_order})

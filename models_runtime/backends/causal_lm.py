"""Causal LM as a judge: the log-likelihood of option continuations after a prompt
(``compare_options``).

Each prompt is asked as one user message (through the tokenizer's chat template with the
generation prompt when it has one, per ``chat_template``: auto, always, never; else as it is),
and each of its options is scored as the continuation: the sum of its tokens' log-probabilities,
or their mean with ``length_normalize`` (for options of different lengths). The prompt is cut on
the left so that prompt and option fit in ``max_length`` tokens.

Parameters: ``length_normalize``, ``chat_template``, and the shared ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers import AutoModelForCausalLM

from annotate.tasktypes.modeling import COMPARE_OPTIONS, CompareOptions

from . import _torch as tt
from .base import BackendError, PredictorConfig


class CausalLMJudgeBackend(tt.TransformersBackend):
    operations = frozenset({COMPARE_OPTIONS})

    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        super().__init__(config, params)
        self.model = self.load_model(AutoModelForCausalLM)
        self._option_ids: dict[str, list[int]] = {}

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

    def encode(self, request: CompareOptions) -> list[list[int]]:
        return self.encode_many([request])[0]

    def encode_many(self, requests: Sequence[CompareOptions]) -> list[list[list[int]]]:
        """Every prompt of every request through the tokenizer in one call; each option is
        appended to its prompt, cut on the left to leave the option room."""
        texts = [self._prompt_text(p.prompt) for request in requests for p in request.prompts]
        prompt_ids = iter(self.tokenizer(texts)["input_ids"] if texts else [])
        result = []
        for request in requests:
            sequences = []
            for prompt in request.prompts:
                ids = next(prompt_ids)
                for option in prompt.options:
                    option_ids = self.option_ids(option)
                    room = max(1, self.max_length - len(option_ids))
                    sequences.append(ids[-room:] + option_ids)
            result.append(sequences)
        return result

    def _forward(
        self, sequences: list[list[int]], option_lengths: list[int], group: list[int]
    ) -> list[float]:
        """The option's log-likelihood for each sequence of ``group``: one forward pass, then the
        log-softmax of only the positions that predict an option token, for the whole group at
        once."""
        rows = [sequences[i] for i in group]
        ids, mask = tt.padded(rows, self.tokenizer.pad_token_id, self.torch_device)
        with torch.inference_mode(), tt.autocast(self.torch_device, self.dtype):
            logits = self.model(input_ids=ids, attention_mask=tt.unless_all_ones(mask)).logits
            ks = [option_lengths[i] for i in group]
            # Sequence r's option tokens sit at n-k .. n-1, predicted at positions n-k-1 .. n-2.
            row_index = torch.tensor(
                [r for r, k in enumerate(ks) for _ in range(k)], device=logits.device
            )
            positions = torch.tensor(
                [len(seq) - k + j for seq, k in zip(rows, ks, strict=True) for j in range(k)],
                device=logits.device,
            )
            log_probs = torch.log_softmax(logits[row_index, positions - 1].float(), dim=-1)
            token_log_probs = log_probs.gather(-1, ids[row_index, positions][:, None])[:, 0]
            totals = torch.zeros(len(rows), dtype=torch.float32, device=logits.device)
            totals.index_add_(0, row_index, token_log_probs)
        sums: list[float] = totals.cpu().tolist()
        if self.params["length_normalize"]:
            return [total / k for total, k in zip(sums, ks, strict=True)]
        return sums

    def answer(self, requests: Sequence[CompareOptions]) -> list[list[list[float]]]:
        sequences: list[list[int]] = []
        option_lengths: list[int] = []
        for request in requests:
            sequences.extend(self._sequences(request))
            option_lengths.extend(
                len(self.option_ids(option)) for p in request.prompts for option in p.options
            )
        logliks = tt.run_in_batches(
            sequences,
            lambda group: self._forward(sequences, option_lengths, group),
            max_tokens=self.max_tokens,
            max_batch=self.max_batch,
        )
        answers = []
        position = 0
        for request in requests:
            per_prompt = []
            for prompt in request.prompts:
                count = len(prompt.options)
                per_prompt.append(logliks[position : position + count])
                position += count
            answers.append(per_prompt)
        return answers

"""What the transformers backends share: device and dtype choice, loading from a local
directory, tokenizing with left truncation, and forward passes in token-budget batches."""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from .base import BackendError, PredictInput, Predictor, PredictorConfig, token_budget_batches

T = TypeVar("T")


def pick_device(requested: str) -> torch.device:
    """``auto`` takes the first CUDA device when the worker has one, else the CPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BackendError(f"device {requested!r} asked for, but this worker has no CUDA")
    return device


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)


def cuda_dtype(requested: str) -> torch.dtype:
    if requested == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if requested not in dtypes:
        raise BackendError(f"cuda_dtype must be auto, bf16, fp16 or fp32, not {requested!r}")
    return dtypes[requested]


def weights_dtype(device: torch.device, params: Mapping[str, Any]) -> torch.dtype:
    """fp32 on the CPU; bf16 (or fp16) on CUDA."""
    return cuda_dtype(str(params["cuda_dtype"])) if device.type == "cuda" else torch.float32


def autocast(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager[Any]:
    """Mixed precision on CUDA; plain fp32 on the CPU."""
    if device.type == "cuda" and dtype != torch.float32:
        return torch.autocast(device_type="cuda", dtype=dtype)
    return contextlib.nullcontext()


def check_weights_path(path: str) -> Path:
    directory = Path(path)
    if not directory.is_dir():
        raise BackendError(f"weights path {path!r} is not a directory")
    return directory


def load_tokenizer(path: str) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if tokenizer.pad_token_id is None:
        # GPT-2-like tokenizers have no padding token; padded positions are masked anyway.
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    if tokenizer.pad_token_id is None:
        raise BackendError("the tokenizer has no pad, eos or unk token to pad with")
    tokenizer.truncation_side = "left"
    tokenizer.padding_side = "right"
    return tokenizer


# Texts are cut to their last ``max_length * CHARS_PER_TOKEN_BOUND`` characters before
# tokenizing: a long response then costs the tokenizer what the model reads, not its full
# length. A text whose window gives fewer than ``max_length`` tokens is tokenized whole.
CHARS_PER_TOKEN_BOUND = 12


def encode_keep_end(tokenizer: PreTrainedTokenizerBase, text: str, max_length: int) -> list[int]:
    """Token ids with the tokenizer's special tokens, cut on the left to ``max_length``: for a
    conversation or a response the end matters most (``load_tokenizer`` sets the side)."""
    return encode_texts_keep_end(tokenizer, [text], max_length)[0]


def encode_texts_keep_end(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int
) -> list[list[int]]:
    """``encode_keep_end`` for many texts in one call of the (Rust) tokenizer."""
    if not texts:
        return []
    window = max_length * CHARS_PER_TOKEN_BOUND
    cut = [text[-window:] for text in texts]
    ids: list[list[int]] = tokenizer(cut, truncation=True, max_length=max_length)["input_ids"]
    short = [i for i, text in enumerate(texts) if len(text) > window and len(ids[i]) < max_length]
    if short:
        whole = tokenizer([texts[i] for i in short], truncation=True, max_length=max_length)
        for i, row in zip(short, whole["input_ids"], strict=True):
            ids[i] = row
    return ids


def chat_text(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, str]],
    mode: str,
    fallback: Callable[[list[dict[str, str]]], str],
) -> str:
    """Messages through the tokenizer's chat template (``auto``: when it has one), else plain."""
    use = mode == "always" or (mode == "auto" and getattr(tokenizer, "chat_template", None))
    if use:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        assert isinstance(text, str)
        return text
    return fallback(messages)


def padded(
    rows: Sequence[Sequence[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded input ids and their attention mask."""
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids.to(device), mask.to(device)


def run_in_batches(
    sequences: Sequence[Sequence[int]],
    forward: Callable[[list[int]], list[T]],
    *,
    max_tokens: int,
    max_batch: int,
) -> list[T]:
    """Call ``forward`` on groups of sequence indices (similar lengths together, under the token
    budget) and return its per-sequence results in the original order."""
    results: list[T | None] = [None] * len(sequences)
    lengths = [len(seq) for seq in sequences]
    for group in token_budget_batches(lengths, max_tokens=max_tokens, max_batch=max_batch):
        for index, result in zip(group, forward(group), strict=True):
            results[index] = result
    if any(result is None for result in results):
        raise RuntimeError("a forward pass returned fewer results than sequences")
    return cast(list[T], results)


def item_batches(
    inputs: Sequence[T], lengths: Sequence[int], widths: Sequence[int], params: Mapping[str, Any]
) -> Iterator[list[T]]:
    """Items grouped by the token budget: an item counts ``widths`` sequences of ``lengths``."""
    for group in token_budget_batches(
        lengths,
        widths=widths,
        max_tokens=int(params["max_tokens"]),
        max_batch=int(params["max_batch"]),
    ):
        yield [inputs[i] for i in group]


class TransformersPredictor(Predictor):
    """Base of the local-weights backends: device, dtype, tokenizer, and the item batching.

    A subclass turns an item into token sequences (``encode``) and answers a batch of items
    (``predict_batch``); the sequences of one item are cached between ``batches`` and
    ``predict_batch`` so each item is tokenized once.
    """

    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        super().__init__(config, params)
        check_weights_path(config.weights_path)
        self.torch_device = pick_device(str(self.params["device"]))
        self.dtype = weights_dtype(self.torch_device, self.params)
        self.max_length = int(self.params["max_length"])
        self.max_tokens = int(self.params["max_tokens"])
        self.max_batch = int(self.params["max_batch"])
        self._encoded: dict[int, list[list[int]]] = {}
        self.tokenizer: PreTrainedTokenizerBase = load_tokenizer(config.weights_path)

    @property
    def device(self) -> str:
        return device_label(self.torch_device)

    @abstractmethod
    def encode(self, item: PredictInput) -> list[list[int]]:
        """The token sequences the model reads for one item."""

    def encode_many(self, items: Sequence[PredictInput]) -> list[list[list[int]]]:
        """``encode`` for many items; backends override it to tokenize in one call."""
        return [self.encode(item) for item in items]

    def split_encoded(
        self, items: Sequence[PredictInput], texts_of: Callable[[PredictInput], list[str]]
    ) -> list[list[list[int]]]:
        """Tokenize every item's texts in one call and give each item its sequences back."""
        per_item = [texts_of(item) for item in items]
        flat = encode_texts_keep_end(
            self.tokenizer, [text for texts in per_item for text in texts], self.max_length
        )
        result, position = [], 0
        for texts in per_item:
            result.append(flat[position : position + len(texts)])
            position += len(texts)
        return result

    def _sequences(self, item: PredictInput) -> list[list[int]]:
        cached = self._encoded.pop(item.key, None)
        return cached if cached is not None else self.encode(item)

    def batches(self, inputs: Sequence[PredictInput]) -> Iterator[list[PredictInput]]:
        lengths, widths = [], []
        for item, sequences in zip(inputs, self.encode_many(inputs), strict=True):
            self._encoded[item.key] = sequences
            lengths.append(max(len(seq) for seq in sequences))
            widths.append(len(sequences))
        try:
            yield from item_batches(inputs, lengths, widths, self.params)
        finally:
            self._encoded.clear()

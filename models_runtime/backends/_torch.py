"""What the transformers backends share: device and dtype choice, loading from a local
directory, tokenizing with left truncation, and forward passes in token-budget batches."""

from __future__ import annotations

import contextlib
import itertools
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from .base import Backend, BackendError, PredictorConfig, token_budget_batches

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


class KeepEndEncoder:
    """``encode_texts_keep_end`` with a fast tokenizer, tokenizing little more than is kept.

    The cost of tokenizing grows with the text, yet only the last ``max_length`` tokens are
    kept. So each text is first tokenized (without special tokens) from a window at its end
    sized by the characters per token seen so far; when the window is the whole text, or gives
    at least ``MARGIN`` tokens more than are kept (so the word cut at the window's start never
    reaches the kept ones), its tokens are cut and given the special tokens by the tokenizer's
    own ``post_process`` (the same truncation and template as a plain call). The other texts go
    through ``encode_texts_keep_end``. Both use the Rust tokenizer's ``encode_batch_fast`` (no
    character offsets) on copies of the backend tokenizer, configured once.
    """

    MARGIN = 16
    SLACK = 1.25  # the window holds SLACK times the tokens it needs at the estimated density

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_length: int):
        from tokenizers import Tokenizer

        backend = cast(Tokenizer, tokenizer.backend_tokenizer)
        serialized = backend.to_str()
        self.content = Tokenizer.from_str(serialized)
        self.content.no_truncation()
        self.content.no_padding()
        self.full = Tokenizer.from_str(serialized)
        self.full.no_padding()
        self.full.enable_truncation(
            max_length, direction=tokenizer.truncation_side, strategy="longest_first"
        )
        split = bool(getattr(tokenizer, "split_special_tokens", False))
        self.content.encode_special_tokens = split
        self.full.encode_special_tokens = split
        self.max_length = max_length
        self.kept = max(1, max_length - self.full.num_special_tokens_to_add(False))
        self.chars_per_token = 4.0  # updated from every window tokenized

    @classmethod
    def for_tokenizer(
        cls, tokenizer: PreTrainedTokenizerBase, max_length: int
    ) -> KeepEndEncoder | None:
        """An encoder for a fast tokenizer cut on the left; None otherwise."""
        if not getattr(tokenizer, "is_fast", False) or tokenizer.truncation_side != "left":
            return None
        return cls(tokenizer, max_length)

    def window(self) -> int:
        return int(self.chars_per_token * (self.kept + self.MARGIN) * self.SLACK) + 1

    def __call__(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        window = self.window()
        cut = [text[-window:] for text in texts]
        ids: list[list[int] | None] = []
        redo = []
        n_chars = n_tokens = 0
        encodings = self.content.encode_batch_fast(cut, add_special_tokens=False)
        for i, (text, part, encoding) in enumerate(zip(texts, cut, encodings, strict=True)):
            n_chars += len(part)
            n_tokens += len(encoding)
            if len(text) <= window or len(encoding) >= self.kept + self.MARGIN:
                ids.append(self.full.post_process(encoding).ids)
            else:
                ids.append(None)
                redo.append(i)
        if n_tokens:
            self.chars_per_token = max(0.25, n_chars / n_tokens)
        if redo:
            for i, row in zip(redo, self._keep_end([texts[i] for i in redo]), strict=True):
                ids[i] = row
        return cast(list[list[int]], ids)

    def _keep_end(self, texts: list[str]) -> list[list[int]]:
        """``encode_texts_keep_end`` on this encoder's tokenizer."""
        window = self.max_length * CHARS_PER_TOKEN_BOUND
        ids = [e.ids for e in self.full.encode_batch_fast([text[-window:] for text in texts])]
        short = [
            i
            for i, text in enumerate(texts)
            if len(text) > window and len(ids[i]) < self.max_length
        ]
        if short:
            whole = self.full.encode_batch_fast([texts[i] for i in short])
            for i, encoding in zip(short, whole, strict=True):
                ids[i] = encoding.ids
        return ids


def chat_text(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, str]],
    mode: str,
    fallback: Callable[[list[dict[str, str]]], str],
    *,
    add_generation_prompt: bool = False,
) -> str:
    """Messages through the tokenizer's chat template (``auto``: when it has one), else plain."""
    use = mode == "always" or (mode == "auto" and getattr(tokenizer, "chat_template", None))
    if use:
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )
        assert isinstance(text, str)
        return text
    return fallback(messages)


def padded(
    rows: Sequence[Sequence[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded input ids and their attention mask. The ids are built in one pass over the
    tokens into a flat int64 buffer (numpy's ``fromiter``, no tensor per row) and reshaped, the
    mask in one comparison: a fraction of the cost of a nested-list ``torch.tensor``."""
    lengths = [len(row) for row in rows]
    width = max(lengths)
    flat = np.fromiter(
        itertools.chain.from_iterable(
            itertools.chain(row, itertools.repeat(pad_id, width - length))
            for row, length in zip(rows, lengths, strict=True)
        ),
        dtype=np.int64,
        count=width * len(rows),
    )
    ids = torch.from_numpy(flat.reshape(len(rows), width))
    mask = torch.arange(width)[None, :] < torch.tensor(lengths, dtype=torch.long)[:, None]
    return ids.to(device), mask.long().to(device)


def unless_all_ones(mask: torch.Tensor) -> torch.Tensor | None:
    """The attention mask, or None when no position is padding (sequences sorted by length often
    fill their batch): the model then attends everywhere, as the mask says, without building
    and applying it (a masked attention kernel is slower)."""
    return None if bool(mask.all()) else mask


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


class TransformersBackend(Backend):
    """Base of the local-weights backends: device, dtype, tokenizer, and the batching.

    A subclass turns a request into token sequences (``encode``) and answers a batch of
    requests (``answer``); the sequences of one request are cached between ``batches`` and
    ``answer`` so each request is tokenized once. Requests are grouped by the token budget,
    each counting as many sequences as it has, of its longest sequence's length.
    """

    model: Any  # set by the subclass with ``load_model``

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
        self.keep_end = KeepEndEncoder.for_tokenizer(self.tokenizer, self.max_length)

    @property
    def device(self) -> str:
        return device_label(self.torch_device)

    def load_model(self, model_class: Any) -> Any:
        """``model_class.from_pretrained`` on the local weights, in the chosen dtype, on the
        chosen device, in eval mode."""
        model = model_class.from_pretrained(
            self.config.weights_path, local_files_only=True, dtype=self.dtype
        ).to(self.torch_device)
        model.eval()
        return model

    def sequence_logits(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """The model's logits for a group of token sequences, as fp32 on the CPU (one forward
        pass, right-padded)."""
        ids, mask = padded(rows, self.tokenizer.pad_token_id, self.torch_device)
        with torch.inference_mode(), autocast(self.torch_device, self.dtype):
            logits: torch.Tensor = self.model(
                input_ids=ids, attention_mask=unless_all_ones(mask)
            ).logits
        return logits.float().cpu()

    @abstractmethod
    def encode(self, request: Any) -> list[list[int]]:
        """The token sequences the model reads for one request."""

    def encode_many(self, requests: Sequence[Any]) -> list[list[list[int]]]:
        """``encode`` for many requests; backends override it to tokenize in one call."""
        return [self.encode(request) for request in requests]

    def encode_texts(self, per_request: Sequence[Sequence[str]]) -> list[list[list[int]]]:
        """Tokenize every request's texts (cut on the left to ``max_length``) in one call and
        give each request its sequences back."""
        texts = [text for own in per_request for text in own]
        flat = (
            self.keep_end(texts)
            if self.keep_end is not None
            else encode_texts_keep_end(self.tokenizer, texts, self.max_length)
        )
        result, position = [], 0
        for own in per_request:
            result.append(flat[position : position + len(own)])
            position += len(own)
        return result

    def _sequences(self, request: Any) -> list[list[int]]:
        cached = self._encoded.pop(id(request), None)
        return cached if cached is not None else self.encode(request)

    def batch_sequences(self, requests: Sequence[Any]) -> tuple[list[list[int]], list[slice]]:
        """The batch's token sequences in one list, and the slice of it each request holds."""
        sequences: list[list[int]] = []
        spans: list[slice] = []
        for request in requests:
            own = self._sequences(request)
            spans.append(slice(len(sequences), len(sequences) + len(own)))
            sequences.extend(own)
        return sequences, spans

    def batches(self, requests: Sequence[Any]) -> Iterator[list[int]]:
        lengths, widths = [], []
        for request, sequences in zip(requests, self.encode_many(requests), strict=True):
            self._encoded[id(request)] = sequences
            lengths.append(max(len(seq) for seq in sequences))
            widths.append(len(sequences))
        try:
            yield from token_budget_batches(
                lengths, widths=widths, max_tokens=self.max_tokens, max_batch=self.max_batch
            )
        finally:
            self._encoded.clear()

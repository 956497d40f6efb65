"""Tiny models with random weights, built on the spot: for tests, benchmarks and demos.

Nothing is downloaded. A byte-level BPE tokenizer is trained with the ``tokenizers`` library on a
few sentences and wrapped as a ``PreTrainedTokenizerFast``; small BERT-, GPT-2- and CLIP-like
configurations get random weights; everything is saved with ``save_pretrained`` so that the
backends load it through the same ``from_pretrained`` code as real weights. Importing this module
loads torch and transformers: workers, tests and benchmarks only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    CLIPConfig,
    CLIPModel,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
)

CORPUS = [
    "Which of the two responses answers the question better?",
    "Response A is shorter, response B gives more detail and uses markdown.",
    "The conversation on the issue turned toxic after the third comment.",
    "Thanks for the report, we will look into it. This is a useless answer, fix it now!",
    "Anna put the chocolate in the drawer and left; Max moved it to the box.",
    "Is Anna likely to be aware that the chocolate is in the box? Yes or no.",
    "The image shows a melting glacier next to a factory chimney.",
    "A tie means both answers are about the same. Answer A, B or tie.",
    "Question number one? Answer A to one. Answer B to one, longer and with **markdown**.",
]


def _train_tokenizer(special: list[str], vocab_size: int) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 4, trainer=trainer)
    return tokenizer


def bert_tokenizer(vocab_size: int = 400) -> PreTrainedTokenizerFast:
    """A BERT-style tokenizer: ``[CLS] text [SEP]``, padding with ``[PAD]``."""
    tok = _train_tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], vocab_size)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )


def gpt2_tokenizer(vocab_size: int = 400) -> PreTrainedTokenizerFast:
    """A GPT-2-style tokenizer: no special tokens added, ``<|endoftext|>`` as eos, no pad."""
    tok = _train_tokenizer(["<|endoftext|>"], vocab_size)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>"
    )


def _seeded(seed: int) -> None:
    torch.manual_seed(seed)


def build_bert_classifier(
    directory: Path,
    *,
    num_labels: int = 1,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    max_positions: int = 512,
    seed: int = 0,
    **config: Any,
) -> Path:
    """A BERT-like sequence classifier (``num_labels`` 1: a reward; 2: two logits)."""
    _seeded(seed)
    tokenizer = bert_tokenizer()
    model = BertForSequenceClassification(
        BertConfig(  # type: ignore[call-arg]  # num_labels is a PretrainedConfig kwarg
            vocab_size=len(tokenizer),
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=hidden * 4,
            max_position_embeddings=max_positions,
            num_labels=num_labels,
            pad_token_id=tokenizer.pad_token_id,
            **config,
        )
    )
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_gpt2_lm(
    directory: Path,
    *,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    positions: int = 512,
    seed: int = 0,
) -> Path:
    """A GPT-2-like causal language model."""
    _seeded(seed)
    tokenizer = gpt2_tokenizer()
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_embd=hidden,
            n_layer=layers,
            n_head=heads,
            n_positions=positions,
            bos_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_clip(
    directory: Path, *, hidden: int = 32, image_size: int = 32, patch_size: int = 8, seed: int = 0
) -> Path:
    """A CLIP-like image-text model with its tokenizer and image-processor settings."""
    _seeded(seed)
    tokenizer = gpt2_tokenizer()
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": hidden * 2,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.eos_token_id,
        },
        vision_config={
            "hidden_size": hidden,
            "intermediate_size": hidden * 2,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": patch_size,
        },
        projection_dim=hidden,
    )
    model = CLIPModel(config)
    model.eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory

"""CLIP-style image–text model: an image against texts (``match_image``), and box scoring.

``match_image``: the image's scaled cosine similarity with each text (CLIP's
``logits_per_image``) and their softmax over the texts. ``score_boxes`` scores texts against
crops of their boxes (similarity per box), for checking drawn boxes.

Images are read through the worker's ``open_media`` (Django's storage), or from a file path when
none is given.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from transformers import CLIPModel

from annotate.tasktypes.modeling import MATCH_IMAGE, ImageMatch, MatchImage

from . import _torch as tt
from .base import BackendError, PredictorConfig

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipBackend(tt.TransformersBackend):
    operations = frozenset({MATCH_IMAGE})

    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        super().__init__(config, params)
        self.model = self.load_model(CLIPModel)
        self.image_size = int(self.model.config.vision_config.image_size)
        self.text_length = min(
            self.max_length, int(self.model.config.text_config.max_position_embeddings)
        )
        mean, std = CLIP_MEAN, CLIP_STD
        preprocessor = Path(config.weights_path) / "preprocessor_config.json"
        if preprocessor.exists():
            settings = json.loads(preprocessor.read_text())
            mean = tuple(settings.get("image_mean", mean))
            std = tuple(settings.get("image_std", std))
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    # --- inputs
    def _texts_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of ``texts`` in one tokenizer call, each ending in the end-of-text token."""
        eos = self.tokenizer.eos_token_id
        # CLIP pools the text at its end-of-text token; add one if the tokenizer does not.
        return [
            ids if eos is None or (ids and ids[-1] == eos) else ids + [eos]
            for ids in tt.encode_texts_keep_end(self.tokenizer, texts, self.text_length - 1)
        ]

    def encode(self, request: MatchImage) -> list[list[int]]:
        return self._texts_ids(request.texts)

    def encode_many(self, requests: Sequence[MatchImage]) -> list[list[list[int]]]:
        flat = iter(self._texts_ids([text for request in requests for text in request.texts]))
        return [[next(flat) for _text in request.texts] for request in requests]

    def open_image(self, ref: str) -> Image.Image:
        opener = self.config.open_media
        data = opener(ref) if opener is not None else Path(ref).read_bytes()
        try:
            image = Image.open(io.BytesIO(data))
            return image.convert("RGB")
        except OSError as exc:
            raise BackendError(f"cannot decode image {ref!r}: {exc}") from None

    def pixels(self, image: Image.Image) -> torch.Tensor:
        """Resize the short side to the model's size, centre-crop, normalise."""
        size = self.image_size
        width, height = image.size
        scale = size / min(width, height)
        resized = image.resize(
            (max(size, round(width * scale)), max(size, round(height * scale))),
            Image.Resampling.BICUBIC,
        )
        left = (resized.width - size) // 2
        top = (resized.height - size) // 2
        cropped = resized.crop((left, top, left + size, top + size))
        data = torch.frombuffer(bytearray(cropped.tobytes()), dtype=torch.uint8)
        tensor = data.view(size, size, 3).permute(2, 0, 1).float() / 255.0
        return (tensor - self.mean) / self.std

    # --- model
    def similarities(self, images: list[Image.Image], texts: list[list[int]]) -> torch.Tensor:
        """Scaled cosine similarity, images × texts (CLIP's ``logits_per_image``)."""
        ids, mask = tt.padded(texts, self.tokenizer.pad_token_id, self.torch_device)
        pixel_values = torch.stack([self.pixels(image) for image in images]).to(
            self.torch_device, dtype=self.dtype
        )
        with torch.inference_mode(), tt.autocast(self.torch_device, self.dtype):
            out = self.model(input_ids=ids, attention_mask=mask, pixel_values=pixel_values)
        logits: torch.Tensor = out.logits_per_image.float().cpu()
        return logits

    def answer(self, requests: Sequence[MatchImage]) -> list[ImageMatch]:
        images = [self.open_image(request.image) for request in requests]
        texts, spans = self.batch_sequences(requests)
        logits = self.similarities(images, texts)
        return [
            ImageMatch(
                logits=logits[row, span].tolist(),
                probabilities=torch.softmax(logits[row, span], dim=-1).tolist(),
            )
            for row, span in enumerate(spans)
        ]

    def score_boxes(
        self, image: Image.Image, premises: Sequence[tuple[str, Mapping[str, float]]]
    ) -> list[float]:
        """Similarity of each text with the crop of its box ``{x, y, w, h}`` (pixels)."""
        crops = []
        for _text, box in premises:
            x, y, w, h = (float(box[k]) for k in ("x", "y", "w", "h"))
            if w <= 0 or h <= 0:
                raise BackendError("a box needs a positive width and height")
            crops.append(image.crop((round(x), round(y), round(x + w), round(y + h))))
        logits = self.similarities(crops, self._texts_ids([text for text, _box in premises]))
        return [float(logits[i, i]) for i in range(len(premises))]

"""Model predictions for visual arguments: premise identification (SPEC 2.4) by image–text
similarity (``match_image``).

The item's image (``image_field``: a storage name, or an object with ``path``/``name``) is
matched against its premise options (``options_field``, a list of strings or ``{label|id,
text}`` objects; each formatted with ``prompt``, which may use ``{text}`` and
``{conclusion}``); the softmax of the similarities is the distribution over the options'
labels, and the value is the likeliest one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..modeling import (
    MATCH_IMAGE,
    ImageMatch,
    ItemPrediction,
    MatchImage,
    ModelingError,
    OperationMapping,
    choices_of,
)


class PremiseIdentification(OperationMapping):
    operation = MATCH_IMAGE
    default_params = {
        "image_field": "image",
        "options_field": "premise_options",
        "prompt": "{text}",
    }

    def options(self, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(label, text) of each premise option, the text formatted with ``prompt``."""
        options = choices_of(payload.get(str(self.params["options_field"])))
        template = str(self.params["prompt"])
        conclusion = str(payload.get("conclusion", ""))
        return [(o.label, template.format(text=o.text, conclusion=conclusion)) for o in options]

    def request(self, payload: Mapping[str, Any]) -> MatchImage:
        ref = payload.get(str(self.params["image_field"]))
        if isinstance(ref, Mapping):
            ref = ref.get("path") or ref.get("name")
        if not isinstance(ref, str) or not ref:
            raise ModelingError(f"the item has no image in {self.params['image_field']!r}")
        return MatchImage(ref, [text for _label, text in self.options(payload)])

    def prediction(
        self, key: int, payload: Mapping[str, Any], response: ImageMatch
    ) -> ItemPrediction:
        labels = [label for label, _text in self.options(payload)]
        distribution = dict(zip(labels, response.probabilities, strict=True))
        best = max(labels, key=lambda label: distribution[label])
        return ItemPrediction(
            key=key,
            value={"choice": best},
            score=distribution[best],
            distribution=distribution,
            details={"logits": response.logits},
        )


PREDICTIONS = (PremiseIdentification,)

"""Model predictions for derailment: P(derails to toxicity) for every prefix of a thread
(``classify_texts``).

Each prefix (title and comments up to comment k) is classified; the conversation's
probability is the highest prefix score and the predicted derailment point the first comment
whose score crosses ``threshold`` (SPEC 2.2). The prefix's score is the probability of class
``positive_label`` (the one probability of a model with one output).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..modeling import (
    CLASSIFY_TEXTS,
    ClassifyTexts,
    ItemPrediction,
    ModelingError,
    OperationMapping,
)


def derailment_prefixes(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(comment id, text of the thread up to and including that comment) for each comment."""
    comments = payload.get("comments")
    if not isinstance(comments, Sequence) or not comments:
        raise ModelingError("a derailment item needs a non-empty 'comments' list")
    title = str(payload.get("title", ""))
    parts = [f"Title: {title}"]
    prefixes = []
    for comment in comments:
        parts.append(f"{comment.get('author', 'someone')}: {comment['body']}")
        prefixes.append((str(comment["id"]), "\n\n".join(parts)))
    return prefixes


def derailment_value(
    comment_ids: Sequence[str], scores: Sequence[float], *, threshold: float
) -> ItemPrediction:
    """The derailment annotation shape from per-prefix P(derails): the conversation's P is the
    highest prefix score; when it crosses ``threshold`` the thread is predicted toxic, the
    derailment point is the first comment whose score crosses it (SPEC 2.2) and the toxic
    comment the one with the highest score (never before the derailment point). ``key`` is
    filled in by the caller."""
    p = max(scores)
    toxic = p >= threshold
    crossing = next(
        (cid for cid, s in zip(comment_ids, scores, strict=True) if s >= threshold), None
    )
    peak = comment_ids[list(scores).index(p)]
    return ItemPrediction(
        key=0,
        value={
            "toxic": toxic,
            "toxic_comment": peak if toxic else None,
            "derailment_comment": crossing if toxic else None,
        },
        score=p,
        distribution={"no": 1.0 - p, "yes": p},
        details={
            "prefix_scores": [
                {"comment": cid, "p": s} for cid, s in zip(comment_ids, scores, strict=True)
            ],
            "threshold": threshold,
        },
    )


class DerailmentPrefixes(OperationMapping):
    """``classify_texts`` on every prefix of the thread."""

    operation = CLASSIFY_TEXTS
    default_params = {"threshold": 0.5, "positive_label": 1}

    def __init__(self, params: Mapping[str, Any]):
        super().__init__(params)
        self.positive = int(self.params["positive_label"])
        self.threshold = float(self.params["threshold"])

    def request(self, payload: Mapping[str, Any]) -> ClassifyTexts:
        return ClassifyTexts([text for _cid, text in derailment_prefixes(payload)])

    def prediction(
        self, key: int, payload: Mapping[str, Any], response: list[list[float]]
    ) -> ItemPrediction:
        scores = [self._positive(probabilities) for probabilities in response]
        comment_ids = [cid for cid, _text in derailment_prefixes(payload)]
        prediction = derailment_value(comment_ids, scores, threshold=self.threshold)
        prediction.key = key
        return prediction

    def _positive(self, probabilities: list[float]) -> float:
        if len(probabilities) == 1:
            return probabilities[0]
        if not 0 <= self.positive < len(probabilities):
            raise ModelingError(
                f"positive_label {self.positive} is not one of the {len(probabilities)} outputs"
            )
        return probabilities[self.positive]


PREDICTIONS = (DerailmentPrefixes,)

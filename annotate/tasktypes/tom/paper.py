"""SimpleToM's figures (Gu et al., 2024): accuracy against gold per question kind, for the humans
(``paper_figures``) and for each model run (``model_metrics``), with SimpleToM's ``na_frac``.

Gold is a question's ``answer`` in the item (as the ``simpletom`` adapter imports it), else the
item's gold value (``{"answers": {question_id: label}}``); questions without either are left out
of the accuracies.

An accuracy is a dict ``{"accuracy": float | None, "n": int, "correct": int, "n_unanswered": int,
"reason"?: str}`` (``stats.accuracy.Accuracy``): ``n`` counts the questions with gold, an
unanswered one (no answer, or one that did not parse) counts as wrong, as in SimpleToM's ``acc``.

``model_metrics`` (one run) returns::

    {"n_items": int,                      # items of the project the run predicted
     "per_kind": {kind: accuracy + {"asked": int, "unparsed": int, "na_frac": float | None}},
     "overall": the same over every kind}

``kind`` is ``mental_state``, ``behavior``, ``judgment`` (SimpleToM's ``_aware``, ``_action``,
``_judge``), always all three. ``asked`` counts the questions put to the model: the questions
named in the prediction's ``details.raw`` (the ``simpletom`` prediction adapter's rows), or every
question of the item otherwise; ``unparsed`` those without a valid answer (``details.unparsed``,
or an answer that is not a choice of the question); ``na_frac = unparsed / asked`` (``None`` when
nothing was asked).

``paper_figures`` (the humans, non-gold items, flagged annotators left out) returns::

    {"n_items": int,                      # annotated items
     "per_kind": {kind: {"humans": accuracy,       # every human answer counted
                         "majority": accuracy + {"n_tied": int}}},
     "overall": the same over every kind}

``majority`` is the accuracy of each question's majority answer (the answer given strictly most
often); questions whose answers tie for the most are left out of it and counted in ``n_tied``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from stats.accuracy import accuracy, plurality

from ..base import MetricsData, RunPrediction
from .schemas import KINDS

OVERALL = "overall"


def _gold_answer(question: Mapping[str, Any], gold_value: Mapping[str, Any] | None) -> Any:
    if question.get("answer") is not None:
        return question["answer"]
    if gold_value:
        return (gold_value.get("answers") or {}).get(question.get("id"))
    return None


def _labels(question: Mapping[str, Any]) -> set[str]:
    return {choice.get("label") for choice in question.get("choices", [])}


def model_metrics(data: MetricsData, predictions: Sequence[RunPrediction]) -> dict[str, Any]:
    """Accuracy against gold and ``na_frac`` per question kind for one run (module docstring)."""
    payloads = data.payloads()
    gold = data.gold()
    pairs: dict[str, list[tuple[Hashable | None, Hashable]]] = {k: [] for k in KINDS}
    asked = dict.fromkeys(KINDS, 0)
    unparsed = dict.fromkeys(KINDS, 0)
    n_items = 0
    for prediction in predictions:
        payload = payloads.get(prediction.item_id)
        if not payload:
            continue
        n_items += 1
        answers = (prediction.value or {}).get("answers") or {}
        raw = (prediction.details or {}).get("raw")
        put = set(raw) if isinstance(raw, Mapping) else None
        for question in payload.get("questions", []):
            if put is not None and question.get("id") not in put:
                continue
            kind = question.get("kind")
            if kind not in pairs:
                continue
            answer = answers.get(question["id"])
            if answer not in _labels(question):
                answer = None
            asked[kind] += 1
            unparsed[kind] += answer is None
            pairs[kind].append((answer, _gold_answer(question, gold.get(prediction.item_id))))

    def figures(kinds: Sequence[str]) -> dict[str, Any]:
        n_asked = sum(asked[k] for k in kinds)
        n_unparsed = sum(unparsed[k] for k in kinds)
        return accuracy(pair for k in kinds for pair in pairs[k]).as_dict() | {
            "asked": n_asked,
            "unparsed": n_unparsed,
            "na_frac": n_unparsed / n_asked if n_asked else None,
        }

    return {
        "n_items": n_items,
        "per_kind": {kind: figures([kind]) for kind in KINDS},
        OVERALL: figures(KINDS),
    }


def paper_figures(data: MetricsData) -> dict[str, Any]:
    """The humans' accuracy against gold per question kind, each answer and the majority's."""
    values_by_item = data.human_values()
    if not values_by_item:
        return {}
    payloads = data.payloads()
    gold = data.gold()
    each: dict[str, list[tuple[Hashable | None, Hashable]]] = {k: [] for k in KINDS}
    majority: dict[str, list[tuple[Hashable | None, Hashable]]] = {k: [] for k in KINDS}
    tied = dict.fromkeys(KINDS, 0)
    for item_id, values in values_by_item.items():
        payload = payloads.get(item_id) or {}
        for question in payload.get("questions", []):
            kind = question.get("kind")
            truth = _gold_answer(question, gold.get(item_id))
            if kind not in each or truth is None:
                continue
            given = [(v.get("answers") or {}).get(question["id"]) for v in values]
            given = [answer for answer in given if answer is not None]
            if not given:
                continue
            each[kind] += [(answer, truth) for answer in given]
            top = plurality(given)
            if top is None:
                tied[kind] += 1
            else:
                majority[kind].append((top, truth))

    def figures(kinds: Sequence[str]) -> dict[str, Any]:
        return {
            "humans": accuracy(pair for k in kinds for pair in each[k]).as_dict(),
            "majority": accuracy(pair for k in kinds for pair in majority[k]).as_dict()
            | {"n_tied": sum(tied[k] for k in kinds)},
        }

    return {
        "n_items": len(values_by_item),
        "per_kind": {kind: figures([kind]) for kind in KINDS},
        OVERALL: figures(KINDS),
    }

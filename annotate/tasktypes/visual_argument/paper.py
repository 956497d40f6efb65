"""``visual_argument``: the figures of the VisArgs paper (Chung et al., 2024), from the humans'
labels (``paper_figures``) and from a model run's predictions (``model_metrics``).

Identification mode (premise identification, VisArgs's negative sets): each answer is scored
against the item's ``answer`` (the imported reference; on a gold item, its gold ``choice``), overall
and per negative set (``metadata.negative_set``, set by the ``visargs_negativeset`` adapter).
Structure mode (localization of visual premises): each annotation's (or prediction's) boxes are
matched one to one to the item's reference boxes (``reference.visual_premises``) by IoU; a
reference box is a hit at IoU >= 0.5 (``stats.localization``). Items without a reference are not
scored, and the figures say so (``reason``).

The keys, a contract read by the paper view and the dashboard (JSON-ready; lists keep their order
through JSONB, so per-set figures are lists sorted by set name):

``paper_figures`` (``{}`` while nobody has annotated)::

    {"mode": "identification",
     "identification": {
        "accuracy": float | None, "n": int, "n_correct": int,     # every human answer counted
        "n_items": int,                                           # items scored
        "majority": {"accuracy", "n", "n_correct", "n_ties"},     # one majority answer per item,
                                                                  # ties left out (n_ties)
        "by_negative_set": [{"negative_set": str, "accuracy", "n", "n_correct", "n_items",
                             "majority": {"accuracy", "n", "n_correct", "n_ties"}}],
        "n_without_answer": int,                                  # answers on items without one
        "reason": str | None}}
    {"mode": "structure",
     "localization": {
        "threshold": 0.5, "hit_rate": float | None, "mean_iou": float | None,
        "mean_iou_hits": float | None, "precision": float | None,
        "n_annotations": int, "n_items": int, "n_reference_boxes": int, "n_boxes": int,
        "n_hits": int, "n_without_reference": int, "reasons": {figure: why}}}

``model_metrics``: ``{"identification": {...}}`` (same keys as above, without ``majority``:
one prediction per item) when the run predicts choices, and ``{"localization": {...}}`` (same
keys, ``n_annotations`` being the predictions scored) when it predicts structures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from stats.group_accuracy import Accuracy, accuracy_by_group
from stats.localization import localization

from ..base import MetricsData, RunPrediction


def negative_set(payload: Mapping[str, Any]) -> str | None:
    """The VisArgs negative set an identification item comes from, if any."""
    metadata = payload.get("metadata") or {}
    name = metadata.get("negative_set") if isinstance(metadata, Mapping) else None
    return str(name) if name not in (None, "") else None


def _answer(
    item_id: int, payloads: Mapping[int, Mapping[str, Any]], gold: Mapping[int, Mapping[str, Any]]
) -> str | None:
    answer = (payloads.get(item_id) or {}).get("answer")
    if answer is None:
        answer = (gold.get(item_id) or {}).get("choice")
    return None if answer is None else str(answer)


def _reference_boxes(
    item_id: int, payloads: Mapping[int, Mapping[str, Any]], gold: Mapping[int, Mapping[str, Any]]
) -> list[list[float]] | None:
    reference = (payloads.get(item_id) or {}).get("reference") or gold.get(item_id)
    if not isinstance(reference, Mapping):
        return None
    return _boxes(reference)


def _boxes(value: Mapping[str, Any]) -> list[list[float]] | None:
    premises = value.get("visual_premises")
    if not isinstance(premises, list):
        return None
    return [[p["box"]["x"], p["box"]["y"], p["box"]["w"], p["box"]["h"]] for p in premises]


def _majority(choices: Sequence[str]) -> str | None:
    """The most frequent choice, ``None`` on a tie."""
    counts = Counter(choices).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def identification_figures(
    answers: Iterable[tuple[int, str]],
    *,
    payloads: Mapping[int, Mapping[str, Any]],
    gold: Mapping[int, Mapping[str, Any]],
    majority: bool,
) -> dict[str, Any]:
    """Accuracy of ``(item id, choice)`` answers against the items' answers, overall and per
    negative set; with ``majority``, of each item's majority choice too."""
    by_item: dict[int, list[str]] = {}
    n_without = 0
    for item_id, choice in answers:
        if _answer(item_id, payloads, gold) is None:
            n_without += 1
            continue
        by_item.setdefault(item_id, []).append(choice)
    correct: list[bool] = []
    groups: list[str | None] = []
    item_sets: Counter[str | None] = Counter()
    majority_rows: dict[str | None, list[int]] = {}  # set -> [n, n_correct, n_ties]
    for item_id, choices in by_item.items():
        answer = _answer(item_id, payloads, gold)
        group = negative_set(payloads.get(item_id) or {})
        item_sets[group] += 1
        correct += [choice == answer for choice in choices]
        groups += [group] * len(choices)
        if majority:
            winner = _majority(choices)
            for key in {None, group}:
                cell = majority_rows.setdefault(key, [0, 0, 0])
                if winner is None:
                    cell[2] += 1
                else:
                    cell[0] += 1
                    cell[1] += winner == answer

    def majority_of(key: str | None) -> dict[str, Any]:
        n, right, ties = majority_rows.get(key, [0, 0, 0])
        return {**Accuracy(n, right).as_dict(), "n_ties": ties}

    result = accuracy_by_group(correct, groups)
    figures: dict[str, Any] = {
        **result.overall.as_dict(),
        "n_items": len(by_item),
    }
    if majority:
        figures["majority"] = majority_of(None)
    rows = []
    for set_name, accuracy in result.groups.items():
        name = str(set_name)
        row: dict[str, Any] = {
            "negative_set": name,
            **accuracy.as_dict(),
            "n_items": item_sets[name],
        }
        if majority:
            row["majority"] = majority_of(name)
        rows.append(row)
    figures["by_negative_set"] = rows
    figures["n_without_answer"] = n_without
    figures["reason"] = None if by_item else "no answer on an item with a reference answer"
    return figures


def localization_figures(
    values: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    payloads: Mapping[int, Mapping[str, Any]],
    gold: Mapping[int, Mapping[str, Any]],
) -> dict[str, Any]:
    """Hit rate and mean IoU of ``(item id, structure value)`` boxes against the items'
    reference boxes (``stats.localization``)."""
    pairs = []
    items: set[int] = set()
    n_without = 0
    for item_id, value in values:
        drawn = _boxes(value)
        if drawn is None:
            continue
        reference = _reference_boxes(item_id, payloads, gold)
        if reference is None:
            n_without += 1
            continue
        pairs.append((reference, drawn))
        items.add(item_id)
    result = localization(pairs)
    reasons = dict(result.reasons)
    if not pairs and n_without:
        for key in ("hit_rate", "mean_iou"):
            reasons[key] = "no annotated item has a reference structure"
    return {
        "threshold": result.threshold,
        "hit_rate": result.hit_rate,
        "mean_iou": result.mean_iou,
        "mean_iou_hits": result.mean_iou_hits,
        "precision": result.precision,
        "n_annotations": result.n_pairs,
        "n_items": len(items),
        "n_reference_boxes": result.n_reference_boxes,
        "n_boxes": result.n_boxes,
        "n_hits": result.n_hits,
        "n_without_reference": n_without,
        "reasons": reasons,
    }


def paper_figures(data: MetricsData, *, mode: str) -> dict[str, Any]:
    """The humans' identification accuracy (per negative set) or localization of the reference
    boxes, by the project's mode; ``{}`` while nobody has annotated."""
    values = data.human_values()
    if not values:
        return {}
    payloads, gold = data.payloads(), data.gold()
    flat = [(item_id, value) for item_id, item_values in values.items() for value in item_values]
    if mode == "identification":
        answers = [(i, str(v["choice"])) for i, v in flat if v.get("choice") is not None]
        section = identification_figures(answers, payloads=payloads, gold=gold, majority=True)
        return {"mode": mode, "identification": section}
    return {"mode": mode, "localization": localization_figures(flat, payloads=payloads, gold=gold)}


def model_metrics(data: MetricsData, predictions: Sequence[RunPrediction]) -> dict[str, Any]:
    """A run's identification accuracy (per negative set) and, when it predicts structures, its
    localization of the reference boxes."""
    if not predictions:
        return {}
    payloads, gold = data.payloads(), data.gold()
    choices = [(p.item_id, str(p.value["choice"])) for p in predictions if "choice" in p.value]
    structures = [(p.item_id, p.value) for p in predictions if "visual_premises" in p.value]
    metrics: dict[str, Any] = {}
    if choices:
        metrics["identification"] = identification_figures(
            choices, payloads=payloads, gold=gold, majority=False
        )
    if structures:
        metrics["localization"] = localization_figures(structures, payloads=payloads, gold=gold)
    return metrics

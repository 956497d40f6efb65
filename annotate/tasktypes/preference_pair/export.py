"""``preference_pair`` export: training pairs (``preference_pairs``) with their options."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stats.preference import DIVERGING_STATUSES

from ..base import ExportShape, ItemSummary, ShapeOption

DIVERGING_OPTION = ShapeOption(
    name="diverging",
    label="Diverging items",
    choices=(("keep", "keep"), ("drop", "leave out"), ("only", "only these")),
    default="keep",
    help="keep (default), drop or keep only the diverging items",
)

TIES_OPTION = ShapeOption(
    name="ties",
    label="Ties",
    choices=(("drop", "leave out"), ("keep", "keep")),
    default="drop",
    help="drop (default) the items whose mean vote is a tie, or keep them (A as chosen, tie: true)",
)


def preference_pair_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]],
    *,
    diverging: str = "keep",
    ties: str = "drop",
) -> Iterator[dict[str, Any]]:
    """Training pairs: the side the humans preferred on average is ``chosen``.

    ``diverging`` is ``keep`` (default), ``drop`` (leave out diverging items) or ``only``.
    Items without votes give no pair; nor, with ``ties=drop`` (default), do the items whose mean
    vote is exactly a tie. ``ties=keep`` gives them as a pair in A/B order (``chosen`` is A),
    with ``margin`` 0 and ``tie`` true (false on every other row).
    """
    # Checked here, not in the generator below, so that a bad option fails before streaming starts.
    DIVERGING_OPTION.check(diverging)
    TIES_OPTION.check(ties)
    return _preference_pair_rows(records, diverging=diverging, keep_ties=ties == "keep")


def _preference_pair_rows(
    records: Iterator[tuple[Any, list[Mapping[str, Any]], ItemSummary]],
    *,
    diverging: str,
    keep_ties: bool,
) -> Iterator[dict[str, Any]]:
    for item, _values, summary in records:
        mean = summary.extra.get("mean_preference")
        if not summary.n_annotations or mean is None or (mean == 0 and not keep_ties):
            continue
        is_diverging = summary.agreement_status in {s.value for s in DIVERGING_STATUSES}
        if (diverging == "drop" and is_diverging) or (diverging == "only" and not is_diverging):
            continue
        payload = item.payload
        a_wins = mean <= 0  # a tie (kept) in A/B order
        yield {
            "external_id": item.external_id,
            "prompt": payload["prompt"],
            "context": payload.get("context", []),
            "chosen": payload["response_a"] if a_wins else payload["response_b"],
            "rejected": payload["response_b"] if a_wins else payload["response_a"],
            "chosen_model": payload.get("model_a" if a_wins else "model_b"),
            "rejected_model": payload.get("model_b" if a_wins else "model_a"),
            "margin": abs(mean),
            "vote_distribution": summary.label_distribution,
            "agreement_status": summary.agreement_status,
            "n_annotators": summary.n_annotations,
            "tie": mean == 0,
        }


EXPORT_SHAPES = (
    ExportShape(
        "preference_pairs",
        preference_pair_rows,
        options=(DIVERGING_OPTION, TIES_OPTION),
        help="chosen/rejected training pairs by the humans' mean vote",
    ),
)

"""Agreement status of one preference pair from its human votes (SPEC 2.1).

Votes are on a signed scale, 5 points by default: -2 A much better, -1 A better, 0 tie, +1 B
better, +2 B much better. A project may use 7 points instead (HelpSteer2's -3..+3): -3 A much
better, -2 A better, -1 A slightly better, and the same for B. ``vote_meaning`` is the one mapping
from (vote, scale) to side and strength; everything else reads votes through it. Pure functions,
no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

MUCH_BETTER = 2
"""Absolute value of a "much better" vote on the default scale."""

TIE_MAJORITY_SHARE = 0.5
"""Ties must be strictly more than this share of the votes for ``high_agreement_tie``."""

SCALE = (-2, -1, 0, 1, 2)
"""The default (5-point) scale."""

SCALES = {5: SCALE, 7: (-3, -2, -1, 0, 1, 2, 3)}
"""The scales a project may use, by number of points."""

STRENGTHS = {
    5: {0: "about the same", 1: "better", 2: "much better"},
    7: {0: "about the same", 1: "slightly better", 2: "better", 3: "much better"},
}
"""The words of each strength, by scale."""


class VoteMeaning(NamedTuple):
    side: int
    """-1 for A, 0 for a tie, +1 for B."""
    strength: int
    """0 for a tie, up to the scale's "much better"."""
    much_better: bool
    words: str
    """The strength in words ("much better", "slightly better", "about the same")."""


def scale_votes(scale: int = 5) -> tuple[int, ...]:
    """The votes of a scale (5 or 7 points); ``ValueError`` for any other."""
    try:
        return SCALES[scale]
    except (KeyError, TypeError):
        raise ValueError(f"scale must be one of {sorted(SCALES)}, not {scale!r}") from None


def vote_meaning(vote: int, scale: int = 5) -> VoteMeaning:
    """The side and strength of ``vote`` on a ``scale``-point scale; ``ValueError`` when the
    vote is not on it. On 5 points "much better" is +-2, on 7 points +-3."""
    votes = scale_votes(scale)
    if isinstance(vote, bool) or vote not in votes:
        raise ValueError(f"vote {vote!r} is not on the scale {votes}")
    strength = abs(vote)
    top = votes[-1]
    return VoteMeaning(
        side=(vote > 0) - (vote < 0),
        strength=strength,
        much_better=strength == top,
        words=STRENGTHS[scale][strength],
    )


class AgreementStatus(StrEnum):
    HIGH_AGREEMENT_PREFERENCE = "high_agreement_preference"
    HIGH_AGREEMENT_TIE = "high_agreement_tie"
    DIVERGING = "diverging"
    DIVERGING_SIGNIFICANT = "diverging_significant"
    MIXED = "mixed"


DIVERGING_STATUSES = frozenset({AgreementStatus.DIVERGING, AgreementStatus.DIVERGING_SIGNIFICANT})


def preference_agreement_status(votes: Sequence[int], *, scale: int = 5) -> AgreementStatus | None:
    """Classify an item's votes on a ``scale``-point scale; ``None`` when it has no votes yet.

    - diverging_significant: votes for both A and B, and one of them is "much better";
    - diverging: votes for both A and B;
    - high_agreement_preference: every vote on the same side, no tie;
    - high_agreement_tie: a majority of ties and no "much better" vote;
    - mixed: anything else (ties against one side, say).
    """
    if not votes:
        return None
    meanings = [vote_meaning(vote, scale) for vote in votes]
    for_a = sum(1 for meaning in meanings if meaning.side < 0)
    for_b = sum(1 for meaning in meanings if meaning.side > 0)
    ties = len(votes) - for_a - for_b
    any_much_better = any(meaning.much_better for meaning in meanings)
    if for_a and for_b:
        if any_much_better:
            return AgreementStatus.DIVERGING_SIGNIFICANT
        return AgreementStatus.DIVERGING
    if ties == 0:
        return AgreementStatus.HIGH_AGREEMENT_PREFERENCE
    if ties > TIE_MAJORITY_SHARE * len(votes) and not any_much_better:
        return AgreementStatus.HIGH_AGREEMENT_TIE
    return AgreementStatus.MIXED

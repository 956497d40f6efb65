"""Agreement status of one preference pair from its human votes (SPEC 2.1).

Votes are on the signed 5-point scale: -2 A much better, -1 A better, 0 tie, +1 B better,
+2 B much better. Pure function, no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

MUCH_BETTER = 2
"""Absolute value of a "much better" vote."""

TIE_MAJORITY_SHARE = 0.5
"""Ties must be strictly more than this share of the votes for ``high_agreement_tie``."""

SCALE = (-2, -1, 0, 1, 2)


class AgreementStatus(StrEnum):
    HIGH_AGREEMENT_PREFERENCE = "high_agreement_preference"
    HIGH_AGREEMENT_TIE = "high_agreement_tie"
    DIVERGING = "diverging"
    DIVERGING_SIGNIFICANT = "diverging_significant"
    MIXED = "mixed"


DIVERGING_STATUSES = frozenset({AgreementStatus.DIVERGING, AgreementStatus.DIVERGING_SIGNIFICANT})


def preference_agreement_status(votes: Sequence[int]) -> AgreementStatus | None:
    """Classify an item's votes; ``None`` when it has no votes yet.

    - diverging_significant: votes for both A and B, and one of them is "much better";
    - diverging: votes for both A and B;
    - high_agreement_preference: every vote on the same side, no tie;
    - high_agreement_tie: a majority of ties and no "much better" vote;
    - mixed: anything else (ties against one side, say).
    """
    if not votes:
        return None
    for vote in votes:
        if isinstance(vote, bool) or vote not in SCALE:
            raise ValueError(f"vote {vote!r} is not on the scale {SCALE}")
    for_a = sum(1 for vote in votes if vote < 0)
    for_b = sum(1 for vote in votes if vote > 0)
    ties = len(votes) - for_a - for_b
    any_much_better = any(abs(vote) == MUCH_BETTER for vote in votes)
    if for_a and for_b:
        if any_much_better:
            return AgreementStatus.DIVERGING_SIGNIFICANT
        return AgreementStatus.DIVERGING
    if ties == 0:
        return AgreementStatus.HIGH_AGREEMENT_PREFERENCE
    if ties > TIE_MAJORITY_SHARE * len(votes) and not any_much_better:
        return AgreementStatus.HIGH_AGREEMENT_TIE
    return AgreementStatus.MIXED

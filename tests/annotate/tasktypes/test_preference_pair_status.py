"""The agreement status of a preference pair (SPEC 2.1), a pure function tested exhaustively."""

from collections import Counter
from itertools import combinations_with_replacement, permutations

import pytest

from stats.preference import (
    DIVERGING_STATUSES,
    MUCH_BETTER,
    SCALE,
    TIE_MAJORITY_SHARE,
    AgreementStatus,
    preference_agreement_status,
)

S = AgreementStatus


def restated_status(votes):
    """SPEC 2.1 written again, independently: sides as a set, ties by counting."""
    sides = {"A" if vote < 0 else "B" for vote in votes if vote != 0}
    has_tie = 0 in votes
    strong = {vote for vote in votes if vote in (-2, 2)}
    if sides == {"A", "B"}:
        return "diverging_significant" if strong else "diverging"
    if len(sides) == 1 and not has_tie:
        return "high_agreement_preference"
    tally = Counter(votes)
    if 2 * tally[0] > len(votes) and not strong:
        return "high_agreement_tie"
    return "mixed"


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        # high_agreement_preference: every vote on the same side, no tie, no vote on the other
        ([-1], S.HIGH_AGREEMENT_PREFERENCE),
        ([2], S.HIGH_AGREEMENT_PREFERENCE),
        ([-2, -1, -1], S.HIGH_AGREEMENT_PREFERENCE),
        ([1, 2, 2, 1], S.HIGH_AGREEMENT_PREFERENCE),
        ([-2, -2, -2], S.HIGH_AGREEMENT_PREFERENCE),
        # high_agreement_tie: a majority of ties, no "much better" vote
        ([0], S.HIGH_AGREEMENT_TIE),
        ([0, 0, 0], S.HIGH_AGREEMENT_TIE),
        ([0, 0, -1], S.HIGH_AGREEMENT_TIE),
        ([0, 0, 1], S.HIGH_AGREEMENT_TIE),
        ([0, 0, 0, 1], S.HIGH_AGREEMENT_TIE),
        ([0, 0, 2], S.MIXED),  # a "much better" vote breaks the tie agreement
        ([0, 0, 0, -2], S.MIXED),
        ([0, -1], S.MIXED),  # half the votes are ties: not a majority
        ([0, 0, 1, 1], S.MIXED),
        # diverging: at least one vote for A and one for B
        ([-1, 1], S.DIVERGING),
        ([-1, -1, 1], S.DIVERGING),
        ([-1, 0, 1], S.DIVERGING),
        ([0, 0, 0, -1, 1], S.DIVERGING),  # ties in the majority do not hide the split
        # diverging_significant: diverging, and the opposing votes include a "much better"
        ([-2, 1], S.DIVERGING_SIGNIFICANT),
        ([-1, 2], S.DIVERGING_SIGNIFICANT),
        ([-2, -1, 1], S.DIVERGING_SIGNIFICANT),
        ([-2, 2], S.DIVERGING_SIGNIFICANT),
        ([-2, 0, 0, 0, 1], S.DIVERGING_SIGNIFICANT),
        # mixed: anything else, e.g. ties against one side
        ([0, 1], S.MIXED),
        ([0, -2], S.MIXED),
        ([0, 1, 1], S.MIXED),
        ([0, -1, -2], S.MIXED),
        ([0, 0, 2, 2], S.MIXED),
    ],
)
def test_status_matches_the_spec_examples(votes, expected):
    assert preference_agreement_status(votes) == expected


def test_status_of_no_votes_is_none():
    assert preference_agreement_status([]) is None
    assert preference_agreement_status(()) is None


@pytest.mark.parametrize("bad", [3, -3, 5, 0.5, -1.5, "1", None, "much better"])
def test_a_vote_off_the_scale_raises_value_error(bad):
    with pytest.raises(ValueError, match="not on the scale"):
        preference_agreement_status([1, bad])


def _all_multisets(max_size):
    for size in range(1, max_size + 1):
        yield from combinations_with_replacement(SCALE, size)


def test_every_multiset_of_up_to_four_votes_follows_the_rules():
    checked = Counter()
    for votes in _all_multisets(4):
        status = preference_agreement_status(list(votes))
        assert status == restated_status(votes), votes
        checked[status] += 1
    # 5 + 15 + 35 + 70 multisets, and every status is reached.
    assert sum(checked.values()) == 125
    assert set(checked) == set(AgreementStatus)


def test_status_does_not_depend_on_vote_order():
    for votes in _all_multisets(4):
        statuses = {preference_agreement_status(list(order)) for order in set(permutations(votes))}
        assert len(statuses) == 1, votes


def test_status_is_the_same_for_a_tuple_and_a_list():
    for votes in _all_multisets(3):
        assert preference_agreement_status(votes) == preference_agreement_status(list(votes))


def test_mirroring_every_vote_keeps_the_status():
    """Swapping A and B never changes how much the annotators agree."""
    for votes in _all_multisets(4):
        mirrored = [-vote for vote in votes]
        assert preference_agreement_status(mirrored) == preference_agreement_status(list(votes))


def test_diverging_statuses_are_exactly_the_two_diverging_ones():
    assert {s.value for s in DIVERGING_STATUSES} == {"diverging", "diverging_significant"}


def test_thresholds_are_named_constants_with_the_spec_values():
    assert MUCH_BETTER == 2
    assert TIE_MAJORITY_SHARE == 0.5
    assert SCALE == (-2, -1, 0, 1, 2)


def test_statuses_are_strings_for_storage_and_export():
    assert preference_agreement_status([0]) == "high_agreement_tie"
    assert isinstance(preference_agreement_status([-1, 1]).value, str)


def test_a_boolean_is_not_a_vote():
    with pytest.raises(ValueError):
        preference_agreement_status([True, 1])

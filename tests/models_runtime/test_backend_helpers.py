"""The pure helpers every backend shares: batching by token budget."""

from __future__ import annotations

import pytest

from models_runtime.backends.base import token_budget_batches


def test_token_budget_batches_group_similar_lengths_under_the_budget():
    lengths = [5, 100, 7, 98, 6, 101, 50]
    batches = token_budget_batches(lengths, max_tokens=210, max_batch=10)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert max(lengths[i] for i in batch) * len(batch) <= 210
    # The three long ones share batches with each other, not with the short ones.
    assert {frozenset(b) for b in batches} == {
        frozenset({5, 1}),
        frozenset({3, 6}),
        frozenset({0, 2, 4}),
    }


def test_token_budget_batches_respect_widths_and_the_batch_cap():
    batches = token_budget_batches([10] * 6, widths=[2] * 6, max_tokens=60, max_batch=100)
    assert [len(b) for b in batches] == [3, 3]
    assert [len(b) for b in token_budget_batches([1] * 5, max_tokens=1000, max_batch=2)] == [
        2,
        2,
        1,
    ]


def test_token_budget_batches_give_an_oversized_entry_its_own_batch():
    assert token_budget_batches([500, 3, 2], max_tokens=100, max_batch=8) == [[0], [1, 2]]
    with pytest.raises(ValueError):
        token_budget_batches([1], max_tokens=0, max_batch=1)

"""Length-grouped training batches: each example once per epoch, less padding, seeded, and R still learned."""

from __future__ import annotations

import random

from clsweep.training.batching import batch_indices, length_grouped


def _padding(lengths: list[int], batches: list[list[int]]) -> int:
    return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)


def test_every_example_once_and_less_padding() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(3, 64) for _ in range(1000)]
    grouped = length_grouped(lengths, 16, seed=7, pool=10)
    assert sorted(i for b in grouped for i in b) == list(range(1000))
    assert all(len(b) <= 16 for b in grouped)
    plain = batch_indices(1000, 16, 7)
    # Sorting pools of 160 examples leaves little padding; random batches of 16 pad to about the 94th percentile.
    assert _padding(lengths, grouped) < 0.2 * _padding(lengths, plain)


def test_seeded_and_shuffled() -> None:
    lengths = list(range(200))
    assert length_grouped(lengths, 8, seed=1) == length_grouped(lengths, 8, seed=1)
    assert length_grouped(lengths, 8, seed=1) != length_grouped(lengths, 8, seed=2)
    # Batches come in random order, not shortest first.
    firsts = [min(lengths[i] for i in b) for b in length_grouped(lengths, 8, seed=1, pool=5)]
    assert firsts != sorted(firsts)

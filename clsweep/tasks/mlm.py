"""Masked-LM examples from raw text: BERT's 80/10/10 masking, static and seeded per task and split.

The masking is drawn once at tokenization (BERT's original static masking), so held-out text is
always scored on the same masked positions and every run, resumed or not, sees the same examples.
Labels hold the original id at masked positions and -100 elsewhere, the layout token heads use.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass

IGNORE = -100


@dataclass(frozen=True)
class Masking:
    mask_id: int
    vocab_size: int
    special_ids: frozenset[int]
    prob: float = 0.15


def masking_for(tokenizer: object) -> Masking:
    mask_id = getattr(tokenizer, "mask_token_id", None)
    if mask_id is None:
        raise ValueError("mlm tasks need a tokenizer with a mask token")
    specials: Collection[int] = getattr(tokenizer, "all_special_ids", [])
    return Masking(int(mask_id), len(tokenizer), frozenset(specials))  # type: ignore[arg-type]


def mask_example(ids: list[int], m: Masking, rng: random.Random) -> tuple[list[int], list[int]]:
    """(masked input ids, labels): each non-special token is chosen with probability `prob` (at least one
    per example); a chosen token becomes [MASK] 80% of the time, a random token 10%, stays 10%."""
    candidates = [i for i, t in enumerate(ids) if t not in m.special_ids]
    chosen = [i for i in candidates if rng.random() < m.prob]
    if not chosen and candidates:
        chosen = [rng.choice(candidates)]  # an example without a target would not count at all
    inputs, labels = list(ids), [IGNORE] * len(ids)
    for i in chosen:
        labels[i] = ids[i]
        roll = rng.random()
        if roll < 0.8:
            inputs[i] = m.mask_id
        elif roll < 0.9:
            inputs[i] = rng.randrange(m.vocab_size)
    return inputs, labels


def mask_split(input_ids: list[list[int]], m: Masking, seed: str) -> tuple[list[list[int]], list[list[int]]]:
    rng = random.Random(seed)
    pairs = [mask_example(ids, m, rng) for ids in input_ids]
    return [p[0] for p in pairs], [p[1] for p in pairs]

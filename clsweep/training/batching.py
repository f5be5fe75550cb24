"""Batches from tokenized splits: seeded shuffling, padding to the longest example in the batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

import torch

from clsweep.tasks.task import Split

Batch = dict[str, torch.Tensor]


def batch_indices(n: int, batch_size: int, seed: int | None) -> list[list[int]]:
    """Index lists of at most `batch_size`; a permutation from `seed`, or in order when seed is None."""
    if seed is None:
        order = list(range(n))
    else:
        gen = torch.Generator().manual_seed(seed)
        order = torch.randperm(n, generator=gen).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def length_grouped(lengths: Sequence[int], batch_size: int, seed: int, pool: int = 50) -> list[list[int]]:
    """Shuffled batches of similar length: less padding per training step, order still random.

    A seeded permutation is cut into pools of `pool` batches; each pool is sorted by length and cut into
    batches, and the batches of all pools are shuffled. Every example appears once per epoch, as with
    `batch_indices`; only which examples share a batch changes.
    """
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(lengths), generator=gen).tolist()
    size = batch_size * pool
    batches = []
    for start in range(0, len(order), size):
        chunk = sorted(order[start : start + size], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[j] for j in torch.randperm(len(batches), generator=gen).tolist()]


def by_length(split: Split, batch_size: int) -> list[list[int]]:
    """Evaluation batches of similar length: less padding, same scores."""
    order = sorted(range(len(split)), key=lambda i: len(split.input_ids[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _padded(rows: Sequence[Sequence[int]], width: int, fill: int) -> torch.Tensor:
    """Rows right-padded to `width` with `fill`: one tensor from the flat values and a mask, no per-row copies."""
    lengths = torch.tensor([len(r) for r in rows])
    out = torch.full((len(rows), width), fill, dtype=torch.long)
    out[torch.arange(width) < lengths[:, None]] = torch.tensor([v for r in rows for v in r], dtype=torch.long)
    return out


def collate(split: Split, idx: Sequence[int], pad_id: int, device: torch.device) -> Batch:
    seqs = [split.input_ids[i] for i in idx]
    width = max(len(x) for x in seqs)
    ids = _padded(seqs, width, pad_id)
    batch = {"input_ids": ids, "attention_mask": _padded([[1] * len(x) for x in seqs], width, 0)}
    labels = [split.labels[i] for i in idx]
    token_labels = bool(labels) and isinstance(labels[0], list)
    if split.targets is not None:  # text2text: the labels are the target tokens; the model lays them out
        targets = [split.targets[i] for i in idx]
        t_width = max(len(t) for t in targets)
        batch["labels"] = _padded(targets, t_width, -100)
        batch["target_mask"] = _padded([[1] * len(t) for t in targets], t_width, 0)
    elif token_labels:
        batch["labels"] = _padded(cast(list[list[int]], labels), width, -100)
    else:
        batch["labels"] = torch.tensor(labels, dtype=torch.long)
    if split.token_type_ids is not None:
        batch["token_type_ids"] = _padded([split.token_type_ids[i] for i in idx], width, 0)
    # Not pinned: on an H200, pinning each small batch cost 3-5% of a trial more than the async copy saved.
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def interleave(per_task: dict[str, list[list[int]]], seed: int) -> Iterator[tuple[str, list[int]]]:
    """Mix several tasks' batches in one seeded random order (joint training, replay of whole tasks)."""
    tags = [t for t, batches in per_task.items() for _ in batches]
    gen = torch.Generator().manual_seed(seed)
    cursor = dict.fromkeys(per_task, 0)
    for j in torch.randperm(len(tags), generator=gen).tolist():
        task = tags[j]
        yield task, per_task[task][cursor[task]]
        cursor[task] += 1

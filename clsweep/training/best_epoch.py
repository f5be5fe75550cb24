"""Keep a task's parameters from its best dev epoch: early stopping's choice (as Progressive Prompts' code makes it)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


class BestEpoch:
    """The stepped parameters as they were after the epoch with the highest dev score (the earliest on a tie)."""

    def __init__(self) -> None:
        self.score = -math.inf
        self.epoch: int | None = None
        self.saved: list[torch.Tensor] = []

    def consider(self, epoch: int, score: float, params: Sequence[torch.nn.Parameter]) -> None:
        if score > self.score:
            self.score, self.epoch = score, epoch
            self.saved = [p.detach().clone() for p in params]

    @torch.no_grad()
    def restore(self, params: Sequence[torch.nn.Parameter]) -> int | None:
        """Put the best epoch's values back; returns that epoch (0-based), None when none was considered."""
        for p, saved in zip(params, self.saved, strict=True):
            p.copy_(saved)
        return self.epoch

"""Task heads: sequence heads pool the backbone's states, token heads label every position."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from clsweep.registry import Registry


class SequenceHead(nn.Module):
    def __init__(self, hidden: int, num_labels: int, pooling: str, dropout: float) -> None:
        super().__init__()
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_labels)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.pooling == "mean":
            m = mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * m).sum(1) / m.sum(1).clamp(min=1.0)
        else:
            pooled = states[:, 0]
        return self.out(self.dropout(pooled))


class TokenHead(nn.Module):
    def __init__(self, hidden: int, num_labels: int, pooling: str, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_labels)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(states))


class MLMHead(nn.Module):
    """BERT's prediction head: a transform (dense, GELU, LayerNorm) and a decoder over the vocabulary."""

    def __init__(self, hidden: int, num_labels: int, pooling: str, dropout: float) -> None:
        super().__init__()
        self.transform = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden))
        self.out = nn.Linear(hidden, num_labels)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.transform(states))


HeadFactory = Callable[[int, int, str, float], nn.Module]
HEADS: Registry[HeadFactory] = Registry("head")
HEADS.add("sequence", SequenceHead)
HEADS.add("token", TokenHead)
HEADS.add("mlm", MLMHead)

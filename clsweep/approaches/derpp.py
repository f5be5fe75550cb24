"""DER++ (Buzzega et al. 2020): replay with stored logits (dark knowledge) and stored labels.

loss + alpha * MSE(logits, stored logits) + beta * CE(replayed labels), on a reservoir buffer filled
from the training stream with the logits each example had when it was stored. Every replayed example
is scored by its own task's head (sending it through the current head, as PyContinual's text version
does, compares logits of different label spaces). As in the authors' code, each term has its own buffer
draw (`draws: 2`); `draws: 1` lets one draw serve both terms, which halves the replay cost (a departure).
Token heads compare logits per token under the attention mask.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from clsweep.approaches.base import OLD_HEADS_HELP, Batch, OldHeads
from clsweep.approaches.buffer import BufferedApproach, Policy, replay_logits
from clsweep.models import task_loss
from clsweep.schema import Strict


class DERppParams(Strict):
    alpha: float = Field(0.3, ge=0, description="weight of the logit-matching (MSE) term")
    beta: float = Field(0.5, ge=0, description="weight of the replayed-label cross-entropy")
    buffer_size: int = Field(200, ge=1)
    policy: Policy = "reservoir"
    old_heads: OldHeads = Field("trainable", description=OLD_HEADS_HELP)
    replay_batch_size: int = Field(16, ge=1, description="stored examples in each draw")
    draws: Literal[1, 2] = Field(2, description="buffer draws per step: 2, one for each term, as the paper's code; "
                                                 "1: one draw serves both (half the replay cost, a departure)")


def logit_mse(logits: torch.Tensor, stored: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared logit difference per example, or per unmasked token for token heads."""
    sq = (logits.float() - stored).pow(2).mean(-1)
    if sq.ndim == 2:
        return (sq * mask).sum() / mask.sum().clamp(min=1)
    return sq.mean()


class DERpp(BufferedApproach):
    name = "derpp"
    Params = DERppParams
    params: DERppParams

    def replay_terms(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(MSE to stored logits, CE on stored labels), each from its own draw (or one shared draw)."""
        if self.params.draws == 1:
            return self._terms(self.params.replay_batch_size)
        first = self._terms(self.params.replay_batch_size)
        second = self._terms(self.params.replay_batch_size)
        return None if first is None or second is None else (first[0], second[1])

    def _terms(self, size: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(MSE to stored logits, CE on stored labels) of one buffer draw, each group through its own head."""
        rb = self.replay_batch(size)
        if rb is None or self.env is None:
            return None
        mask = rb.inputs["attention_mask"]
        mse = ce = torch.zeros((), device=self.env.device)
        with self.env.autocast():
            for group, logits in replay_logits(self.model, rb):
                share = len(group.rows) / rb.size
                assert group.logits is not None
                mse = mse + share * logit_mse(logits, group.logits, mask[group.rows])
                ce = ce + share * task_loss(logits, group.labels)
        return mse, ce

    def loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        terms = self.replay_terms()
        self.buffer.add_batch(task, batch, logits.detach())
        if terms is None:
            return loss
        mse, ce = terms
        return loss + self.params.alpha * mse + self.params.beta * ce

"""DER++ (Buzzega et al. 2020): replay with stored logits (dark knowledge) and stored labels.

loss + alpha * MSE(logits, stored logits) + beta * CE(replayed labels), on a reservoir buffer filled
from the training stream with the logits each example had when it was stored. Every replayed example
is scored by its own task's head (sending it through the current head, as PyContinual's text version
does, compares logits of different label spaces). Unlike the paper, one buffer draw serves both terms,
which halves the replay cost. Token heads compare logits per token under the attention mask.
"""

from __future__ import annotations

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
    replay_batch_size: int = Field(16, ge=1)


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
        """(MSE to stored logits, CE on stored labels) of one buffer draw, each group through its own head."""
        rb = self.replay_batch(self.params.replay_batch_size)
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

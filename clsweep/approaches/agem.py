"""Averaged GEM (Chaudhry et al. 2019): project the gradient so the loss on memory does not rise.

After backward, g_ref is the gradient of the loss on a memory batch of past tasks (each sample through
its own head, the memory per-task balanced). If g . g_ref < 0, g <- g - (g . g_ref / g_ref . g_ref) g_ref,
which leaves g . g_ref = 0. The projection runs over every parameter the optimizer steps (old heads included
when `old_heads: trainable`, the default, as in the paper's multi-head experiments).
"""

from __future__ import annotations

import torch
from pydantic import Field

from clsweep.approaches.base import OLD_HEADS_HELP, Batch, OldHeads
from clsweep.approaches.buffer import BufferedApproach, Policy, replay_ce
from clsweep.schema import Strict


class AGEMParams(Strict):
    buffer_size: int = Field(200, ge=1, description="examples kept over all tasks")
    policy: Policy = "balanced"
    old_heads: OldHeads = Field("trainable", description=OLD_HEADS_HELP)
    memory_batch_size: int = Field(32, ge=1, description="memory examples behind each reference gradient "
                                   "(the A-GEM authors' code uses 256)")


def project(grads: list[torch.Tensor], refs: list[torch.Tensor]) -> list[torch.Tensor]:
    """A-GEM's projection of the flattened gradient `grads` against `refs`; pure (`grads` unchanged when no conflict).

    Branch-free: a `dot < 0` test would read the dot product back to the host and stall a GPU every step.
    Without a conflict the scale is exactly 0, so the result equals `grads` bit for bit.
    """
    dot = sum((g * r).sum() for g, r in zip(grads, refs, strict=True))
    norm = sum((r * r).sum() for r in refs)
    assert isinstance(dot, torch.Tensor) and isinstance(norm, torch.Tensor)
    scale = dot.clamp(max=0) / norm.clamp(min=torch.finfo(norm.dtype).tiny)
    return [g - scale * r for g, r in zip(grads, refs, strict=True)]


class AGEM(BufferedApproach):
    name = "agem"
    Params = AGEMParams
    params: AGEMParams

    def loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        self.buffer.add_batch(task, batch)
        return loss

    def reference_grads(self, task: str, params: list[torch.nn.Parameter]) -> list[torch.Tensor | None] | None:
        """Gradient of the memory loss (past tasks only) w.r.t. `params` (None where it does not reach)."""
        rb = self.replay_batch(self.params.memory_batch_size, exclude=task)
        if rb is None or self.env is None:
            return None
        with self.env.autocast():
            loss = replay_ce(self.model, rb)
        return list(torch.autograd.grad(loss, params, allow_unused=True))

    def after_backward(self, task: str) -> None:
        # The flat vector of the paper is every stepped parameter: with `old_heads: trainable` the old heads'
        # share of g is 0 but their share of g_ref is not, so the projection moves them too.
        params = self.env.stepped if self.env is not None else []
        refs = self.reference_grads(task, params)
        if refs is None:
            return
        keep = [i for i, (p, r) in enumerate(zip(params, refs, strict=True)) if p.grad is not None or r is not None]
        grads = [_or_zeros(params[i].grad, params[i]) for i in keep]
        for i, g in zip(keep, project(grads, [_or_zeros(refs[i], params[i]) for i in keep]), strict=True):
            params[i].grad = g


def _or_zeros(t: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if t is None else t

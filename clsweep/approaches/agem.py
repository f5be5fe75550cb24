"""Averaged GEM (Chaudhry et al. 2019): project the gradient so the loss on memory does not rise.

After backward, g_ref is the gradient of the loss on a memory batch of past tasks (each sample through
its own head, the memory per-task balanced). If g . g_ref < 0, g <- g - (g . g_ref / g_ref . g_ref) g_ref,
which leaves g . g_ref = 0. The projection runs over the parameters the current step updates.
"""

from __future__ import annotations

import torch
from pydantic import Field

from clsweep.approaches.base import Batch
from clsweep.approaches.buffer import BufferedApproach, Policy, replay_ce
from clsweep.schema import Strict


class AGEMParams(Strict):
    buffer_size: int = Field(200, ge=1, description="examples kept over all tasks")
    policy: Policy = "balanced"
    memory_batch_size: int = Field(32, ge=1, description="memory examples behind each reference gradient")


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

    def reference_grads(self, task: str, params: list[torch.nn.Parameter]) -> list[torch.Tensor] | None:
        """Gradient of the memory loss (past tasks only) w.r.t. `params`; `.grad` is left as it is."""
        rb = self.replay_batch(self.params.memory_batch_size, exclude=task)
        if rb is None or self.env is None:
            return None
        with self.env.autocast():
            loss = replay_ce(self.model, rb)
        refs = torch.autograd.grad(loss, params, allow_unused=True)
        return [torch.zeros_like(p) if r is None else r for p, r in zip(params, refs, strict=True)]

    def after_backward(self, task: str) -> None:
        params = [p for p in self.model.parameters() if p.grad is not None]
        grads = [p.grad.clone() for p in params if p.grad is not None]
        refs = self.reference_grads(task, params)
        if refs is None:
            return
        for p, g in zip(params, project(grads, refs), strict=True):
            p.grad = g

"""L2 regularisation towards the previous task's weights: EWC with F = 1 and only the latest anchor.

loss + lambda * sum_i (theta_i - theta*_i)^2 over the shared parameters (the backbone, and a head several
tasks share, as in domain- and class-IL), theta* = their values after the latest task; per-task heads are
not regularised. Nothing accumulates over tasks (online EWC with F = 1 and gamma 1 would weigh the k-th
anchor by k).
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import ConfigDict, Field

from clsweep.approaches.base import Approach, Batch, TaskEnv, tensor_bytes
from clsweep.schema import Strict


class L2Params(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    lam: float = Field(1.0, ge=0, alias="lambda", description="penalty strength; sweep log-uniform")


class L2(Approach):
    name = "l2"
    first_task_is_finetune = True  # nothing of its own before a second task
    scenarios = (*Approach.scenarios, "generative")  # nothing head-specific: it runs on a generative LM
    Params = L2Params
    params: L2Params

    def __init__(self, params: Any, model: Any) -> None:
        super().__init__(params, model)
        self.anchor: dict[str, torch.Tensor] = {}

    def loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        if not self.anchor or self.params.lam == 0:
            return loss
        penalty = sum(((p - self.anchor[n]).pow(2)).sum() for n, p in self.model.shared_parameters())
        return loss + self.params.lam * penalty

    def after_task(self, task: str, env: TaskEnv) -> None:
        self.anchor = {n: p.detach().clone() for n, p in self.model.shared_parameters()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f"anchor.{n}": t for n, t in self.anchor.items()}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.anchor = {n: tensors[f"anchor.{n}"].to(p.device) for n, p in self.model.shared_parameters()
                       if f"anchor.{n}" in tensors}

    def memory(self) -> dict[str, int]:
        return {"anchor": tensor_bytes(self.anchor.values())}

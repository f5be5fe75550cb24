"""Joint multitask training on the union of the tasks seen so far: the upper bound a*_k.

Row k of R is a model trained from the initial weights on tasks 1..k together (Chaudhry et al. 2018's
a*_k, the reference intransigence is measured against), each task for its own number of epochs, its
batches interleaved. That costs sum_k k task-trainings. `start: previous` keeps the cheaper warm start
(continue from row k-1's weights on tasks 1..k): a cumulative-replay bound, not a*_k.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from pydantic import Field

from clsweep.approaches.base import Approach, TaskEnv, tensor_bytes
from clsweep.models import CLModel
from clsweep.schema import Strict


class JointParams(Strict):
    start: Literal["initial", "previous"] = Field(
        "initial", description="initial: row k retrains from the initial weights (the multitask bound a*_k); "
                               "previous: continue from row k-1 (cumulative training, cheaper, not a*_k)")


class Joint(Approach):
    name = "joint"
    Params = JointParams
    params: JointParams

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        # Taken before any checkpoint is loaded: the weights every row starts from (heads included).
        self.initial: dict[str, torch.Tensor] = {}
        if self.params.start == "initial":
            self.initial = {n: t.detach().clone() for n, t in model.state_dict().items()}

    def training_tasks(self, seen: Sequence[str]) -> list[str]:
        return list(seen)

    def before_task(self, task: str, env: TaskEnv) -> None:
        if self.initial:
            self.model.load_state_dict(self.initial)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f"initial.{n}": t for n, t in self.initial.items()}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        device = self.device()
        self.initial = {n[len("initial."):]: t.to(device) for n, t in tensors.items() if n.startswith("initial.")}

    def memory(self) -> dict[str, int]:
        return {"initial_weights": tensor_bytes(self.initial.values())}

"""Independent fine-tuning: a separate copy of the backbone per task, each fine-tuned from the initial weights.

The no-forgetting reference (BWT = 0 exactly): each task is learned alone from the same start and
evaluated with its own copy, selected by task through `CLModel.switch`. Tasks not yet trained are
evaluated with the initial weights. It costs one backbone copy per task, declared as memory.
"""

from __future__ import annotations

from typing import Any

import torch

from clsweep.approaches.base import Approach, TaskEnv, tensor_bytes
from clsweep.models import CLModel

Weights = dict[str, torch.Tensor]


class Independent(Approach):
    name = "independent"
    scenarios = ("task_il",)
    selects_by_task = True
    scenario_note = "it selects a per-task backbone copy by task id at test"

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        self.initial: Weights = _copy(model.backbone.state_dict())
        self.trained: dict[str, Weights] = {}
        self.current: str | None = None  # whose weights the live backbone holds
        model.switch = self.select

    def select(self, task: str) -> None:
        if task != self.current:
            self.model.backbone.load_state_dict(self.trained.get(task, self.initial))
            self.current = task

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.model.backbone.load_state_dict(self.initial)  # every task starts from the same weights
        self.current = task

    def after_task(self, task: str, env: TaskEnv) -> None:
        self.trained[task] = _copy(self.model.backbone.state_dict())

    def state_dict(self) -> dict[str, torch.Tensor]:
        out = {f"initial.{n}": t for n, t in self.initial.items()}
        for task, weights in self.trained.items():
            out.update({f"task.{task}.{n}": t for n, t in weights.items()})
        return out

    def meta(self) -> dict[str, Any]:
        return {"trained": list(self.trained)}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        device = next(self.model.parameters()).device
        names = list(self.initial)
        self.initial = {n: tensors[f"initial.{n}"].to(device) for n in names}
        self.trained = {t: {n: tensors[f"task.{t}.{n}"].to(device) for n in names} for t in meta.get("trained", [])}
        self.current = None

    def memory(self) -> dict[str, int]:
        return {"backbones": tensor_bytes(t for w in [self.initial, *self.trained.values()] for t in w.values())}


def _copy(weights: Weights) -> Weights:
    return {n: t.detach().clone() for n, t in weights.items()}

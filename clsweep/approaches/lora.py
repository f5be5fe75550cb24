"""One peft LoRA adapter per task on a frozen backbone, switched by task at train and at eval.

Parameter isolation: training task k changes only its own adapter and head, so every earlier task's
score stays exactly what it was (BWT = forgetting = 0). The adapters are part of the model's state,
so task-boundary checkpoints carry them.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

from clsweep.approaches.adapters import adapter_name, adapter_tasks, peft_module, train_only
from clsweep.approaches.base import Approach, TaskEnv, tensor_bytes
from clsweep.models import CLModel
from clsweep.schema import Strict


class LoRAParams(Strict):
    r: int = Field(8, ge=1, description="adapter rank")
    alpha: float = Field(16.0, gt=0, description="scaling numerator (scale = alpha / r)")
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] | str = Field("all-linear", description="module names, or 'all-linear'")


class LoRA(Approach):
    name = "lora"
    Params = LoRAParams
    params: LoRAParams

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        peft = peft_module()
        config = peft.LoraConfig(r=self.params.r, lora_alpha=self.params.alpha, lora_dropout=self.params.dropout,
                                 target_modules=self.params.target_modules)
        device = next(model.parameters()).device
        first, *rest = [adapter_name(t) for t in adapter_tasks(model.task_head)]
        wrapped = peft.get_peft_model(model.backbone, config, adapter_name=first)
        for name in rest:
            wrapped.add_adapter(name, config)
        model.backbone = wrapped.to(device)
        self.active: str | None = None
        model.switch = self.select

    def select(self, task: str) -> None:
        name = adapter_name(task)
        if name != self.active:
            self.model.backbone.set_adapter(name)  # type: ignore[operator]
            self.active = name

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.select(task)
        train_only(self.model, adapter_name(task), "lora_")

    def memory(self) -> dict[str, int]:
        return {"adapters": tensor_bytes(p for n, p in self.model.named_parameters() if "lora_" in n)}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.active = None  # the checkpoint may have left another adapter active

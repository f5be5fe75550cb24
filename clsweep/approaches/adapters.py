"""Shared plumbing of the per-task adapter approaches (LoRA, prompt tuning): one peft adapter per task."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any, ClassVar

import torch
from torch import nn

from clsweep.approaches.base import Approach, TaskEnv, tensor_bytes
from clsweep.errors import ConfigError
from clsweep.models import CLModel


def peft_module() -> ModuleType:
    """peft, imported lazily; a clear message when it is missing."""
    try:
        import peft
    except ImportError:  # pragma: no cover - peft is a dependency, but keep the message clear
        raise ConfigError.one("<config>", "approach.name",
                              "this approach needs peft: pip install 'peft>=0.13'") from None
    return peft


def wrap_with_lora(model: CLModel, params: Any, names: list[str]) -> Any:
    """The model's backbone wrapped by peft with one LoRA adapter per name (r, alpha, dropout and target modules
    from `params`), moved to the model's device; returns the PeftModel, now `model.backbone`."""
    peft = peft_module()
    device = next(model.parameters()).device
    config = peft.LoraConfig(r=params.r, lora_alpha=params.alpha, lora_dropout=params.dropout,
                             target_modules=params.target_modules)
    first, *rest = names
    wrapped = peft.get_peft_model(model.backbone, config, adapter_name=first)
    for name in rest:
        wrapped.add_adapter(name, config)
    model.backbone = wrapped.to(device)
    return wrapped


def adapter_name(task: str) -> str:
    # peft keys adapters into module names, where dots and other symbols are not allowed.
    return "task_" + re.sub(r"\W", "_", task)


class AdapterApproach(Approach):
    selects_by_task = True
    """Wraps the backbone with one peft adapter per task of the run and selects it by task.

    Adapters are created for every task up front, in name order (so their initialisation does not depend
    on the ordering, and a resumed run's model has the same keys as its checkpoint). Subclasses say how
    to configure and wrap, and which parameter names belong to an adapter (`marker`).
    """

    scenarios: ClassVar[tuple[str, ...]] = ("task_il",)
    scenario_note = "it selects a per-task adapter by task id at test"
    marker: ClassVar[str]
    memory_kind: ClassVar[str]

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        peft = peft_module()
        device = next(model.parameters()).device
        first, *rest = [adapter_name(t) for t in sorted(model.task_head)]
        self.peft_model = peft.get_peft_model(model.backbone, self.peft_config(peft), adapter_name=first)
        for name in rest:
            self.peft_model.add_adapter(name, self.peft_config(peft))
        model.backbone = self.wrap(self.peft_model).to(device)
        self.active: str | None = None
        model.switch = self.select

    def peft_config(self, peft: ModuleType) -> Any:
        raise NotImplementedError

    def wrap(self, peft_model: Any) -> nn.Module:
        """The module that becomes the CLModel's backbone."""
        return peft_model

    def select(self, task: str) -> None:
        name = adapter_name(task)
        if name != self.active:
            self.peft_model.set_adapter(name)
            self.active = name

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.select(task)
        own = f".{adapter_name(task)}."
        # Only the task's own adapter and the heads train (the trainer skips other tasks' heads).
        for name, p in self.model.named_parameters():
            p.requires_grad_((self.marker in name and own in f"{name}.") or name.startswith("heads."))

    def memory(self) -> dict[str, int]:
        return {self.memory_kind: tensor_bytes(p for n, p in self.model.named_parameters() if self.marker in n)}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.active = None  # select again on the next forward, whatever the checkpoint left active

"""O-LoRA (Wang et al. 2023, "Orthogonal Subspace Learning for Language Model Continual Learning").

Each task trains a new LoRA adapter on the frozen LM while the earlier tasks' adapters stay frozen and active,
so the model always computes with the sum of every adapter learned so far and needs no task id at test. The
new adapter is kept orthogonal to the old ones' subspaces:

    loss + lambda_orth * sum over LoRA modules and earlier tasks i of sum(|A_i A_new^T|)
         + lambda_l2 * sum over the new adapter's matrices of ||W||_2

with A the (r x d) down-projections, exactly the two terms of the authors' trainer (defaults lambda_orth 0.5,
lambda_l2 0, r 8, alpha 32, dropout 0.1, and peft's per-architecture attention targets: q and v on T5, as the
paper). Departure: the paper merges old adapters into one LoRA of growing rank; summing separate adapters
computes the same function and keeps each task's matrices addressable.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

from clsweep.approaches.adapters import adapter_name, wrap_with_lora
from clsweep.approaches.base import Approach, Batch, TaskEnv, tensor_bytes
from clsweep.models import CLModel
from clsweep.schema import Strict


class OLoRAParams(Strict):
    r: int = Field(8, ge=1, description="rank of each task's adapter")
    alpha: float = Field(32.0, gt=0, description="scaling numerator (scale = alpha / r)")
    dropout: float = Field(0.1, ge=0, lt=1)
    target_modules: list[str] | str | None = Field(None, description="module names, 'all-linear', or None: "
                                                                    "peft's attention targets (T5: q, v)")
    lambda_orth: float = Field(0.5, ge=0, description="weight of the orthogonality term (the paper's lambda_1)")
    lambda_l2: float = Field(0.0, ge=0, description="weight of the new adapter's L2 norm (the paper's lambda_2)")


class OLoRA(Approach):
    name = "olora"
    Params = OLoRAParams
    params: OLoRAParams
    scenarios = ("generative",)
    scenario_note = "it is defined on text-to-text language models: text2text tasks, no task id at test"

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        # One adapter per task, created up front in name order: their initialisation does not depend on the
        # ordering, and a resumed model has its checkpoint's keys. An adapter not yet trained adds exactly 0
        # (LoRA's B starts at zero).
        self.peft_model = wrap_with_lora(model, params, [adapter_name(t) for t in sorted(model.task_head)])
        self.seen: list[str] = []
        self.current: str | None = None
        self._activate([])

    def _activate(self, tasks: list[str]) -> None:
        names = [adapter_name(t) for t in tasks] or [adapter_name(sorted(self.model.task_head)[0])]
        self.peft_model.base_model.set_adapter(names)

    def _modules(self) -> list[Any]:
        return [m for m in self.model.modules() if hasattr(m, "lora_A") and isinstance(m.lora_A, torch.nn.ModuleDict)
                and len(m.lora_A) > 0]

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.current = task
        self._activate([*self.seen, task])
        own = f".{adapter_name(task)}."
        for name, p in self.model.named_parameters():
            p.requires_grad_("lora_" in name and own in f"{name}.")

    def loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        new = adapter_name(task)
        old = [adapter_name(t) for t in self.seen if t != task]
        orth = loss.new_zeros(())
        l2 = loss.new_zeros(())
        for m in self._modules():
            a_new = m.lora_A[new].weight
            for name in old:
                orth = orth + (m.lora_A[name].weight @ a_new.T).abs().sum()
            if self.params.lambda_l2:
                l2 = l2 + a_new.norm(p=2) + m.lora_B[new].weight.norm(p=2)
        return loss + self.params.lambda_orth * orth + self.params.lambda_l2 * l2

    def after_task(self, task: str, env: TaskEnv) -> None:
        if task not in self.seen:
            self.seen.append(task)
        self._activate(self.seen)

    def meta(self) -> dict[str, Any]:
        return {"seen": self.seen}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.seen = list(meta.get("seen", []))
        self._activate(self.seen)

    def memory(self) -> dict[str, int]:
        return {"adapters": tensor_bytes(p for n, p in self.model.named_parameters() if "lora_" in n)}

"""One peft LoRA adapter per task on a frozen backbone, switched by task at train and at eval.

Parameter isolation: training task k changes only its own adapter and head, so every earlier task's
score stays exactly what it was (BWT = forgetting = 0). The adapters are part of the model's state,
so task-boundary checkpoints carry them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from pydantic import Field

from clsweep.approaches.adapters import AdapterApproach
from clsweep.schema import Strict


class LoRAParams(Strict):
    r: int = Field(8, ge=1, description="adapter rank")
    alpha: float = Field(16.0, gt=0, description="scaling numerator (scale = alpha / r)")
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] | str = Field("all-linear", description="module names, or 'all-linear' (the "
                                            "default; Hu et al. adapt query and value only: [query, value] on "
                                            "BERT, [q, v] on T5)")


class LoRA(AdapterApproach):
    name = "lora"
    Params = LoRAParams
    params: LoRAParams
    marker = "lora_"
    memory_kind = "adapters"
    # On a generative LM too: the task's adapter is chosen by name at test, as on encoders (it says so: task id).
    scenarios = ("task_il", "generative")

    def peft_config(self, peft: ModuleType) -> Any:
        return peft.LoraConfig(r=self.params.r, lora_alpha=self.params.alpha, lora_dropout=self.params.dropout,
                               target_modules=self.params.target_modules)

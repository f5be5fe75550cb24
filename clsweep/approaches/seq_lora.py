"""Sequential LoRA: one LoRA adapter on a frozen backbone, trained through every task in turn.

The baseline that O-LoRA (Wang et al. 2023) and the text-to-text CL papers report as "SeqLoRA": the same
adapter capacity as per-task LoRA, but shared, with no task id at test and nothing against forgetting.
Its settings are `lora`'s (alpha 16, dropout 0, all linear layers); O-LoRA builds its LoRAs with alpha 32 and
dropout 0.1, so compare the two with those set alike (search_spaces/text2text.yaml does).
"""

from __future__ import annotations

from typing import Any

from clsweep.approaches.adapters import wrap_with_lora
from clsweep.approaches.base import Approach, TaskEnv, tensor_bytes
from clsweep.approaches.lora import LoRAParams
from clsweep.models import CLModel

SHARED = "shared"


class SeqLoRA(Approach):
    name = "seq_lora"
    Params = LoRAParams
    params: LoRAParams
    scenarios = (*Approach.scenarios, "generative")

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        wrap_with_lora(model, params, [SHARED])

    def before_task(self, task: str, env: TaskEnv) -> None:
        # The adapter and the heads train; the backbone stays as it was pre-trained.
        for name, p in self.model.named_parameters():
            p.requires_grad_("lora_" in name or name.startswith("heads."))

    def memory(self) -> dict[str, int]:
        return {"adapter": tensor_bytes(p for n, p in self.model.named_parameters() if "lora_" in n)}

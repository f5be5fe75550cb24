"""Prompt tuning (Lester et al. 2021): one peft soft prompt per task on a frozen backbone, switched by task.

The task's virtual tokens are prepended to the input embeddings; the states at the prompt positions are
cut off again, so heads see one state per real token (CLS pooling reads the real [CLS], token heads stay
aligned with their labels). The prompt keeps segment ids of pair tasks (peft's own forward drops them).
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field
from torch import nn
from transformers.modeling_outputs import BaseModelOutput

from clsweep.approaches.adapters import adapter_name, adapter_tasks, peft_module, train_only
from clsweep.approaches.base import Approach, TaskEnv, tensor_bytes
from clsweep.models import CLModel
from clsweep.schema import Strict


class PromptTuningParams(Strict):
    num_virtual_tokens: int = Field(8, ge=1, description="prompt length per task")


class PromptedBackbone(nn.Module):
    """The frozen backbone with the active adapter's prompt in front of every input."""

    def __init__(self, peft_model: Any, n: int) -> None:
        super().__init__()
        self.peft, self.n = peft_model, n
        self.config = peft_model.base_model.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> BaseModelOutput:
        base = self.peft.base_model
        b = input_ids.shape[0]
        prompts = self.peft.get_prompt(b).to(base.get_input_embeddings().weight.dtype)
        embeds = torch.cat([prompts, base.get_input_embeddings()(input_ids)], dim=1)
        mask = torch.cat([attention_mask.new_ones(b, self.n), attention_mask], dim=1)
        kwargs: dict[str, Any] = {}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = torch.cat([token_type_ids.new_zeros(b, self.n), token_type_ids], dim=1)
        states = base(inputs_embeds=embeds, attention_mask=mask, **kwargs).last_hidden_state
        return BaseModelOutput(last_hidden_state=states[:, self.n :])


class PromptTuning(Approach):
    name = "prompt_tuning"
    Params = PromptTuningParams
    params: PromptTuningParams

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        peft = peft_module()
        config = peft.PromptTuningConfig(task_type=peft.TaskType.FEATURE_EXTRACTION,
                                         num_virtual_tokens=self.params.num_virtual_tokens)
        device = next(model.parameters()).device
        first, *rest = [adapter_name(t) for t in adapter_tasks(model.task_head)]
        wrapped = peft.get_peft_model(model.backbone, config, adapter_name=first)
        for name in rest:
            wrapped.add_adapter(name, config)
        model.backbone = PromptedBackbone(wrapped, self.params.num_virtual_tokens).to(device)
        self.active: str | None = None
        model.switch = self.select

    def select(self, task: str) -> None:
        name = adapter_name(task)
        if name != self.active:
            self.model.backbone.peft.set_adapter(name)  # type: ignore[union-attr,operator]
            self.active = name

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.select(task)
        train_only(self.model, adapter_name(task), "prompt_encoder")

    def memory(self) -> dict[str, int]:
        return {"prompts": tensor_bytes(p for n, p in self.model.named_parameters() if "prompt_encoder" in n)}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.active = None

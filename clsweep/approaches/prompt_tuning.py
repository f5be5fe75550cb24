"""Prompt tuning (Lester et al. 2021): one peft soft prompt per task on a frozen backbone, switched by task.

The task's virtual tokens are prepended to the input embeddings; the states at the prompt positions are
cut off again, so heads see one state per real token (CLS pooling reads the real [CLS], token heads stay
aligned with their labels). The prompt keeps segment ids of pair tasks (peft's own forward drops them).
Departures from Lester et al., who tune the prompt of a frozen T5 that writes the label: here an encoder with
a trainable head per task; the prompt is 8 tokens long by default (theirs: 100). It starts, as one of
theirs, from the embeddings of sampled vocabulary tokens (`init`). `init: class_labels` is their best-scoring
init: virtual token i starts as the embedding of the task's i-th label word (a label of several tokens: their
mean), the tokens beyond the label count from sampled vocabulary; with more labels than tokens, the first
`num_virtual_tokens` labels (in the task's label order) are used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType, SimpleNamespace
from typing import Any, Literal

import torch
from pydantic import Field
from torch import nn

from clsweep.approaches.adapters import AdapterApproach, adapter_name
from clsweep.approaches.base import SoftPrefix
from clsweep.schema import Strict


class PromptTuningParams(Strict):
    num_virtual_tokens: int = Field(8, ge=1, description="prompt length per task (Lester et al.: 100)")
    init: Literal["sample_vocab", "class_labels", "random"] = Field(
        "sample_vocab", description="sample_vocab: each virtual token starts as the embedding of a random "
        "vocabulary token (Lester et al.'s sampled-vocabulary init); class_labels: token i as the (mean token) "
        "embedding of the task's i-th label, the rest sampled vocabulary (their class-label init); random: "
        "peft's N(0, 1) draw")


class PromptedBackbone(nn.Module):
    """The frozen backbone with the active adapter's prompt in front of every input."""

    def __init__(self, peft_model: Any, n: int) -> None:
        super().__init__()
        self.peft, self.n = peft_model, n
        self.config = peft_model.base_model.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> SimpleNamespace:
        base = self.peft.base_model
        b, length = input_ids.shape
        limit = getattr(self.config, "max_position_embeddings", None)
        if limit is not None and length + self.n > limit:
            raise ValueError(f"{length} tokens + {self.n} virtual tokens exceed the backbone's {limit} positions; "
                             "lower model.max_length or approach.prompt_tuning.num_virtual_tokens")
        prompts = self.peft.get_prompt(b).to(base.get_input_embeddings().weight.dtype)
        embeds = torch.cat([prompts, base.get_input_embeddings()(input_ids)], dim=1)
        mask = torch.cat([attention_mask.new_ones(b, self.n), attention_mask], dim=1)
        kwargs: dict[str, Any] = {}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = torch.cat([token_type_ids.new_zeros(b, self.n), token_type_ids], dim=1)
        states = base(inputs_embeds=embeds, attention_mask=mask, **kwargs).last_hidden_state
        # Only `last_hidden_state` is read (CLModel.encode); importing transformers' output class here would
        # load transformers whenever the approach registry is imported.
        return SimpleNamespace(last_hidden_state=states[:, self.n :])


class PromptTuning(AdapterApproach):
    name = "prompt_tuning"
    Params = PromptTuningParams
    params: PromptTuningParams
    marker = "prompt_encoder"
    memory_kind = "prompts"

    @classmethod
    def soft_prefix(cls, params: Any, num_tasks: int) -> SoftPrefix:
        return SoftPrefix("num_virtual_tokens", params.num_virtual_tokens)  # one task's prompt at a time

    def peft_config(self, peft: ModuleType) -> Any:
        kinds = peft.PromptTuningInit
        init = kinds.RANDOM if self.params.init == "random" else kinds.SAMPLE_VOCAB
        return peft.PromptTuningConfig(task_type=peft.TaskType.FEATURE_EXTRACTION,
                                       num_virtual_tokens=self.params.num_virtual_tokens, prompt_tuning_init=init)

    def wrap(self, peft_model: Any) -> nn.Module:
        return PromptedBackbone(peft_model, self.params.num_virtual_tokens)

    def setup(self, tasks: Mapping[str, Any], tokenizer: Any) -> None:
        if self.params.init != "class_labels":
            return
        table = self.peft_model.base_model.get_input_embeddings().weight
        for name, task in tasks.items():
            rows = label_embeddings(task.labels[: self.params.num_virtual_tokens], tokenizer, table)
            prompt = self.peft_model.prompt_encoder[adapter_name(name)].embedding.weight
            with torch.no_grad():
                prompt[: len(rows)] = rows.to(prompt.dtype)


def label_embeddings(labels: Sequence[str], tokenizer: Any, table: torch.Tensor) -> torch.Tensor:
    """One row per label: the mean of the input embeddings of the label's tokens (Lester et al. average a
    label of several tokens); (0, hidden) for a task without label words (masked LM)."""
    rows = [table[tokenizer(label, add_special_tokens=False)["input_ids"] or [tokenizer.unk_token_id]].mean(0)
            for label in labels]
    return torch.stack(rows).detach() if rows else table.new_zeros(0, table.shape[1])

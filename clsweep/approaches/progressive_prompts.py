"""Progressive Prompts (Razdaibiedina et al. 2023): a new soft prompt per task, concatenated with the earlier
tasks' frozen prompts, on a frozen language model.

Training task k prepends [P_k; P_{k-1}; ...; P_1] to the input embeddings; only P_k (and its reparameterisation)
trains. As in the paper, P_k is reparameterised during its task by a residual MLP, P_k + LayerNorm(MLP(P_k)),
and the result is frozen into the prompt when the task ends (the MLP is not used again). A task is evaluated
with the progression up to itself, [P_i; ...; P_1], so the task id is known at test (the paper's setting); a
task not learned yet is evaluated with every prompt learned so far. The LM never changes, so a task's scores
after it was learned never change either (forgetting 0). Prompts are initialised from the embeddings of
random vocabulary tokens, one draw per (run seed, task name).
Departures: the reparameterisation MLP defaults to 128 hidden units, sized for small LMs (`mlp_hidden`);
each task keeps its prompt of the last epoch by default (the authors' code keeps the best dev epoch's, early
stopping: `train.keep_epoch: best_dev`);
only the text-to-text form exists (the paper also runs BERT with prompts and a head per task).
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field
from torch import nn

from clsweep.approaches.adapters import adapter_name
from clsweep.approaches.base import Approach, SoftPrefix, TaskEnv, tensor_bytes
from clsweep.models import CLModel
from clsweep.schema import Strict
from clsweep.seeds import derived_seed


class ProgressivePromptsParams(Strict):
    prompt_length: int = Field(10, ge=1, description="soft-prompt tokens per task")
    reparameterize: bool = Field(True, description="train each prompt through a residual MLP (the paper's)")
    mlp_hidden: int = Field(128, ge=1, description="hidden width of the reparameterisation MLP")


class PromptBank(nn.Module):
    """Every task's prompt and reparameterisation MLP, created up front in name order (stable checkpoint keys)."""

    def __init__(self, tasks: list[str], embeddings: torch.Tensor, params: ProgressivePromptsParams,
                 seed: int) -> None:
        super().__init__()
        hidden = embeddings.shape[1]
        prompts, mlps = {}, {}
        for task in sorted(tasks):
            g = torch.Generator().manual_seed(derived_seed(seed, "prompt", task))
            rows = torch.randint(0, embeddings.shape[0], (params.prompt_length,), generator=g)
            prompts[adapter_name(task)] = nn.Parameter(embeddings[rows].detach().clone().float())
            torch.manual_seed(derived_seed(seed, "prompt_mlp", task))
            mlps[adapter_name(task)] = nn.Sequential(nn.Linear(hidden, params.mlp_hidden), nn.ReLU(),
                                                     nn.Linear(params.mlp_hidden, hidden), nn.LayerNorm(hidden))
        self.prompts = nn.ParameterDict(prompts)
        self.mlps = nn.ModuleDict(mlps)


class ProgressivePrompts(Approach):
    name = "progressive_prompts"
    Params = ProgressivePromptsParams
    params: ProgressivePromptsParams
    scenarios = ("generative",)
    selects_by_task = True
    scenario_note = "it is defined on language models (text2text tasks) and selects the task's prompts by task id"

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        lm: Any = model.backbone
        embeddings = lm.get_input_embeddings().weight
        # Seeded by (run seed, task name): the run's seed varies the prompts, the ordering does not; the run's
        # random stream is not consumed (torch.initial_seed() is the seed the model was built from).
        with torch.random.fork_rng():
            bank = PromptBank(list(model.task_head), embeddings, params, torch.initial_seed())
        bank = bank.to(embeddings.device)
        model.add_module("progressive", bank)
        self.bank = bank
        self.learned: list[str] = []
        self.training_task: str | None = None
        model.prefix = self.prefix  # type: ignore[assignment]

    @classmethod
    def soft_prefix(cls, params: Any, num_tasks: int) -> SoftPrefix:
        # Every task's prompt stays in the stack once learned: the last task trains behind all of them.
        return SoftPrefix("prompt_length", params.prompt_length, num_tasks)

    def _prompt(self, task: str) -> torch.Tensor:
        key = adapter_name(task)
        p = self.bank.prompts[key]
        if task == self.training_task and self.params.reparameterize:
            return p + self.bank.mlps[key](p)
        return p

    def prefix(self, task: str) -> torch.Tensor | None:
        stack = list(self.learned)
        if self.training_task is not None and self.training_task not in stack:
            stack.append(self.training_task)
        if task in stack:
            stack = stack[: stack.index(task) + 1]
        if not stack:
            return None  # nothing learned yet: the LM alone
        return torch.cat([self._prompt(t) for t in reversed(stack)])  # the newest prompt first

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.training_task = task
        key = adapter_name(task)
        for name, p in self.model.named_parameters():
            p.requires_grad_(name == f"progressive.prompts.{key}" or name.startswith(f"progressive.mlps.{key}."))

    def after_task(self, task: str, env: TaskEnv) -> None:
        key = adapter_name(task)
        with torch.no_grad():  # freeze the reparameterised prompt into the prompt itself
            self.bank.prompts[key].copy_(self._prompt(task))
        self.training_task = None
        if task not in self.learned:
            self.learned.append(task)

    def meta(self) -> dict[str, Any]:
        return {"learned": self.learned}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.learned = list(meta.get("learned", []))
        self.training_task = None

    def memory(self) -> dict[str, int]:
        return {"prompts": tensor_bytes(self.bank.prompts[adapter_name(t)] for t in self.learned)}

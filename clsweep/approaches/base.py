"""The one base class of continual-learning approaches and the task environment the trainer hands them.

Approaches are algorithms: they may add loss terms (replayed batches included), transform gradients
after backward, pick which tasks' data a step trains on, select a per-task backbone variant through
`CLModel.switch`, freeze parameters before a task (the trainer builds each task's optimizer from the
parameters that require grad), keep state between tasks and declare the memory it costs. They never
step the optimizer; the trainer owns the step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch

from clsweep.models import CLModel
from clsweep.schema import Strict

Batch = dict[str, torch.Tensor]


class NoParams(Strict):
    """An approach without hyperparameters."""


OldHeads = Literal["trainable", "frozen"]
OLD_HEADS_HELP = ("trainable: earlier tasks' heads are stepped by the gradients that reach them (replayed examples, "
                  "distillation), as the papers do; frozen: they keep the weights they had after their own task")


@dataclass
class TaskEnv:
    """What the trainer lends an approach around a task: data access and the loss of one batch."""

    device: torch.device
    batches: Callable[..., Iterator[Batch]]  # batches(task, split="train", batch_size=..., limit=None, sample=False)
    batch_loss: Callable[[str, Batch], torch.Tensor]
    pad_id: int = 0  # for approaches that collate their own batches (replay buffers)
    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
    # The parameters the optimizer steps during the current task (set by the trainer before training it).
    stepped: list[torch.nn.Parameter] = field(default_factory=list)
    # Optimizer steps in one epoch of the current task's training stream (set by the trainer before `before_task`).
    epoch_steps: int = 0


@dataclass(frozen=True)
class SoftPrefix:
    """Soft tokens an approach puts before every input: at most `count` prompts of `length` (its parameter `key`).

    They take positions of the backbone's position table like tokens do; the run refuses, before training, an
    input that would not fit behind them (training/run.py).
    """

    key: str  # the approach parameter that sets `length`, e.g. prompt_length
    length: int
    count: int = 1  # prompts stacked at most over the run

    @property
    def positions(self) -> int:
        return self.length * self.count


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes held by `tensors` (for the memory an approach declares)."""
    return sum(t.numel() * t.element_size() for t in tensors)


class Approach:
    name: ClassVar[str]
    Params: ClassVar[type[Strict]] = NoParams
    # The CL scenarios the approach defines itself for; config validation refuses the others (exit 2).
    scenarios: ClassVar[tuple[str, ...]] = ("task_il", "domain_il", "class_il")
    scenario_note: ClassVar[str] = ""  # why the others are refused
    # True when training the first task is exactly fine-tuning's (same loss, same stepped parameters, no
    # state before `after_task`): a sweep may train that task once for every such configuration and run
    # each one's `after_task` on the shared weights (tests/training/test_shared_prefix.py checks it).
    first_task_is_finetune: ClassVar[bool] = False
    # True when the approach picks a per-task variant (adapter, prompt, backbone) by task name at test: then the
    # task id is used at test in every scenario, whatever the heads (result.json's `task_id_at_test`).
    selects_by_task: ClassVar[bool] = False

    def __init__(self, params: Any, model: CLModel) -> None:
        self.params = params
        self.model = model

    @classmethod
    def params_problem(cls, params: Any, task_types: frozenset[str]) -> str | None:
        """Why `params` cannot run on tasks of these types (reported as a config error), or None."""
        return None

    @classmethod
    def soft_prefix(cls, params: Any, num_tasks: int) -> SoftPrefix | None:
        """The longest soft prefix put before an input over a run of `num_tasks` tasks; None when there is none."""
        return None

    def training_tasks(self, seen: Sequence[str]) -> list[str]:
        """Tasks whose training data the current step uses; `seen[-1]` is the task being learned."""
        return [seen[-1]]

    def stepped_tasks(self, seen: Sequence[str]) -> list[str]:
        """Tasks whose heads the optimizer steps while `seen[-1]` is learned (the backbone is always stepped)."""
        return self.training_tasks(seen)

    def setup(self, tasks: Mapping[str, Any], tokenizer: Any) -> None:
        """Called once, right after construction, with the run's prepared tasks (by name) and the tokenizer,
        before any checkpoint is loaded: for an initialisation that reads the tasks (e.g. their label words)."""

    def before_task(self, task: str, env: TaskEnv) -> None:
        """Called before training on `task` starts."""

    def loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        """The loss to minimise for one batch, given the plain task loss."""
        return loss

    def after_backward(self, task: str) -> None:
        """Gradients are in `.grad`; an approach may transform them here (e.g. project them)."""

    def after_task(self, task: str, env: TaskEnv) -> None:
        """Called after training on `task`, before evaluation."""

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors to checkpoint at a task boundary."""
        return {}

    def meta(self) -> dict[str, Any]:
        """JSON-able state to checkpoint at a task boundary."""
        return {}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Restore what `state_dict` and `meta` returned."""

    def memory(self) -> dict[str, int]:
        """Bytes of extra memory the approach keeps beyond the model, by kind (teacher, fisher, buffer ...)."""
        return {}

    def device(self) -> torch.device:
        """Where the model lives: restored state goes there (a checkpoint is read onto the CPU)."""
        return next(self.model.parameters()).device


def old_heads_tasks(policy: str, seen: Sequence[str]) -> list[str]:
    """Tasks whose heads are stepped under an `old_heads` policy: every seen task's, or the current one's."""
    return list(seen) if policy == "trainable" else [seen[-1]]

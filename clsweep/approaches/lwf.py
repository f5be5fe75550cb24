"""Learning without Forgetting (Li & Hoiem 2017): distil the old tasks' outputs on the current inputs.

loss + alpha * sum over heads of KL(teacher || student) at temperature T over the old classes of that head
(Li & Hoiem's loss with lambda_o = alpha; `temperature_squared` multiplies it by T^2, Hinton et al.'s
convention), where the teacher is a frozen copy of the model taken before the task starts. With one head
per task (task-IL) that is every previous head, whole; on a head shared over a union of labels
(class-IL) it is the columns of the classes earlier tasks brought (LwF.MC's old-class logits); on the
one head of domain-IL it is the whole head. Token heads are distilled per token under the attention
mask. The KL (not the cross-entropy) makes the term exactly zero when student equals teacher. The
teacher is the model at the task boundary, so a resumed run rebuilds it from the checkpoint.
On a generative LM (text2text) the one LM head is distilled: the KL over the vocabulary at every target token
of the current batch, teacher-forced on the current task's targets (the form used for LwF on T5 in the
text-to-text CL literature), under the target mask.
Li & Hoiem first train the new head alone (backbone and old heads frozen), then everything together:
`warmup_epochs` epochs of every task after the first do that, by dropping the gradients of everything but
the new head (the optimizer skips a parameter without a gradient: no step, no weight decay). The paper
warms up "to convergence", which has no epoch count, so the default 0 (joint from the first step) is a
departure; the learning-rate schedule runs over the warm-up and the joint epochs as one task.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence
from typing import Any

import torch
from pydantic import Field
from torch.nn import functional as F

from clsweep.approaches.base import OLD_HEADS_HELP, Approach, Batch, OldHeads, TaskEnv, old_heads_tasks, tensor_bytes
from clsweep.models import CLModel
from clsweep.schema import Strict


class LwFParams(Strict):
    alpha: float = Field(1.0, ge=0, description="weight of the distillation term (Li & Hoiem's lambda_o)")
    temperature: float = Field(2.0, gt=0)
    temperature_squared: bool = Field(False, description="multiply the distillation term by T^2 (Hinton et al. "
                                      "2015's convention); Li & Hoiem's loss has no such factor, so true acts as "
                                      "alpha * T^2 (4 at T = 2)")
    warmup_epochs: int = Field(0, ge=0, description="epochs of each task after the first that train the new head "
                               "alone before the joint update (Li & Hoiem's warm-up; 0: none, a departure)")
    old_heads: OldHeads = Field("trainable", description=OLD_HEADS_HELP)


def distillation(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None, t: float,
                 t_squared: bool = False) -> torch.Tensor:
    """KL(softmax(teacher/T) || softmax(student/T)), averaged over examples (or unmasked tokens); times T^2 if
    `t_squared`. Its gradient is the cross-entropy's on the softened outputs (the teacher is constant)."""
    log_p = F.log_softmax(teacher.float() / t, dim=-1)
    log_q = F.log_softmax(student.float() / t, dim=-1)
    kl = F.kl_div(log_q, log_p, log_target=True, reduction="none").sum(-1)
    per_unit = (kl * mask).sum() / mask.sum().clamp(min=1) if mask is not None and kl.ndim == 2 else kl.mean()
    return per_unit * t * t if t_squared else per_unit


class LwF(Approach):
    name = "lwf"
    first_task_is_finetune = True  # nothing of its own before a second task
    scenarios = (*Approach.scenarios, "generative")
    Params = LwFParams
    params: LwFParams

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        self.seen: list[str] = []
        self.teacher: CLModel | None = None
        self.env: TaskEnv | None = None
        self.step = self.warmup_steps = 0
        self.new_head = ""

    @classmethod
    def params_problem(cls, params: Any, task_types: frozenset[str]) -> str | None:
        if "text2text" in task_types and params.warmup_epochs:
            return ("lwf.warmup_epochs trains a new task's head alone, and a generative LM has no head per task: "
                    "set it to 0")
        return None

    def stepped_tasks(self, seen: Sequence[str]) -> list[str]:
        return old_heads_tasks(self.params.old_heads, seen)

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.env = env
        self.teacher = None
        self.step = 0
        # Only a task with earlier ones has something to warm up against (the first is plain fine-tuning).
        warm = self.params.warmup_epochs
        self.warmup_steps = warm * env.epoch_steps if self.seen and warm else 0
        self.new_head = f"heads.{self.model.task_head[task]}."
        if self.seen:
            self.model.last_states = None  # a tensor of the last forward; not part of the teacher
            self.teacher = copy.deepcopy(self.model).eval().requires_grad_(False)

    def _old_outputs(self, task: str) -> list[tuple[str, list[int] | None]]:
        """(head, its old classes or None for all of it) for every head an earlier task used."""
        old = [t for t in self.seen if t != task]
        heads = dict.fromkeys(self.model.task_head[t] for t in old)
        return [(h, self.model.head_classes(h, old)) for h in heads]

    def warming_up(self) -> bool:
        return self.step < self.warmup_steps

    def loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        if self.warming_up():  # the paper's warm-up trains the new head on the new task's loss alone
            return loss
        if self.model.generative:
            return self._generative_loss(task, batch, logits, loss)
        states = self.model.last_states
        if self.teacher is None or states is None or self.params.alpha == 0:
            return loss
        mask = batch["attention_mask"]
        with torch.no_grad(), (self.env.autocast() if self.env else contextlib.nullcontext()):
            t_states = self.teacher.encode(batch)
        term = loss.new_zeros(())
        for head, classes in self._old_outputs(task):
            s_logits = self.model.heads[head](states, mask)
            with torch.no_grad():
                t_logits = self.teacher.heads[head](t_states, mask)
            if classes is not None:
                s_logits, t_logits = s_logits[..., classes], t_logits[..., classes]
            term = term + distillation(s_logits, t_logits, mask, self.params.temperature,
                                       self.params.temperature_squared)
        return loss + self.params.alpha * term

    def _generative_loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        if self.teacher is None or self.params.alpha == 0:
            return loss
        with torch.no_grad(), (self.env.autocast() if self.env else contextlib.nullcontext()):
            t_logits = self.teacher(task, batch)
        term = distillation(logits, t_logits, batch["target_mask"], self.params.temperature,
                            self.params.temperature_squared)
        return loss + self.params.alpha * term

    def after_backward(self, task: str) -> None:
        if self.warming_up():
            # No gradient, no step: AdamW skips the parameter entirely (no moments, no weight decay).
            for name, p in self.model.named_parameters():
                if not name.startswith(self.new_head):
                    p.grad = None
        self.step += 1

    def after_task(self, task: str, env: TaskEnv) -> None:
        if task not in self.seen:
            self.seen.append(task)
        self.teacher = None  # free the copy between tasks

    def meta(self) -> dict[str, Any]:
        return {"seen": self.seen}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.seen = list(meta.get("seen", []))

    def memory(self) -> dict[str, int]:
        # Declared while it exists: the teacher is a full copy of the model during every task after the first.
        return {"teacher": tensor_bytes(self.model.parameters()) if self.seen else 0}

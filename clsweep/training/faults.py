"""Runtime faults that end a run with a clear, recorded reason: a non-finite loss, CUDA out of memory."""

from __future__ import annotations

from typing import Any

import torch

FAULT_FILE = "fault.json"
MIB = 2**20


class RunFault(RuntimeError):
    """A run cannot go on (retrying would fail the same way); `to_json` is what fault.json records."""

    def __init__(self, message: str, task: str | None, phase: str, **details: Any) -> None:
        super().__init__(message)
        self.task, self.phase, self.details = task, phase, details

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_json(self) -> dict[str, Any]:
        return {"fault": self.kind, "reason": str(self), "task": self.task, "phase": self.phase, **self.details}


class NonFiniteLoss(RunFault):
    """The training loss became NaN or infinite: the run diverged (a learning rate too high, fp16 overflow ...)."""


class OutOfMemory(RunFault):
    """CUDA ran out of memory; the message carries the device's memory figures at that moment."""

    @classmethod
    def from_error(cls, err: BaseException, task: str | None, phase: str, device: torch.device) -> OutOfMemory:
        figures = memory_figures(device)
        shown = ", ".join(f"{k.removesuffix('_mib')} {v:.0f} MiB" for k, v in figures.items() if k.endswith("_mib"))
        where = f"task '{task}'" if task else "the evaluation before training"
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else "CUDA out of memory"
        message = (f"CUDA out of memory during {phase} of {where} ({shown or 'no CUDA figures'}); torch said: "
                   f"{first_line} Use a smaller train.batch_size / eval.batch_size or model.max_length, "
                   "or give the trial a larger resources.gpu share")
        return cls(message, task, phase, memory=figures, torch_message=str(err))


def memory_figures(device: torch.device) -> dict[str, float]:
    """This process's CUDA memory (allocated, reserved, peak) and the device's free and total, in MiB."""
    if device.type != "cuda":
        return {}
    figures = {"allocated_mib": torch.cuda.memory_allocated(device) / MIB,
               "reserved_mib": torch.cuda.memory_reserved(device) / MIB,
               "peak_allocated_mib": torch.cuda.max_memory_allocated(device) / MIB}
    try:
        free, total = torch.cuda.mem_get_info(device)
        figures.update(free_mib=free / MIB, total_mib=total / MIB)
    except RuntimeError:  # the context may be too broken to ask; the process figures still stand
        pass
    return figures


def nonfinite_loss(task: str, step: int, checked: int, loss: float) -> NonFiniteLoss:
    when = f"at step {step}" if step == checked + 1 else f"between steps {checked + 1} and {step}"
    return NonFiniteLoss(f"the training loss became non-finite ({loss}) {when} of task '{task}': the run diverged; "
                         "lower train.lr (or the task's lr), keep train.grad_clip on, or use bf16 instead of fp16",
                         task, "train", step=step, loss=str(loss))

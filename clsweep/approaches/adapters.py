"""Shared plumbing of the per-task adapter approaches (LoRA, prompt tuning): peft import, names, freezing."""

from __future__ import annotations

import re
from types import ModuleType

from torch import nn

from clsweep.errors import ConfigError


def peft_module() -> ModuleType:
    """peft, imported lazily; a clear message when it is missing."""
    try:
        import peft
    except ImportError:  # pragma: no cover - peft is a dependency, but keep the message clear
        raise ConfigError.one("<config>", "approach.name",
                              "this approach needs peft: pip install 'peft>=0.13'") from None
    return peft


def adapter_name(task: str) -> str:
    # peft keys adapters into module names, where dots and other symbols are not allowed.
    return "task_" + re.sub(r"\W", "_", task)


def adapter_tasks(task_head: dict[str, str]) -> list[str]:
    """Every task of the run, sorted by name, so adapters are created (and initialised) order-independently."""
    return sorted(task_head)


def train_only(model: nn.Module, adapter: str, marker: str) -> None:
    """Trainable: `adapter`'s own parameters (names holding `marker`) and the heads; everything else frozen."""
    for name, p in model.named_parameters():
        own = marker in name and f".{adapter}." in f"{name}."
        p.requires_grad_(own or name.startswith("heads."))

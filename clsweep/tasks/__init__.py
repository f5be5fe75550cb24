"""Task data: loading sources, labels, tokenization with an on-disk cache, and dataset statistics."""

from __future__ import annotations

from typing import Any

__all__ = ["Split", "Task", "prepare_tasks"]


# Exports resolve lazily: `clsweep.config` imports `clsweep.tasks.spec` while this package loads, and
# the heavy `datasets`/`transformers` imports must not run just to read a config.
def __getattr__(name: str) -> Any:
    if name in __all__:
        from clsweep.tasks import task

        return getattr(task, name)
    raise AttributeError(f"module 'clsweep.tasks' has no attribute '{name}'")

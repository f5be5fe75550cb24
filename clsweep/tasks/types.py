"""Task types: what a task predicts, which columns it reads by default and which head it needs."""

from __future__ import annotations

from dataclasses import dataclass

from clsweep.registry import Registry


@dataclass(frozen=True)
class TaskType:
    name: str
    head: str  # the head kind in clsweep.models.heads
    text_column: str
    label_column: str  # empty: the type reads no labels (mlm makes its own targets)
    default_metrics: tuple[str, ...]


TASK_TYPES: Registry[TaskType] = Registry("task type")
TASK_TYPES.add(
    "sequence",
    TaskType("sequence", head="sequence", text_column="text", label_column="label",
             default_metrics=("accuracy", "macro_f1")),
)
TASK_TYPES.add(
    "mlm",
    TaskType("mlm", head="mlm", text_column="text", label_column="",
             default_metrics=("masked_accuracy", "perplexity")),
)
TASK_TYPES.add(
    "token",
    TaskType("token", head="token", text_column="tokens", label_column="tags",
             default_metrics=("entity_f1", "accuracy")),
)
TASK_TYPES.add(
    "text2text",
    TaskType("text2text", head="lm", text_column="text", label_column="label",
             default_metrics=("accuracy", "invalid_rate")),
)

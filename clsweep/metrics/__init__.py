"""Continual-learning metrics over the score matrix and the registry of per-task evaluation metrics."""

from __future__ import annotations

from clsweep.metrics.matrix import (
    DEFINITIONS,
    INTRANSIGENCE_DEFINITION,
    OrderDisparity,
    average_incremental_accuracy,
    backward_transfer,
    final_accuracy,
    forgetting,
    forgetting_per_task,
    forward_transfer,
    intransigence,
    intransigence_vs_joint,
    learning_accuracy,
    order_disparity,
    summarize,
)
from clsweep.metrics.task_metrics import (
    TASK_METRICS,
    TASK_TYPES,
    TaskMetric,
    compute_metrics,
    default_metrics,
    metrics_for,
)

__all__ = [
    "DEFINITIONS",
    "INTRANSIGENCE_DEFINITION",
    "TASK_METRICS",
    "TASK_TYPES",
    "OrderDisparity",
    "TaskMetric",
    "average_incremental_accuracy",
    "backward_transfer",
    "compute_metrics",
    "default_metrics",
    "final_accuracy",
    "forgetting",
    "forgetting_per_task",
    "forward_transfer",
    "intransigence",
    "intransigence_vs_joint",
    "learning_accuracy",
    "metrics_for",
    "order_disparity",
    "summarize",
]

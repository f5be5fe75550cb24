"""Continual-learning metrics over the score matrix and the registry of per-task evaluation metrics."""

from __future__ import annotations

from clsweep.metrics.matrix import (
    DEFINITIONS,
    OrderDisparity,
    average_incremental_accuracy,
    backward_transfer,
    final_accuracy,
    forgetting,
    forgetting_per_task,
    forward_transfer,
    intransigence,
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
    "learning_accuracy",
    "metrics_for",
    "order_disparity",
    "summarize",
]

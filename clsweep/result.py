"""The result contract: build the self-describing result.json of one run from its final state."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from clsweep.config import ExperimentConfig
from clsweep.metrics.matrix import DEFINITIONS, forgetting_per_task, summarize
from clsweep.tasks.task import Task
from clsweep.training.state import Row, RunState

RESULT_FORMAT = "clsweep.result/1"
_LIBRARIES = ("clsweep", "torch", "transformers", "datasets", "tokenizers", "numpy", "pydantic")


def score_row(row: Row, split: str, order: list[str], primary: dict[str, str]) -> list[float | None]:
    """One row of R: each task's primary-metric score, in training order; None where it was not evaluated."""
    scores = getattr(row, split)
    return [float(scores[t][primary[t]]) if t in scores else None for t in order]


def task_id_at_test(scenario: str, approach: str) -> bool:
    """Whether predictions use the task id: a head per task (task_il), or an approach that selects by task."""
    from clsweep.approaches import APPROACHES

    return scenario == "task_il" or bool(approach in APPROACHES and APPROACHES.get(approach).selects_by_task)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in _LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "not installed"
    return out


def build_result(cfg: ExperimentConfig, state: RunState, tasks: dict[str, Task]) -> dict[str, Any]:
    order = state.order
    if state.initial is None or len(state.rows) != len(order):
        raise ValueError(f"run incomplete: {len(state.rows)}/{len(order)} tasks trained")
    primary = {t: tasks[t].metric_names[0] for t in order}
    mats = {s: [score_row(r, s, order, primary) for r in state.rows] for s in ("dev", "test")}
    initial = {s: score_row(state.initial, s, order, primary) for s in ("dev", "test")}
    split = cfg.eval.split
    class_il = cfg.scenario == "class_il"
    return {
        "format": RESULT_FORMAT,
        "order": order,
        "tasks": order,
        "seed": cfg.train.seed,
        "approach": cfg.approach.name,
        "scenario": cfg.scenario,
        "task_id_at_test": task_id_at_test(cfg.scenario, cfg.approach.name),
        "eval_split": split,
        "primary_metric": primary,
        "matrix": mats[split],
        "initial": initial[split],
        "matrix_dev": mats["dev"],
        "initial_dev": initial["dev"],
        # Always both: analysis reports test while it selects on dev, whichever split `matrix` shows.
        "matrix_test": mats["test"],
        "initial_test": initial["test"],
        "metrics_test": summarize(mats["test"], None if class_il else initial["test"]),
        # FWT reads R[j-1][j], a task before its own training: in class-IL its classes cannot be predicted yet.
        "metrics": summarize(mats[split], None if class_il else initial[split]),
        "metrics_dev": summarize(mats["dev"], None if class_il else initial["dev"]),
        "forgetting_per_task": dict(zip(order, forgetting_per_task(mats[split]), strict=False)),
        "metric_definitions": DEFINITIONS,
        "scores": {"initial": state.initial.__dict__, "rows": [r.__dict__ for r in state.rows]},
        "labels": {t: tasks[t].labels for t in order},
        "dataset_stats": {t: tasks[t].stats for t in order},
        "misclassified": state.misclassified,
        "misclassified_counts": state.mistakes,
        "timings": state.timings,
        "versions": versions(),
        "config": cfg.to_dict(),
    }

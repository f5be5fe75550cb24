"""Report every task boundary of a continual run to Tune, with that boundary's checkpoint."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ray import tune

from clsweep.io import write_json_atomic
from clsweep.metrics.matrix import forgetting
from clsweep.training.callbacks import Callback
from clsweep.training.state import RunState

TRIAL_STATE = "trial.json"  # inside each reported checkpoint: which run of the trial it belongs to


def _cell(row: Any, split: str, task: str, primary: dict[str, str]) -> float | None:
    scores = getattr(row, split)
    return float(scores[task][primary[task]]) if task in scores else None


def boundary_metrics(state: RunState, primary: dict[str, str]) -> dict[str, Any]:
    """Flat metrics after the latest task: per-task scores by name, average over seen tasks, running forgetting."""
    seen = state.order[: state.completed]
    out: dict[str, Any] = {"tasks_seen": state.completed, "last_task": seen[-1], "order": ">".join(state.order)}
    for split in ("dev", "test"):
        # R restricted to the tasks seen so far: square, since every row scores every task.
        square = [[_cell(r, split, t, primary) for t in seen] for r in state.rows]
        # Every task's score in every report: Tune's progress.csv drops keys that first appear later.
        out.update(_objectives(split, state.order, [_cell(state.rows[-1], split, t, primary) for t in state.order],
                               square))
    return out


def final_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """What `boundary_metrics` reports at a run's last task, computed from its result.json (a shared group
    reports its runs once they finish, so every search.metric reaches Tune as from an unshared trial)."""
    order = list(result["order"])
    out: dict[str, Any] = {"tasks_seen": len(order), "last_task": order[-1], "order": ">".join(order)}
    for split in ("dev", "test"):
        square = result[f"matrix_{split}"]
        out.update(_objectives(split, order, square[-1], square))
    return out


_OBJECTIVES = ("dev_", "test_", "dev/", "test/")  # the reported keys a search.metric can name, and test's twins


def run_objectives(result: dict[str, Any]) -> dict[str, float]:
    """A finished run's objectives, from its result.json: final ACC (`dev_acc`, `test_acc`) and every objective
    `final_metrics` reports; what a multi-run trial keeps of each run it has finished."""
    final = {k: v for k, v in final_metrics(result).items() if k.startswith(_OBJECTIVES)}
    return {"dev_acc": result["metrics_dev"]["acc"], "test_acc": result["metrics_test"]["acc"], **final}


def mean_over_runs(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each objective averaged over `runs` (a trial's orderings x seeds): a multi-run trial is selected on the
    mean, so no configuration wins by its last ordering. A key an older checkpoint's runs lack is averaged over
    the runs that have it."""
    keys = dict.fromkeys(k for r in runs for k in r)
    return {k: sum(vals) / len(vals) for k in keys if (vals := [r[k] for r in runs if k in r])}


def _objectives(split: str, order: list[str], last: list[float | None], square: list[list[float | None]]
                ) -> dict[str, Any]:
    """Every task's score after the latest task (a cell `eval.cells: needed` skipped is NaN), their mean over the
    seen tasks and the running forgetting of the seen tasks' `square` R."""
    out: dict[str, Any] = {f"{split}/{t}": math.nan if v is None else v for t, v in zip(order, last, strict=True)}
    out[f"{split}_avg_seen"] = sum(v for v in square[-1] if v is not None) / len(square[-1])
    out[f"{split}_forgetting"] = forgetting(square) if len(square) > 1 else 0.0
    return out


class TuneReporter(Callback):
    """A read-only observer: turns each task boundary into one `tune.report` with its checkpoint."""

    def __init__(self, primary: dict[str, str], run_index: int, finished: list[dict[str, float]]) -> None:
        self.primary = primary
        self.run_index = run_index
        self.finished = finished  # run_objectives of the trial's earlier runs (multi-run trials)

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        metrics = boundary_metrics(state, self.primary)
        metrics["run"] = self.run_index
        # Over a multi-run trial every objective is the mean over its runs (orderings x seeds), the current run
        # counting with its running values until it finishes (its ACC so far: the average over seen tasks).
        current = {k: v for k, v in metrics.items() if k.startswith(_OBJECTIVES)}
        current.update({"dev_acc": metrics["dev_avg_seen"], "test_acc": metrics["test_avg_seen"]})
        metrics.update(mean_over_runs([*self.finished, current]))
        if checkpoint is None:
            tune.report(metrics)
            return
        write_json_atomic(checkpoint / TRIAL_STATE, {"run_index": self.run_index, "finished": self.finished},
                          durable=False)
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(checkpoint)))

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
        rows = [[_cell(r, split, t, primary) for t in seen] for r in state.rows]
        # Every task's score in every report: Tune's progress.csv drops keys that first appear later.
        # A cell `eval.cells: needed` skipped is reported as NaN.
        for t in state.order:
            cell = _cell(state.rows[-1], split, t, primary)
            out[f"{split}/{t}"] = math.nan if cell is None else cell
        out[f"{split}_avg_seen"] = sum(v for v in rows[-1] if v is not None) / len(seen)
        out[f"{split}_forgetting"] = forgetting(rows) if len(seen) > 1 else 0.0
    return out


class TuneReporter(Callback):
    """A read-only observer: turns each task boundary into one `tune.report` with its checkpoint."""

    def __init__(self, primary: dict[str, str], run_index: int, finished: list[dict[str, float]]) -> None:
        self.primary = primary
        self.run_index = run_index
        self.finished = finished  # final dev/test ACC of the trial's earlier runs (multi-run trials)

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        metrics = boundary_metrics(state, self.primary)
        metrics["run"] = self.run_index
        for split in ("dev", "test"):
            # Over a multi-run trial the objective is the mean over its runs (orderings x seeds), the
            # current run counting with its running average until it finishes.
            values = [f[f"{split}_acc"] for f in self.finished] + [metrics[f"{split}_avg_seen"]]
            metrics[f"{split}_acc"] = sum(values) / len(values)
        if checkpoint is None:
            tune.report(metrics)
            return
        write_json_atomic(checkpoint / TRIAL_STATE, {"run_index": self.run_index, "finished": self.finished},
                          durable=False)
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(checkpoint)))

"""TensorBoard observer of a run: loss/lr per step; scores, timings, resources per task; hparams at the end."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clsweep.metrics.matrix import forgetting
from clsweep.observe.tbtext import flat_hparams, stats_markdown
from clsweep.training.callbacks import Callback, StepInfo
from clsweep.training.state import Row, RunState

TIMING_KEYS = ("train_s", "after_task_s", "eval_s", "checkpoint_s", "steps_per_s", "tokens_per_s", "eval_share")
RESOURCE_PHASES = ("train", "eval", "all")  # the others' times are in time/*
GPU_KEYS = ("memory_peak_mib", "memory_mean_mib", "util_mean", "process_util_mean", "torch_peak_allocated_mib")


class TensorBoardCallback(Callback):
    """Writes event files under log_dir; reads the run state only, so it never changes training.

    Steps: train/* scalars use the global optimizer step; score/*, avg_seen/*, forgetting/*, time/*,
    resources/*, gpu/* and mistakes/* use the number of tasks trained so far (0 = before training), so every
    ordering of the same tasks shares one x-axis. `stats` (dataset facts per task) become text at the start;
    `resources` is anything with `task_summary(task)` (the ResourceMonitor); the final metrics go to the
    HParams view with the run's hyperparameters, so trials of a sweep can be compared side by side.
    """

    def __init__(self, log_dir: str | Path, primary: Mapping[str, str],
                 splits: Sequence[str] = ("dev", "test"), stats: Mapping[str, Any] | None = None,
                 resources: Any = None) -> None:
        # Imported here so that importing clsweep never pulls in tensorboard unless this observer is used.
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)
        self.primary = dict(primary)
        self.splits = tuple(splits)
        self.order: list[str] = []
        self.stats = dict(stats or {})
        self.resources = resources
        self.writer: Any = SummaryWriter(log_dir=str(self.log_dir))
        self._closed = False
        self._done: set[tuple[str, int]] = set()  # (tag, step) an earlier attempt already wrote here

    def on_run_start(self, state: RunState, resumed: bool) -> None:
        self.order = list(state.order)
        # A resumed run may log into a fresh folder (replay the finished boundaries so the curves are whole) or
        # into its own (where they are already: only what is missing, so no point shows twice).
        self._done = logged_points(self.log_dir) if resumed else set()
        for task, st in self.stats.items():
            if (f"data/{task}/text_summary", 0) not in self._done:
                self.writer.add_text(f"data/{task}", stats_markdown(task, st), 0)
        if state.initial is not None:
            self._log_scores(state.initial, 0)
        if resumed:
            for k in range(1, state.completed + 1):
                self._log_boundary(state, k)
        self._done = set()
        self.writer.flush()

    def on_step(self, info: StepInfo) -> None:
        self.writer.add_scalar(f"train/loss/{info.task}", info.loss, info.global_step)
        self.writer.add_scalar(f"train/lr/{info.task}", info.lr, info.global_step)

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        if not self.order:  # on_run_start was not seen; the state still names the order
            self.order = list(state.order)
        self._log_boundary(state, position + 1)
        self._log_measures(state, task, position + 1)
        self.writer.flush()  # a boundary is minutes apart: make it visible now, not at the next auto-flush

    def on_run_end(self, result: dict[str, Any]) -> None:
        if "metrics" in result:
            self._log_hparams(result)
        self.close()

    def _log_measures(self, state: RunState, task: str, seen: int) -> None:
        """Timings, resources and misclassification counts of the task just learned (and its stage)."""
        times = state.timings.get("tasks", {}).get(task, {})
        for key in TIMING_KEYS:
            if key in times:
                self.writer.add_scalar(f"time/{key}", times[key], seen)
        res = self.resources.task_summary(task) if self.resources is not None else {}
        for phase, entry in res.items():
            if phase not in RESOURCE_PHASES:
                continue
            for key in ("cpu_util", "rss_peak_mib"):
                if key in entry:
                    self.writer.add_scalar(f"resources/{phase}/{key}", entry[key], seen)
            for key in GPU_KEYS:
                if key in entry.get("gpu", {}):
                    self.writer.add_scalar(f"gpu/{phase}/{key}", entry["gpu"][key], seen)
        for t, counts in state.mistakes.items():
            stage = next((c for c in counts if c["stage"] == seen), None)
            if stage is not None:
                self.writer.add_scalar(f"mistakes/wrong/{t}", stage["wrong"], seen)
                self.writer.add_scalar(f"mistakes/newly_wrong/{t}", stage["newly_wrong"], seen)

    def _log_hparams(self, result: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        blocks = (("test", "metrics_test"), ("dev", "metrics_dev"))
        metrics = {f"hparam/{split}/{k}": float(v) for split, block in blocks
                   for k, v in result.get(block, {}).items() if isinstance(v, int | float)}
        # Into this run's own folder (SummaryWriter.add_hparams would open a timestamped sub-run instead).
        for summary in hparams(flat_hparams(result), metrics):
            self.writer._get_file_writer().add_summary(summary)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value, len(self.order))

    def close(self) -> None:
        if not self._closed:
            self.writer.close()
            self._closed = True

    def _score(self, row: Row, split: str, task: str) -> float | None:
        scores = getattr(row, split)  # None: a cell `eval.cells: needed` skipped (not plotted)
        return float(scores[task][self.primary[task]]) if task in scores else None

    def _scalar(self, tag: str, value: float | None, step: int) -> None:
        if value is not None and (tag, step) not in self._done:
            self.writer.add_scalar(tag, value, step)

    def _log_scores(self, row: Row, step: int) -> None:
        for split in self.splits:
            for task in self.order:
                score = self._score(row, split, task)
                if score is not None:
                    self._scalar(f"score/{split}/{task}", score, step)

    def _log_boundary(self, state: RunState, seen: int) -> None:
        """Scores after `seen` tasks, their mean over the seen tasks, and forgetting over the seen sub-matrix."""
        rows = state.rows[:seen]
        self._log_scores(rows[-1], seen)
        tasks = self.order[:seen]
        for split in self.splits:
            sub = [[self._score(r, split, t) for t in tasks] for r in rows]
            # The last row always scores every seen task; only earlier rows may hold skipped cells.
            self._scalar(f"avg_seen/{split}", math.fsum(v for v in sub[-1] if v is not None) / seen, seen)
            if seen >= 2:  # forgetting needs at least one task learned before the latest one
                self._scalar(f"forgetting/{split}", forgetting(sub), seen)


def logged_points(log_dir: Path) -> set[tuple[str, int]]:
    """(tag, step) of every summary value already in the event files of log_dir."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    points: set[tuple[str, int]] = set()
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            points.update((v.tag, int(event.step)) for v in event.summary.value)
    return points

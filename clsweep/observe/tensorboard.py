"""TensorBoard observer of a continual run: training loss/lr per step and the score matrix per task boundary."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clsweep.metrics.matrix import forgetting
from clsweep.training.callbacks import Callback, StepInfo
from clsweep.training.state import Row, RunState


class TensorBoardCallback(Callback):
    """Writes event files under log_dir; reads the run state only, so it never changes training.

    Steps: train/* scalars use the global optimizer step; score/*, avg_seen/* and forgetting/* use the number
    of tasks trained so far (0 = before training), so every ordering of the same tasks shares one x-axis.
    """

    def __init__(self, log_dir: str | Path, primary: Mapping[str, str],
                 splits: Sequence[str] = ("dev", "test")) -> None:
        # Imported here so that importing clsweep never pulls in tensorboard unless this observer is used.
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)
        self.primary = dict(primary)
        self.splits = tuple(splits)
        self.order: list[str] = []
        self.writer: Any = SummaryWriter(log_dir=str(self.log_dir))
        self._closed = False

    def on_run_start(self, state: RunState, resumed: bool) -> None:
        self.order = list(state.order)
        if state.initial is not None:
            self._log_scores(state.initial, 0)
        if resumed:
            # A resumed run may log into a fresh folder: replay the finished boundaries so the curves are whole.
            for k in range(1, state.completed + 1):
                self._log_boundary(state, k)
        self.writer.flush()

    def on_step(self, info: StepInfo) -> None:
        self.writer.add_scalar(f"train/loss/{info.task}", info.loss, info.global_step)
        self.writer.add_scalar(f"train/lr/{info.task}", info.lr, info.global_step)

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        if not self.order:  # on_run_start was not seen; the state still names the order
            self.order = list(state.order)
        self._log_boundary(state, position + 1)
        self.writer.flush()  # a boundary is minutes apart: make it visible now, not at the next auto-flush

    def on_run_end(self, result: dict[str, Any]) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self.writer.close()
            self._closed = True

    def _score(self, row: Row, split: str, task: str) -> float:
        return float(getattr(row, split)[task][self.primary[task]])

    def _log_scores(self, row: Row, step: int) -> None:
        for split in self.splits:
            for task in self.order:
                self.writer.add_scalar(f"score/{split}/{task}", self._score(row, split, task), step)

    def _log_boundary(self, state: RunState, seen: int) -> None:
        """Scores after `seen` tasks, their mean over the seen tasks, and forgetting over the seen sub-matrix."""
        rows = state.rows[:seen]
        self._log_scores(rows[-1], seen)
        tasks = self.order[:seen]
        for split in self.splits:
            sub = [[self._score(r, split, t) for t in tasks] for r in rows]
            self.writer.add_scalar(f"avg_seen/{split}", math.fsum(sub[-1]) / seen, seen)
            if seen >= 2:  # forgetting needs at least one task learned before the latest one
                self.writer.add_scalar(f"forgetting/{split}", forgetting(sub), seen)

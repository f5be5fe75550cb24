"""Read-only observers of a continual run: progress, TensorBoard, Tune reporting. They never change training."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from clsweep.training.state import Row, RunState


@dataclass(frozen=True)
class StepInfo:
    position: int  # 0-based position of the task being learned in the order
    task: str  # the task being learned
    step: int  # step within this task, 1-based
    total: int  # steps of this task
    global_step: int
    loss: float
    lr: float


class Callback:
    """No-op base; subclasses override what they observe.

    Phases ("train", "after_task", "eval", "checkpoint") bracket the work of each task; `task` is the task
    being learned, None for the evaluation before training. `on_batch` runs after every optimizer step and
    must stay cheap; `on_step` runs every `train.log_every` steps with the loss. `on_run_end` gets the
    run's result, or {} when the process stops at a boundary a sweep shares with other runs.
    """

    def on_run_start(self, state: RunState, resumed: bool) -> None: ...

    def on_task_start(self, position: int, task: str, steps: int) -> None: ...

    def on_phase_start(self, task: str | None, phase: str) -> None: ...

    def on_phase_end(self, task: str | None, phase: str, seconds: float) -> None: ...

    def on_batch(self, global_step: int) -> None: ...

    def on_step(self, info: StepInfo) -> None: ...

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None: ...

    def on_run_end(self, result: dict[str, Any]) -> None: ...


class CallbackList(Callback):
    def __init__(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks = list(callbacks)

    def on_run_start(self, state: RunState, resumed: bool) -> None:
        for c in self.callbacks:
            c.on_run_start(state, resumed)

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        for c in self.callbacks:
            c.on_task_start(position, task, steps)

    def on_phase_start(self, task: str | None, phase: str) -> None:
        for c in self.callbacks:
            c.on_phase_start(task, phase)

    def on_phase_end(self, task: str | None, phase: str, seconds: float) -> None:
        for c in self.callbacks:
            c.on_phase_end(task, phase, seconds)

    def on_batch(self, global_step: int) -> None:
        for c in self.callbacks:
            c.on_batch(global_step)

    def on_step(self, info: StepInfo) -> None:
        for c in self.callbacks:
            c.on_step(info)

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        for c in self.callbacks:
            c.on_task_end(position, task, state, checkpoint)

    def on_run_end(self, result: dict[str, Any]) -> None:
        for c in self.callbacks:
            c.on_run_end(result)


def row_line(row: Row, order: Sequence[str], split: str, primary: dict[str, str]) -> str:
    scores = getattr(row, split)
    vals = {t: scores[t][primary[t]] for t in order if t in scores}  # eval.cells: needed skips some
    cells = " ".join(f"{t}={vals[t]:.3f}" if t in vals else f"{t}=-" for t in order)
    return f"{cells} | mean={sum(vals.values()) / max(len(vals), 1):.3f}"


class Progress(Callback):
    """One line per log interval and per task boundary, so long runs show where they are."""

    def __init__(self, primary: dict[str, str], stream: TextIO = sys.stderr, split: str = "test") -> None:
        self.primary, self.stream, self.split = primary, stream, split
        self.order: list[str] = []
        self.t0 = time.perf_counter()
        self.task_t0 = self.t0

    def _print(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {msg}", file=self.stream, flush=True)

    def on_run_start(self, state: RunState, resumed: bool) -> None:
        self.order = state.order
        if resumed:
            self._print(f"resumed after {state.completed}/{len(state.order)} tasks")
        elif state.initial is not None:
            self._print("before training: " + row_line(state.initial, self.order, self.split, self.primary))

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        self.task_t0 = time.perf_counter()
        self._print(f"task {position + 1}/{len(self.order)} {task}: {steps} steps")

    def on_step(self, info: StepInfo) -> None:
        rate = info.step / max(time.perf_counter() - self.task_t0, 1e-9)
        self._print(f"  {info.task} step {info.step}/{info.total} loss {info.loss:.4f} lr {info.lr:.2e} "
                    f"({rate:.1f} steps/s)")

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        self._print(f"after {task} ({self.split}): " + row_line(state.rows[-1], self.order, self.split, self.primary))

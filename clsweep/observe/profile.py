"""`clsweep train --profile`: torch.profiler over a few training steps, traced for TensorBoard and Perfetto."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from clsweep.training.callbacks import Callback
from clsweep.training.state import RunState


def pyspy_hint(out: Path, pid: int | None = None) -> str:
    """One line: the py-spy command that samples this very process's Python (and native) stacks."""
    pid = os.getpid() if pid is None else pid
    return (f"hint: for Python-level hot spots run, in another shell: "
            f"py-spy record --native --pid {pid} -o {out / 'pyspy.svg'}  (attaching may need sudo)")


class ProfilerCallback(Callback):
    """Skips `wait` steps, warms up for `warmup`, records `steps`; writes <folder>/*.pt.trace.json.

    The trace opens in ui.perfetto.dev (or chrome://tracing) and in TensorBoard's profile plugin
    (torch-tb-profiler); `key_averages.txt` beside it lists the most expensive operators.
    """

    def __init__(self, folder: Path, steps: int = 5, wait: int = 2, warmup: int = 1) -> None:
        self.folder = Path(folder)
        self.steps, self.wait, self.warmup = steps, wait, warmup
        self.prof: Any = None
        self.traces: list[Path] = []

    def on_run_start(self, state: RunState, resumed: bool) -> None:
        import torch
        from torch.profiler import ProfilerActivity, profile, schedule

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
        self.prof = profile(activities=activities, record_shapes=True, on_trace_ready=self._ready,
                            schedule=schedule(wait=self.wait, warmup=self.warmup, active=self.steps, repeat=1))
        self.prof.start()

    def on_batch(self, global_step: int) -> None:
        if self.prof is not None:
            self.prof.step()
            if self.prof.step_num >= self.wait + self.warmup + self.steps:
                self._stop()

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        self._stop()  # the first task had fewer steps than asked: keep what was recorded

    def on_run_end(self, result: dict[str, Any]) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.prof is not None:
            prof, self.prof = self.prof, None
            prof.stop()

    def _ready(self, prof: Any) -> None:
        from torch.profiler import tensorboard_trace_handler

        self.folder.mkdir(parents=True, exist_ok=True)
        before = set(self.folder.glob("*.pt.trace.json"))
        tensorboard_trace_handler(str(self.folder), worker_name="clsweep")(prof)
        self.traces = sorted(set(self.folder.glob("*.pt.trace.json")) - before)
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
        (self.folder / "key_averages.txt").write_text(table + "\n", encoding="utf-8")
        for trace in self.traces:
            print(f"profile: {trace} (open in ui.perfetto.dev, or `tensorboard --logdir {self.folder.parent}` "
                  "with torch-tb-profiler)", file=sys.stderr)

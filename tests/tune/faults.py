"""Observers that inject faults or check concurrency inside Ray workers (importable there via PYTHONPATH)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from clsweep.training.callbacks import Callback, StepInfo


class CrashOnce(Callback):
    """Kills the worker process in the middle of the third task, the first time only."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        with (self.marker.parent / "starts.txt").open("a") as f:
            f.write(f"{position}\n")

    def on_step(self, info: StepInfo) -> None:
        if info.position == 2 and not self.marker.exists():
            self.marker.write_text("crashed")
            time.sleep(1.0)  # the boundary after task 2 was reported a whole task ago; be generous anyway
            os._exit(1)


class Barrier(Callback):
    """Each trial waits at its first task until all four have arrived: only concurrent trials pass."""

    def __init__(self, folder: Path, n: int) -> None:
        self.folder, self.n = folder, n

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        if position:
            return
        (self.folder / f"{os.getpid()}-{time.monotonic_ns()}").touch()
        deadline = time.monotonic() + 60
        while len(list(self.folder.iterdir())) < self.n:
            if time.monotonic() > deadline:
                raise TimeoutError("trials did not run concurrently")
            time.sleep(0.1)


class OomOnce(Callback):
    """The first trial to reach its second task runs 'out of CUDA memory' there (torch's own error type)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        if position != 1:
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # one winner among concurrent trials
        except FileExistsError:
            return
        os.close(fd)
        import torch

        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB.")


class NodeMarker(Callback):
    """Leaves `<node id>-<pid>-<trial id>-<position>` in `folder` as each task starts: where trials run."""

    def __init__(self, folder: Path, pause_s: float = 0.0) -> None:
        self.folder, self.pause_s = folder, pause_s

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        import ray
        from ray import tune

        node, trial = ray.get_runtime_context().get_node_id(), tune.get_context().get_trial_id()
        (self.folder / f"{node}-{os.getpid()}-{trial}-{position}").touch()

    def on_batch(self, global_step: int) -> None:
        time.sleep(self.pause_s)  # long enough trials that the node can be pulled from under one


class RecordWorker(Callback):
    """Writes which worker process ran each run: reused actors show up as one pid for several trials."""

    def __init__(self, folder: Path, run_index: int) -> None:
        self.folder, self.run_index = folder, run_index

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        if position == 0:
            (self.folder / f"{time.monotonic_ns()}").write_text(f"{os.getpid()}")


class RecordTask(Callback):
    """Leaves one file per task trained, so a test counts task-trainings across workers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        (self.folder / f"{position}-{task}-{os.getpid()}-{time.monotonic_ns()}").touch()

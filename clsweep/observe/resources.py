"""Resources per task and phase: wall and CPU time, process RSS, and (on an NVIDIA GPU) NVML samples.

Phases come from the trainer (train, after_task, eval, checkpoint). CPU figures are read at phase
boundaries only; the NVML thread runs only when the run uses a CUDA device and NVML answers, so a CPU run
records why there is no GPU figure once and pays nothing for it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from clsweep.io import write_json_atomic
from clsweep.observe.gpu import MIB, NvmlSampler, Stats, nvml_handle, torch_device_index
from clsweep.training.callbacks import Callback
from clsweep.training.state import RunState

INITIAL = "<initial>"  # the key of the evaluation before training


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def rss_mib() -> float:
    """Resident memory now: /proc on Linux (psutil's import alone costs ~0.1 s of a trial), psutil elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB
    except OSError:
        import psutil

        return float(psutil.Process().memory_info().rss) / MIB


class ResourceMonitor(Callback):
    """Observes phases; `summary()` is the `resources` block of result.json, `task_summary()` one task's part.

    `no_gpu` names why the GPU is not watched (e.g. "device is cpu"); None means: try NVML.
    `path`, when given, keeps finished tasks' figures on disk so a resumed run reports every task.
    """

    def __init__(self, no_gpu: str | None = None, interval_s: float = 0.5, device_index: int | None = None,
                 path: Path | None = None) -> None:
        self.reason = no_gpu
        self.interval_s = interval_s
        self.device_index = device_index
        self.path = path
        self.sampler: NvmlSampler | None = None
        self.tasks: dict[str, dict[str, dict[str, Any]]] = {}
        self._gpu: dict[str, dict[str, Stats]] = {}
        self._started = False
        self._t0 = (0.0, 0.0)

    # ------------------------------------------------------------------------------------ lifecycle
    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.reason is not None:
            return
        got = nvml_handle(torch_device_index() if self.device_index is None else self.device_index)
        if isinstance(got, str):
            self.reason = got
            return
        self.sampler = NvmlSampler(got[0], got[1], self.interval_s)
        self.sampler.start()

    def on_run_start(self, state: RunState, resumed: bool) -> None:
        self._start()
        if resumed and self.path is not None and self.path.is_file():
            done = json.loads(self.path.read_text()).get("tasks", {})
            finished = {INITIAL, *state.order[: state.completed]}
            self.tasks = {t: v for t, v in done.items() if t in finished} | self.tasks

    def on_run_end(self, result: dict[str, Any]) -> None:
        self.stop()

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()

    # --------------------------------------------------------------------------------------- phases
    def on_phase_start(self, task: str | None, phase: str) -> None:
        self._start()
        if self.sampler is not None:
            self.sampler.key = (task or INITIAL, phase)
            if _cuda():
                import torch

                torch.cuda.reset_peak_memory_stats()
        self._t0 = (time.perf_counter(), time.process_time())

    def on_phase_end(self, task: str | None, phase: str, seconds: float) -> None:
        cpu = time.process_time() - self._t0[1]
        key = task or INITIAL
        entry: dict[str, Any] = {"wall_s": seconds, "cpu_s": cpu, "cpu_util": cpu / max(seconds, 1e-9),
                                 "rss_mib": rss_mib(), "rss_peak_mib": peak_rss_mib()}
        if self.sampler is not None:
            self.sampler.key = None
            stats = self.sampler.take((key, phase))
            self._gpu.setdefault(key, {})[phase] = stats
            entry["gpu"] = stats.summary()
            if _cuda():
                import torch

                # This process's own peak from the allocator, exact even between NVML samples.
                entry["gpu"]["torch_peak_allocated_mib"] = torch.cuda.max_memory_allocated() / MIB
        phases = self.tasks.setdefault(key, {})
        phases.pop("all", None)  # re-added last, after the phases it totals
        phases[phase] = entry
        phases["all"] = self._total(key)

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        if self.path is not None:
            write_json_atomic(self.path, self.summary(), durable=False)  # rewritten at every boundary

    # -------------------------------------------------------------------------------------- summary
    def _total(self, task: str) -> dict[str, Any]:
        phases = [v for k, v in self.tasks[task].items() if k != "all"]
        wall, cpu = sum(p["wall_s"] for p in phases), sum(p["cpu_s"] for p in phases)
        out: dict[str, Any] = {"wall_s": wall, "cpu_s": cpu, "cpu_util": cpu / max(wall, 1e-9),
                               "rss_peak_mib": max(p["rss_peak_mib"] for p in phases)}
        if task in self._gpu:
            total = Stats()
            for s in self._gpu[task].values():
                total.merge(s)
            out["gpu"] = total.summary()
        return out

    def gpu_header(self) -> dict[str, Any]:
        if self.sampler is None:
            return {"available": False, "reason": self.reason or "not started"}
        s = self.sampler
        return {"available": True, "device": s.name, "memory_total_mib": s.total_mib, "interval_s": s.interval_s,
                "memory_source": s.memory_source, "samples": sum(x.samples for x in s.stats.values())}

    def task_summary(self, task: str) -> dict[str, Any]:
        return self.tasks.get(task, {})

    def summary(self) -> dict[str, Any]:
        return {"gpu": self.gpu_header(), "process": {"cpu_s": time.process_time(), "rss_peak_mib": peak_rss_mib()},
                "tasks": self.tasks}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_initialized()

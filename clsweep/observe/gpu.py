"""NVML sampling of this process's GPU memory and the device's utilisation, in a background thread.

Samples are attributed per process: the memory of the compute processes whose pid is ours (NVML's
per-process accounting), so concurrent trials sharing one GPU each see their own footprint. Where NVML
cannot see our pid (a container's pid namespace), torch's reserved memory stands in and the summary says so.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

MIB = 2**20


def nvml_handle(device_index: int) -> tuple[Any, Any] | str:
    """(pynvml module, handle) or the reason there is none (no library, no driver, no GPU)."""
    try:
        import pynvml
    except ImportError:
        return "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
        return pynvml, pynvml.nvmlDeviceGetHandleByIndex(device_index)
    except Exception as e:  # NVMLError has many subclasses; any of them means: no GPU to watch
        return f"NVML unavailable: {e}"


def torch_device_index() -> int:
    # NVML numbers all GPUs; CUDA_VISIBLE_DEVICES (set by Ray per trial) renumbers them for torch.
    try:
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda._get_nvml_device_index(torch.cuda.current_device()))
    except Exception:
        pass
    return 0


@dataclass
class Stats:
    """Running count / sum / max of the samples of one (task, phase), so memory stays bounded."""

    samples: int = 0
    mem_sum: float = 0.0
    mem_max: float = 0.0
    util_sum: float = 0.0
    device_mem_max: float = 0.0
    proc_util_sum: float = 0.0
    proc_util_n: int = 0

    def add(self, mem: float, util: float, device_mem: float, proc_util: float | None) -> None:
        self.samples += 1
        self.mem_sum += mem
        self.mem_max = max(self.mem_max, mem)
        self.util_sum += util
        self.device_mem_max = max(self.device_mem_max, device_mem)
        if proc_util is not None:
            self.proc_util_sum += proc_util
            self.proc_util_n += 1

    def merge(self, other: Stats) -> None:
        for f in ("samples", "mem_sum", "util_sum", "proc_util_sum", "proc_util_n"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.mem_max = max(self.mem_max, other.mem_max)
        self.device_mem_max = max(self.device_mem_max, other.device_mem_max)

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {"samples": 0}
        out = {"samples": self.samples, "memory_peak_mib": self.mem_max, "memory_mean_mib": self.mem_sum / self.samples,
               "util_mean": self.util_sum / self.samples, "device_memory_peak_mib": self.device_mem_max}
        if self.proc_util_n:
            out["process_util_mean"] = self.proc_util_sum / self.proc_util_n
        return out


class NvmlSampler:
    """Samples every `interval_s` into the Stats of the current key (None: between phases, not sampled)."""

    def __init__(self, nvml: Any, handle: Any, interval_s: float, pid: int | None = None) -> None:
        self.nvml, self.handle, self.interval_s = nvml, handle, interval_s
        self.pid = os.getpid() if pid is None else pid
        self.name = str(nvml.nvmlDeviceGetName(handle))
        self.total_mib = nvml.nvmlDeviceGetMemoryInfo(handle).total / MIB
        self.key: Hashable | None = None
        self.stats: dict[Hashable, Stats] = {}
        self.memory_source = "nvml-process"
        self._last_ts = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="clsweep-nvml")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sample()
            except Exception:  # the driver went away: stop sampling, never fail the run
                return

    def sample(self) -> None:
        key = self.key
        if key is None:
            return
        util = float(self.nvml.nvmlDeviceGetUtilizationRates(self.handle).gpu)
        device_mem = self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used / MIB
        mem = self._process_memory()
        proc_util = self._process_util()
        with self._lock:
            self.stats.setdefault(key, Stats()).add(mem, util, device_mem, proc_util)

    def _process_memory(self) -> float:
        try:
            procs = self.nvml.nvmlDeviceGetComputeRunningProcesses(self.handle)
            mine = [p.usedGpuMemory for p in procs if p.pid == self.pid and p.usedGpuMemory is not None]
        except Exception:
            mine = []
        if mine:
            return float(sum(mine)) / MIB
        self.memory_source = "torch-reserved"  # excludes the CUDA context (a few hundred MiB)
        import torch

        return float(torch.cuda.memory_reserved()) / MIB if torch.cuda.is_available() else 0.0

    def _process_util(self) -> float | None:
        """Mean SM utilisation of our pid since the last sample; None where the GPU does not report it."""
        try:
            got = self.nvml.nvmlDeviceGetProcessUtilization(self.handle, self._last_ts)
        except Exception:
            return None
        mine = [s for s in got if s.pid == self.pid]
        if got:
            self._last_ts = max(int(s.timeStamp) for s in got)
        return sum(float(s.smUtil) for s in mine) / len(mine) if mine else None

    def take(self, key: Hashable) -> Stats:
        with self._lock:
            return self.stats.get(key, Stats())

"""GPU utilisation and memory during a run, sampled with NVML in a background thread, summarised per task."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from clsweep.training.callbacks import Callback
from clsweep.training.state import RunState


def _nvml_handle(device_index: int) -> tuple[Any, Any] | str:
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


def _torch_device_index() -> int:
    # NVML numbers all GPUs; CUDA_VISIBLE_DEVICES (set by Ray per trial) renumbers them for torch.
    try:
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda._get_nvml_device_index(torch.cuda.current_device()))
    except Exception:
        pass
    return 0


class GpuMonitor(Callback):
    """Samples every `interval_s` while the run trains; `summary()` gives per-task means and peaks."""

    def __init__(self, interval_s: float = 0.5, device_index: int | None = None) -> None:
        self.interval_s = interval_s
        self.device_index = _torch_device_index() if device_index is None else device_index
        self.samples: list[tuple[str, float, float]] = []  # (task, utilisation %, used MiB)
        self.reason: str | None = None
        self.task = "setup"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._name = ""
        self._total_mib = 0.0
        self.peaks: dict[str, float] = {}

    def on_run_start(self, state: RunState, resumed: bool) -> None:
        got = _nvml_handle(self.device_index)
        if isinstance(got, str):
            self.reason = got
            return
        nvml, handle = got
        self._name = str(nvml.nvmlDeviceGetName(handle))
        self._total_mib = nvml.nvmlDeviceGetMemoryInfo(handle).total / 2**20
        self._thread = threading.Thread(target=self._loop, args=(nvml, handle), daemon=True, name="clsweep-gpu")
        self._thread.start()

    def _loop(self, nvml: Any, handle: Any) -> None:
        while not self._stop.is_set():
            try:
                util = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                used = nvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20
            except Exception:
                break
            self.samples.append((self.task, util, used))
            self._stop.wait(self.interval_s)

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        self.task = task
        if self._cuda():
            import torch

            torch.cuda.reset_peak_memory_stats()

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        self.task = "eval"
        if self._cuda():
            import torch

            # This process's own peak (NVML's figure includes other trials sharing the card).
            self.peaks[task] = torch.cuda.max_memory_allocated() / 2**20

    def _cuda(self) -> bool:
        import torch

        return self._thread is not None and torch.cuda.is_available()

    def on_run_end(self, result: dict[str, Any]) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def summary(self) -> dict[str, Any]:
        if self.reason is not None:
            return {"available": False, "reason": self.reason}
        out: dict[str, Any] = {"available": True, "device": self._name, "memory_total_mib": self._total_mib,
                               "samples": len(self.samples), "per_task": {}}
        for task in dict.fromkeys(t for t, _, _ in self.samples):
            util = [u for t, u, _ in self.samples if t == task]
            mem = [m for t, _, m in self.samples if t == task]
            out["per_task"][task] = {"util_mean": sum(util) / len(util), "util_max": max(util),
                                     "memory_used_max_mib": max(mem)}
            if task in self.peaks:
                out["per_task"][task]["torch_peak_allocated_mib"] = self.peaks[task]
        if self.samples:
            out["util_mean"] = sum(u for _, u, _ in self.samples) / len(self.samples)
            out["memory_used_max_mib"] = max(m for _, _, m in self.samples)
        return out

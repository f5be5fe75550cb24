"""A scriptable fake NVML module (pynvml's functions that clsweep calls), for tests without a GPU."""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeGpu:
    """What the fake NVML answers; tests change the fields between samples."""

    util: float = 50.0
    used: int = 3 * 2**30  # whole device, every process
    total: int = 8 * 2**30
    processes: dict[int, int | None] = field(default_factory=dict)  # pid -> bytes (None: not reported)
    sm_util: dict[int, float] = field(default_factory=dict)  # pid -> SM %, for process utilisation
    init_error: str | None = None

    def module(self) -> types.ModuleType:
        mod = types.ModuleType("pynvml")
        gpu = self

        def init() -> None:
            if gpu.init_error:
                raise RuntimeError(gpu.init_error)

        def procs(handle: Any) -> list[Any]:
            return [types.SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in gpu.processes.items()]

        def proc_util(handle: Any, since: int) -> list[Any]:
            return [types.SimpleNamespace(pid=p, smUtil=u, timeStamp=since + 1) for p, u in gpu.sm_util.items()]

        mod.nvmlInit = init  # type: ignore[attr-defined]
        mod.nvmlDeviceGetHandleByIndex = lambda i: f"gpu{i}"  # type: ignore[attr-defined]
        mod.nvmlDeviceGetName = lambda h: "Fake GPU"  # type: ignore[attr-defined]
        mod.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=gpu.total, used=gpu.used)  # type: ignore[attr-defined]
        mod.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=gpu.util)  # type: ignore[attr-defined]
        mod.nvmlDeviceGetComputeRunningProcesses = procs  # type: ignore[attr-defined]
        mod.nvmlDeviceGetProcessUtilization = proc_util  # type: ignore[attr-defined]
        return mod

"""The NVML monitor: per-task utilisation and memory from a fake NVML; a clear reason when there is no GPU."""

from __future__ import annotations

import sys
import time
import types
from typing import Any

import pytest

from clsweep.observe.gpu import GpuMonitor
from clsweep.training.state import RunState


def _fake_nvml(util: list[float]) -> types.ModuleType:
    mod = types.ModuleType("pynvml")
    calls = {"n": 0}

    def rates(handle: Any) -> Any:
        calls["n"] += 1
        return types.SimpleNamespace(gpu=util[min(calls["n"] - 1, len(util) - 1)])

    mod.nvmlInit = lambda: None  # type: ignore[attr-defined]
    mod.nvmlDeviceGetHandleByIndex = lambda i: f"gpu{i}"  # type: ignore[attr-defined]
    mod.nvmlDeviceGetName = lambda h: "Fake GPU"  # type: ignore[attr-defined]
    mod.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=8 * 2**30, used=2**30)  # type: ignore[attr-defined]
    mod.nvmlDeviceGetUtilizationRates = rates  # type: ignore[attr-defined]
    return mod


def test_samples_are_attributed_to_the_task_being_trained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml([50.0]))
    mon = GpuMonitor(interval_s=0.01, device_index=0)
    mon.on_run_start(RunState(order=["a", "b"]), resumed=False)
    mon.on_task_start(0, "a", 10)
    time.sleep(0.1)
    mon.on_task_start(1, "b", 10)
    time.sleep(0.1)
    mon.stop()
    s = mon.summary()
    assert s["available"] and s["device"] == "Fake GPU" and s["memory_total_mib"] == 8192
    assert {"a", "b"} <= set(s["per_task"])
    assert s["per_task"]["a"]["util_mean"] == 50.0 and s["per_task"]["b"]["memory_used_max_mib"] == 1024
    assert s["samples"] >= 4


def test_no_gpu_gives_a_reason_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    mod = _fake_nvml([0.0])

    def fail() -> None:
        raise RuntimeError("NVML Shared Library Not Found")

    mod.nvmlInit = fail  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    mon = GpuMonitor(device_index=0)
    mon.on_run_start(RunState(order=["a"]), resumed=False)
    mon.on_run_end({})
    s = mon.summary()
    assert s == {"available": False, "reason": "NVML unavailable: NVML Shared Library Not Found"}

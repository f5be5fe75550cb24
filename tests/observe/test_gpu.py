"""NVML sampling with a fake NVML: per-process attribution, per task/phase summaries, no GPU at no cost."""

from __future__ import annotations

import os
import time

import pytest
from fake_nvml import FakeGpu

from clsweep.observe.gpu import MIB, NvmlSampler, nvml_handle
from clsweep.observe.resources import INITIAL, ResourceMonitor
from clsweep.training.state import RunState

ME, OTHER = os.getpid(), os.getpid() + 1


def sampler(gpu: FakeGpu) -> NvmlSampler:
    got = nvml_handle(0)
    assert not isinstance(got, str)
    return NvmlSampler(got[0], got[1], interval_s=60)


def test_memory_is_this_process_not_the_device(fake_gpu: FakeGpu) -> None:
    s = sampler(fake_gpu)
    s.key = ("a", "train")
    for mine, util in ((100, 20.0), (300, 60.0), (200, 40.0)):
        # Another trial on the same card holds 5 GiB; the device total counts both.
        fake_gpu.processes = {OTHER: 5 * 2**30, ME: mine * MIB}
        fake_gpu.used = 5 * 2**30 + mine * MIB
        fake_gpu.util = util
        fake_gpu.sm_util = {ME: util / 2, OTHER: 90.0}
        s.sample()
    got = s.take(("a", "train")).summary()
    assert got == {"samples": 3, "memory_peak_mib": 300.0, "memory_mean_mib": 200.0, "util_mean": 40.0,
                   "device_memory_peak_mib": 5 * 1024 + 300.0, "process_util_mean": 20.0}
    assert s.memory_source == "nvml-process"
    assert s.name == "Fake GPU" and s.total_mib == 8192


def test_samples_go_to_the_current_key_and_none_between_phases(fake_gpu: FakeGpu) -> None:
    s = sampler(fake_gpu)
    fake_gpu.processes = {ME: 2**30}
    s.sample()  # key None: between phases, not counted
    s.key = ("a", "eval")
    s.sample()
    s.key = ("b", "train")
    s.sample()
    s.sample()
    assert [s.take(k).samples for k in (("a", "eval"), ("b", "train"), ("a", "train"))] == [1, 2, 0]


def test_pid_unknown_to_nvml_falls_back_to_torch_and_says_so(fake_gpu: FakeGpu) -> None:
    fake_gpu.processes = {OTHER: 2**30, ME: None}  # a container: NVML lists host pids only
    s = sampler(fake_gpu)
    s.key = ("a", "train")
    s.sample()
    assert s.memory_source == "torch-reserved"
    assert s.take(("a", "train")).summary()["memory_peak_mib"] == 0.0  # no CUDA in this process
    assert "process_util_mean" not in s.take(("a", "train")).summary()


def test_monitor_summarises_per_task_and_phase(fake_gpu: FakeGpu, tmp_path: object) -> None:
    fake_gpu.processes = {ME: 512 * MIB}
    mon = ResourceMonitor(None, interval_s=60, device_index=0)
    mon.on_phase_start(None, "eval")  # the row before training comes before on_run_start
    assert mon.sampler is not None
    mon.sampler.sample()
    mon.on_phase_end(None, "eval", 0.5)
    mon.on_run_start(RunState(order=["a"]), resumed=False)
    for phase, mib in (("train", 1024), ("eval", 256)):
        mon.on_phase_start("a", phase)
        fake_gpu.processes = {ME: mib * MIB}
        mon.sampler.sample()
        mon.sampler.sample()
        mon.on_phase_end("a", phase, 2.0)
    mon.on_run_end({})
    out = mon.summary()
    assert out["gpu"] == {"available": True, "device": "Fake GPU", "memory_total_mib": 8192.0, "interval_s": 60,
                          "memory_source": "nvml-process", "samples": 5}
    a = out["tasks"]["a"]
    assert list(a) == ["train", "eval", "all"]
    assert a["train"]["gpu"]["memory_peak_mib"] == 1024 and a["eval"]["gpu"]["memory_mean_mib"] == 256
    assert a["all"]["gpu"]["samples"] == 4 and a["all"]["gpu"]["memory_mean_mib"] == (1024 + 256) / 2
    assert a["all"]["wall_s"] == 4.0 and a["train"]["cpu_s"] >= 0 and a["train"]["rss_peak_mib"] > 0
    assert out["tasks"][INITIAL]["eval"]["gpu"]["memory_peak_mib"] == 512


def test_the_thread_samples_while_a_phase_runs(fake_gpu: FakeGpu) -> None:
    fake_gpu.processes = {ME: 2**30}
    mon = ResourceMonitor(None, interval_s=0.01, device_index=0)
    mon.on_phase_start("a", "train")
    time.sleep(0.2)
    mon.on_phase_end("a", "train", 0.2)
    mon.stop()
    assert mon.tasks["a"]["train"]["gpu"]["samples"] >= 3
    assert mon.sampler is not None and not mon.sampler._thread.is_alive()  # type: ignore[union-attr]


@pytest.mark.parametrize("reason", [None, "no GPU: the run uses the cpu device"])
def test_no_gpu_is_recorded_once_and_starts_nothing(fake_gpu: FakeGpu, reason: str | None) -> None:
    fake_gpu.init_error = "NVML Shared Library Not Found"
    mon = ResourceMonitor(reason, device_index=0)
    mon.on_run_start(RunState(order=["a"]), resumed=False)
    mon.on_phase_start("a", "train")
    mon.on_phase_end("a", "train", 1.0)
    mon.on_run_end({})
    assert mon.sampler is None
    expected = reason or "NVML unavailable: NVML Shared Library Not Found"
    assert mon.summary()["gpu"] == {"available": False, "reason": expected}
    assert "gpu" not in mon.tasks["a"]["train"] and mon.tasks["a"]["train"]["wall_s"] == 1.0

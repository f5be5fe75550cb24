"""Measurement overhead: the same continual run with every observer on, and with all of them off.

Variants, alternating and repeated (median over repeats):
  off     observe.resources, observe.misclassified and run.tensorboard all off
  on      the defaults: CPU/RSS per phase, misclassified JSONL (20 per task and stage), TensorBoard
  on+gpu  `on` plus the NVML sampling thread, fed by a fake NVML (this machine has no GPU) every
          --gpu-interval seconds, so the thread's cost is in the figure
Each run is a whole trial in a fresh Python process, as a Ray trial is: imports, cached data, model, the
6-task synthetic suite at the settings of search_spaces/ewc.yaml (fine-tuning), 7 evaluation stages,
checkpoints. Prints the median wall and CPU seconds of the child processes, their ratios to `off`, and
the paired ratios per repeat (the variants alternate, first place rotating, so a load spike or drift hits
them alike). On a shared machine the CPU seconds are the steadier figure: other processes' load moves
wall time, not this process's own work.

    HF_HUB_OFFLINE=1 python benchmarks/bench_observe.py [--repeats 5] [--threads 1] [--gpu-interval 0.5]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any
from unittest import mock

SUITE = ("topic", "sentiment", "pair", "intent", "ner", "register")


def _raw(cache: str, threads: int) -> dict[str, Any]:
    src = {"kind": "synthetic", "train_size": 640, "dev_size": 200, "test_size": 200, "seed": 0}
    tasks: dict[str, Any] = {t: {"source": {"task": t}} for t in SUITE}
    tasks["pair"]["text_pair_column"] = "text_pair"
    tasks["ner"]["type"] = "token"
    return {
        "tasklist": {"defaults": {"source": src}, "tasks": tasks},
        "model": {"backbone": "tiny", "max_length": 48},
        "train": {"lr": 2e-3, "epochs": 3, "batch_size": 16, "warmup_ratio": 0.05, "device": "cpu",
                  "num_threads": threads},
        "eval": {"misclassified": 20},
        "run": {"cache_dir": cache},
    }


def _fake_nvml() -> types.ModuleType:
    """Answers like a GPU in use by this process; each call costs a Python call, as pynvml's ctypes do."""
    ns = types.SimpleNamespace
    mod = types.ModuleType("pynvml")
    mod.nvmlInit = lambda: None  # type: ignore[attr-defined]
    mod.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    mod.nvmlDeviceGetName = lambda h: "fake"  # type: ignore[attr-defined]
    mod.nvmlDeviceGetMemoryInfo = lambda h: ns(total=2**34, used=2**30)  # type: ignore[attr-defined]
    mod.nvmlDeviceGetUtilizationRates = lambda h: ns(gpu=50)  # type: ignore[attr-defined]
    mod.nvmlDeviceGetComputeRunningProcesses = lambda h: [ns(pid=os.getpid(), usedGpuMemory=2**30)]  # type: ignore[attr-defined]
    mod.nvmlDeviceGetProcessUtilization = lambda h, t: [ns(pid=os.getpid(), smUtil=40, timeStamp=t + 1)]  # type: ignore[attr-defined]
    return mod


def child(raw_file: str, out: str, gpu_interval: float) -> None:
    """One trial, in this (fresh) process."""
    from clsweep.config import ExperimentConfig
    from clsweep.observe.resources import ResourceMonitor
    from clsweep.training import run as run_module
    from clsweep.training.run import run_experiment

    cfg = ExperimentConfig.model_validate(json.loads(Path(raw_file).read_text()))
    if gpu_interval <= 0:
        result = run_experiment(cfg, Path(out), progress=False, log=lambda m: None)
    else:
        monitor = lambda no_gpu, interval_s, path: ResourceMonitor(None, gpu_interval, 0, path)  # noqa: E731
        with mock.patch.dict(sys.modules, {"pynvml": _fake_nvml()}), \
                mock.patch.object(run_module, "ResourceMonitor", monitor):
            result = run_experiment(cfg, Path(out), progress=False, log=lambda m: None)
        assert result["resources"]["gpu"]["samples"] > 0
    tm = result["timings"]
    phases = {k: sum(t[f"{k}_s"] for t in tm["tasks"].values()) for k in ("train", "eval", "checkpoint")}
    phases["eval"] += tm["initial_eval_s"]
    print(json.dumps({"run_experiment": tm["total_s"], **phases}))


PARTS: dict[str, list[dict[str, float]]] = {}  # variant -> the child's own phase totals, per repeat


def one_run(raw_file: Path, out: Path, gpu_interval: float, name: str = "") -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(raw_file), str(out), str(gpu_interval)],
                          check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    PARTS.setdefault(name, []).append(json.loads(done.stdout.strip().splitlines()[-1]))
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--gpu-interval", type=float, default=0.5)
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.child:
        child(args.child[0], args.child[1], float(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        on = _raw(str(root / "cache"), args.threads)
        off = copy.deepcopy(on)
        off["observe"] = {"resources": False, "misclassified": False}
        off["run"]["tensorboard"] = False
        for name, raw in (("on", on), ("off", off)):
            (root / f"{name}.json").write_text(json.dumps(raw))
        variants = {"off": ("off", 0.0), "on": ("on", 0.0), "on+gpu": ("on", args.gpu_interval)}
        one_run(root / "off.json", root / "warm", 0.0)  # tokenization cache, file system cache
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
        names = list(variants)
        for i in range(args.repeats):
            # Rotate who goes first, so a drift in the machine's load does not favour one variant.
            for name in names[i % 3 :] + names[: i % 3]:
                raw_name, gpu = variants[name]
                times[name].append(one_run(root / f"{raw_name}.json", root / f"{name}-{i}", gpu, name))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    base_wall, base_cpu = med["off"]
    print(f"| variant | wall s (median of {args.repeats}) | wall vs off | CPU s | CPU vs off |")
    print("|---|---|---|---|---|")
    for k, (w, c) in med.items():
        print(f"| {k} | {w:.2f} | {w / base_wall:.3f}x | {c:.2f} | {c / base_cpu:.3f}x |")
    print("\nInside the run (median seconds; the rest of a child's wall time is start-up, imports and exit):")
    print("| variant | run_experiment | train | eval | checkpoint |")
    print("|---|---|---|---|---|")
    for k in variants:
        med_parts = {p: statistics.median(r[p] for r in PARTS[k]) for p in PARTS[k][0]}
        print(f"| {k} | " + " | ".join(f"{v:.2f}" for v in med_parts.values()) + " |")
    for k in ("on", "on+gpu"):
        for j, what in ((0, "wall"), (1, "CPU")):
            paired = [a[j] / b[j] for a, b in zip(times[k], times["off"], strict=True)]
            print(f"paired {what} ratio {k}/off per repeat: {', '.join(f'{r:.3f}' for r in paired)} "
                  f"(median {statistics.median(paired):.3f})")
    sys.path.insert(0, str(Path(__file__).parent))
    from common import save

    save("observe", {
        "goal": "measurement costs < 3% of a trial's time", "repeats": args.repeats,
        "median_wall_s": {k: w for k, (w, _) in med.items()}, "median_cpu_s": {k: c for k, (_, c) in med.items()},
        "ratio_wall": {k: w / base_wall for k, (w, _) in med.items()},
        "paired_wall_ratio": {k: statistics.median(a[0] / b[0] for a, b in zip(times[k], times["off"], strict=True))
                              for k in ("on", "on+gpu")},
        "inside": {k: {p: statistics.median(r[p] for r in PARTS[k]) for p in PARTS[k][0]} for k in variants}},
        args.out)


if __name__ == "__main__":
    main()

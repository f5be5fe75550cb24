"""GPU packing: task-trainings per hour when 1, 2 or 4 trials share one GPU (Ray fractions 1, 0.5, 0.25).

Ray's GPU fractions are bookkeeping only (no isolation, REFERENCE.md): a trial at 0.25 is a worker
process sharing the card with three others. This script does exactly that without Ray, so it runs on a
bare GPU machine: for each fraction f it starts k = 1/f `clsweep train` processes at once on the same
GPU and times them until the last one finishes. Each trial learns the same T synthetic tasks (its own
seed). Throughput counts task-trainings (T per trial) per hour of wall time, from process start (as a
fresh Ray worker pays) and from the trials' own in-process time. Per-trial GPU memory and utilisation
come from the trials' NVML samples in result.json (clsweep's ResourceMonitor).

    HF_HUB_OFFLINE=1 python benchmarks/bench_gpu_packing.py [--models tiny base] [--fractions 1 0.5 0.25]
        [--tasks 4] [--train-size 1000] [--device cuda] [--precision bf16]

`--device cpu` runs the same steps on a CPU machine (a dry run of the script itself, not a figure).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import clsweep, experiment, save


def _write(raw: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(raw))  # JSON is YAML: the CLI reads it as an experiment file
    return path


def _gpu_figures(result: dict[str, Any]) -> dict[str, Any]:
    """Peak memory and mean utilisation over the trial's sampled phases."""
    res = result.get("resources", {})
    peaks, utils, means = [], [], []
    for phases in res.get("tasks", {}).values():
        for phase in phases.values():
            g = phase.get("gpu") or {}
            if g.get("samples"):
                peaks.append(g["memory_peak_mib"])
                means.append(g["memory_mean_mib"])
                utils.append(g["util_mean"])
    header = res.get("gpu", {})
    return {"memory_peak_mib": max(peaks, default=None), "memory_mean_mib": statistics.fmean(means) if means else None,
            "util_mean": statistics.fmean(utils) if utils else None, "memory_source": header.get("memory_source"),
            "gpu": header.get("device") or header.get("reason")}


def pack(exp: Path, k: int, root: Path, threads: int) -> dict[str, Any]:
    """k trials at once; wall time until the last one ends, and each trial's own figures."""
    t0 = time.perf_counter()
    procs = [clsweep("train", str(exp), "--out", str(root / f"k{k}-{i}"), "--quiet", "--set", f"train.seed={i}",
                     "--set", f"train.num_threads={threads}") for i in range(k)]
    logs = [p.communicate()[0] for p in procs]
    wall = time.perf_counter() - t0
    trials = []
    for i, (p, log) in enumerate(zip(procs, logs, strict=True)):
        if p.returncode != 0:
            raise RuntimeError(f"trial {i} of {k} failed:\n{log[-3000:]}")
        result = json.loads((root / f"k{k}-{i}" / "result.json").read_text())
        tm = result["timings"]
        trials.append({"total_s": tm["total_s"], "run_s": tm["run_s"], "eval_share": tm["eval_share"],
                       "steps_per_s": statistics.fmean(t["steps_per_s"] for t in tm["tasks"].values()),
                       "acc": result["metrics"]["acc"], **_gpu_figures(result)})
    return {"k": k, "wall_s": wall, "trials": trials}


def bench_model(model: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    raw = experiment(args.tasks, root / "cache", model=model, device=args.device, threads=None,
                     train_size=args.train_size, epochs=args.epochs, precision=args.precision)
    raw["observe"] = {"gpu_interval_s": 0.2}
    exp = _write(raw, root / f"{model}.json")
    warm = clsweep("validate", "--data", str(exp))  # tokenization cache, so no trial pays for it
    print(warm.communicate()[0].strip().splitlines()[-1])
    pack(exp, 1, root / f"{model}-warm", 4)  # the first CUDA process of a model pays one-off costs: not timed
    rows = []
    for frac in args.fractions:
        k = round(1 / frac)
        threads = max(1, (os.cpu_count() or 2) // k // 2)
        r = pack(exp, k, root / model, threads)
        task_trainings = k * args.tasks
        r.update(fraction=frac, threads=threads,
                 per_hour=task_trainings * 3600 / r["wall_s"],
                 per_hour_in_process=task_trainings * 3600 / max(t["total_s"] for t in r["trials"]))
        rows.append(r)
        peak = max((t["memory_peak_mib"] or 0) for t in r["trials"])
        print(f"{model} fraction {frac}: {k} trials in {r['wall_s']:.1f} s, {r['per_hour']:.0f} task-trainings/h, "
              f"peak {peak:.0f} MiB per trial", flush=True)
    base = rows[0]["per_hour"]
    for r in rows:
        r["speedup"] = r["per_hour"] / base
    return {"model": model, "settings": {k: raw["train"][k] for k in ("batch_size", "epochs", "precision")}
            | {"tasks": args.tasks, "train_size": args.train_size, "max_length": raw["model"]["max_length"]},
            "rows": rows}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", nargs="+", default=["tiny", "base"], choices=["tiny", "base"])
    p.add_argument("--fractions", nargs="+", type=float, default=[1.0, 0.5, 0.25])
    p.add_argument("--tasks", type=int, default=4)
    p.add_argument("--train-size", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--precision", default="bf16", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--keep", type=Path, help="copy every trial's result.json into this folder")
    p.add_argument("--out", type=Path, help="JSON path (default: benchmarks/results/gpu_packing.json)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        models = [bench_model(m, args, root) for m in args.models]
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for f in root.glob("*/k*-*/result.json"):
                (args.keep / f"{f.parent.parent.name}-{f.parent.name}.json").write_text(f.read_text())
    save("gpu_packing", {"goal": "throughput at fraction 0.25 >= 3x fraction 1 for small models",
                         "device": args.device, "models": models}, args.out)


if __name__ == "__main__":
    main()

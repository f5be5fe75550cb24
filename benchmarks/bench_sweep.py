"""Sweep efficiency: K trials through `clsweep run`, fresh workers against reused ones, beside plain processes.

Three ways to run the same K trials (a fine-tuning run of the 6-task synthetic suite each, seeds 0..K-1,
1 CPU per trial), side by side in one sitting, in the order A B C C B A (alternated, medians reported):
  pool     the runs as plain `clsweep train` processes, as many at once as there are cores: the ideal
           without Ray (each process pays its own imports, as a fresh worker does)
  fresh    `clsweep run --set run.reuse_workers=false`: a fresh Ray worker per trial (before issue 16)
  reused   `clsweep run`: each worker runs trial after trial (the default)
Sweep efficiency = the trials' own in-process time (result.json timings) / (cores x wall).
Per-trial overhead = cores x (sweep wall - end-of-sweep analysis - pool wall) / K: what a trial costs in a
sweep beyond a plain process running it. The end-of-sweep analysis is timed once, by `clsweep analyze`.

    HF_HUB_OFFLINE=1 python benchmarks/bench_sweep.py [--trials 6] [--train-size 3000] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import clsweep, experiment, save

SIDES = ("pool", "fresh", "reused")


def _wait(procs: list[Any]) -> None:
    for p in procs:
        out = p.communicate()[0]
        if p.returncode != 0:
            raise RuntimeError(out[-3000:])


def _in_trial_s(folder: Path) -> float:
    return sum(json.loads(f.read_text())["timings"]["total_s"] for f in folder.rglob("result.json")
               if "checkpoint" not in str(f))


def pool(exp: Path, out: Path, k: int, cores: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    for start in range(0, k, cores):
        _wait([clsweep("train", str(exp), "--quiet", "--seed", str(i), "--out", str(out / f"run-{i}"))
               for i in range(start, min(k, start + cores))])
    return time.perf_counter() - t0, _in_trial_s(out)


def sweep(exp: Path, storage: Path, name: str, reuse: bool) -> tuple[float, float]:
    t0 = time.perf_counter()
    _wait([clsweep("run", str(exp), "--set", f"run.name={name}", "--set", f"run.reuse_workers={str(reuse).lower()}")])
    return time.perf_counter() - t0, _in_trial_s(storage / name)


def side_by_side(exp: Path, root: Path, k: int, cores: int, repeats: int) -> dict[str, list[dict[str, float]]]:
    order = [*SIDES, *reversed(SIDES)] * ((repeats + 1) // 2)
    seen = dict.fromkeys(SIDES, 0)
    out: dict[str, list[dict[str, float]]] = {s: [] for s in SIDES}
    for side in order:
        if seen[side] == repeats:
            continue
        seen[side] += 1
        name = f"{side}-{seen[side]}"
        if side == "pool":
            wall, in_trial = pool(exp, root / "pool" / name, k, cores)
        else:
            wall, in_trial = sweep(exp, root / "runs", name, reuse=side == "reused")
        out[side].append({"wall_s": wall, "in_trial_s": in_trial})
        print(f"{name}: {wall:.1f} s wall, {in_trial:.1f} s in trials", flush=True)
    return out


def analysis_s(root: Path) -> float:
    t0 = time.perf_counter()
    _wait([clsweep("analyze", str(root / "runs" / "reused-1"), "--out", str(root / "analysis"))])
    return time.perf_counter() - t0


def summary(runs: dict[str, list[dict[str, float]]], analysis: float, k: int, cores: int) -> dict[str, Any]:
    med = {s: {key: statistics.median(r[key] for r in runs[s]) for key in ("wall_s", "in_trial_s")} for s in SIDES}
    row: dict[str, Any] = {"sides": med, "runs": runs, "analysis_s": analysis}
    for s in SIDES:
        wall = med[s]["wall_s"] - (analysis if s != "pool" else 0.0)
        row[f"efficiency_{s}"] = med[s]["in_trial_s"] / (cores * wall)
        if s != "pool":
            row[f"overhead_per_trial_{s}_s"] = cores * (wall - med["pool"]["wall_s"]) / k
    row["speedup_reused_vs_fresh"] = med["fresh"]["wall_s"] / med["reused"]["wall_s"]
    return row


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=6)
    p.add_argument("--train-size", type=int, default=3000)
    p.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    k, cores = args.trials, args.cores
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw = experiment(6, root / "cache", train_size=args.train_size)
        raw["search"] = {"seeds": list(range(k))}
        raw["resources"] = {"cpu": 1, "gpu": 0}
        raw["run"].update(storage_path=str(root / "runs"), max_concurrent_trials=cores)
        exp = root / "bench.yaml"
        exp.write_text(json.dumps(raw))
        _wait([clsweep("validate", "--data", str(exp))])  # tokenization cache: no side pays for it
        runs = side_by_side(exp, root, k, cores, args.repeats)
        row = summary(runs, analysis_s(root), k, cores)
        shutil.rmtree(root / "runs", ignore_errors=True)
    row.update(trials=k, cores=cores, train_size=args.train_size, repeats=args.repeats)
    print(f"{k} trials, {cores} cores: pool {row['sides']['pool']['wall_s']:.0f} s, fresh workers "
          f"{row['sides']['fresh']['wall_s']:.0f} s (efficiency {row['efficiency_fresh']:.2f}, "
          f"{row['overhead_per_trial_fresh_s']:+.1f} s per trial), reused {row['sides']['reused']['wall_s']:.0f} s "
          f"(efficiency {row['efficiency_reused']:.2f}, {row['overhead_per_trial_reused_s']:+.1f} s per trial)")
    save("sweep", {"goal": "per-trial overhead <= 1 s over a plain process; sweep efficiency >= 0.95", **row},
         args.out)


if __name__ == "__main__":
    main()

"""Sweep efficiency: K trials through `clsweep run` on this machine against the same K runs done singly.

Three ways to do the same K trials (a one-minute fine-tuning run each, seeds 0..K-1, 1 CPU per trial):
  single   each run alone, one after another: `clsweep train` in a fresh process (the sum is the work)
  pool     the runs as plain processes, as many at once as there are cores (the ideal without Ray)
  sweep    `clsweep run` on a local Ray: Ray start, a fresh worker per trial, task-boundary reports and
           checkpoints, results, and the end-of-sweep analysis (figures, report.html; timed apart by
           running `clsweep analyze` on the same folder afterwards)
Parallel efficiency = sum(single) / (cores x wall). Ray's per-trial overhead = (cores x sweep wall -
analysis - cores x pool wall) / K: what the sweep costs beyond running the same processes side by side.

    HF_HUB_OFFLINE=1 python benchmarks/bench_sweep.py [--trials 4] [--train-size 6000] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import clsweep, experiment, save


def _wait(procs: list[Any]) -> None:
    for p in procs:
        out = p.communicate()[0]
        if p.returncode != 0:
            raise RuntimeError(out[-3000:])


def singles(exp: Path, root: Path, k: int) -> list[float]:
    walls = []
    for i in range(k):
        t0 = time.perf_counter()
        _wait([clsweep("train", str(exp), "--quiet", "--seed", str(i), "--out", str(root / f"single-{i}"))])
        walls.append(time.perf_counter() - t0)
    return walls


def pool(exp: Path, root: Path, k: int, cores: int) -> float:
    t0 = time.perf_counter()
    for start in range(0, k, cores):
        _wait([clsweep("train", str(exp), "--quiet", "--seed", str(i), "--out", str(root / f"pool-{i}"))
               for i in range(start, min(k, start + cores))])
    return time.perf_counter() - t0


def sweep(exp: Path, root: Path) -> tuple[float, float, list[float]]:
    t0 = time.perf_counter()
    _wait([clsweep("run", str(exp))])
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()  # the same analysis `clsweep run` does after the last trial, timed on its own
    _wait([clsweep("analyze", str(root / "runs" / "bench"), "--out", str(root / "analysis"))])
    runs = [json.loads(f.read_text())["timings"]["total_s"] for f in (root / "runs" / "bench").rglob("result.json")]
    return wall, time.perf_counter() - t1, runs


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--train-size", type=int, default=6000)
    p.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    k, cores = args.trials, args.cores
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw = experiment(6, root / "cache", train_size=args.train_size)
        raw["search"] = {"seeds": list(range(k))}
        raw["resources"] = {"cpu": 1, "gpu": 0}
        raw["run"].update(name="bench", storage_path=str(root / "runs"))
        exp = root / "bench.yaml"
        exp.write_text(json.dumps(raw))
        _wait([clsweep("validate", "--data", str(exp))])  # tokenization cache: no side pays for it
        single = singles(exp, root, k)
        pooled = pool(exp, root, k, cores)
        wall, summary_s, in_trial = sweep(exp, root)
    work = sum(single)
    row: dict[str, Any] = {
        "trials": k, "cores": cores, "train_size": args.train_size, "single_s": single, "single_sum_s": work,
        "pool_wall_s": pooled, "sweep_wall_s": wall, "analysis_s": summary_s,
        "sweep_trial_in_process_s": in_trial,
        "efficiency_pool": work / (cores * pooled), "efficiency_sweep": work / (cores * wall),
        "efficiency_sweep_without_analysis": work / (cores * (wall - summary_s)),
        "ray_overhead_per_trial_s": cores * (wall - summary_s - pooled) / k,
    }
    print(f"{k} trials of ~{work / k:.0f} s: single total {work:.0f} s, pool {pooled:.0f} s "
          f"(efficiency {row['efficiency_pool']:.0%}), clsweep run {wall:.0f} s "
          f"(efficiency {row['efficiency_sweep']:.0%}); Ray costs {row['ray_overhead_per_trial_s']:.1f} s per trial")
    save("sweep", {"goal": "parallel efficiency >= 0.90 for one-minute trials", **row}, args.out)


if __name__ == "__main__":
    main()

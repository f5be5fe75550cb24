"""Cost of a trial as the sequence grows: time per trial and its split between training and evaluation.

R costs T+1 full evaluation stages (every task, dev and test, before training and after each task), so
evaluation grows as T^2 while training grows as T. For each T this runs one whole trial in-process at
two settings and reads the trial's own phase timings from result.json:
  defaults   clsweep's defaults (1 epoch, batch 16, eval batch 128) on the synthetic suite (640 train,
             200 dev, 200 test per task), every observer on: what `clsweep train` does out of the box
  study      search_spaces/ewc.yaml's training settings (3 epochs, lr 2e-3, warm-up 5%)
The "eval share" goal (<= 25%) is read at T = 5 with the defaults.

    HF_HUB_OFFLINE=1 python benchmarks/bench_cost.py [--tasks 2 4 5 8] [--threads 1] [--repeats 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import experiment, save

from clsweep.config import ExperimentConfig
from clsweep.training.run import run_experiment

SETTINGS: dict[str, dict[str, Any]] = {
    "defaults": {"epochs": 1},
    "study": {"epochs": 3},
}


def one_trial(n: int, setting: str, cache: Path, out: Path, threads: int) -> dict[str, Any]:
    raw = experiment(n, cache, threads=threads, **SETTINGS[setting])
    if setting == "defaults":  # clsweep's own training defaults, not the study's
        for key in ("lr", "warmup_ratio"):
            raw["train"].pop(key)
    result = run_experiment(ExperimentConfig.model_validate(raw), out, progress=False, log=lambda m: None)
    tm = result["timings"]
    per = tm["tasks"].values()
    train = sum(t["train_s"] for t in per)
    evals = tm.get("initial_eval_s", 0.0) + sum(t["eval_s"] for t in per)
    other = sum(t.get("after_task_s", 0.0) + t.get("checkpoint_s", 0.0) for t in per)
    return {"tasks": n, "setting": setting, "total_s": tm["total_s"], "data_s": tm["data_s"],
            "setup_s": tm["setup_s"], "train_s": train, "eval_s": evals, "other_s": other,
            "eval_share": tm["eval_share"], "steps": sum(t["steps"] for t in per)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tasks", type=int, nargs="+", default=[2, 4, 5, 8])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one_trial(2, "defaults", root / "cache", root / "warm", args.threads)  # imports, caches
        for setting in SETTINGS:
            for n in args.tasks:
                runs = [one_trial(n, setting, root / "cache", root / f"{setting}-{n}-{r}", args.threads)
                        for r in range(args.repeats)]
                row = {k: statistics.median(r[k] for r in runs) if isinstance(v, float) else v
                       for k, v in runs[0].items()}
                rows.append(row)
                print(f"{setting:8s} T={n}: {row['total_s']:.1f} s per trial, train {row['train_s']:.1f} s, "
                      f"eval {row['eval_s']:.1f} s, eval share {row['eval_share']:.0%}", flush=True)
    goal = next(r for r in rows if r["setting"] == "defaults" and r["tasks"] == 5)["eval_share"] \
        if 5 in args.tasks else None
    save("cost", {"goal": "eval share <= 0.25 at T = 5, default settings", "eval_share_T5": goal,
                  "threads": args.threads, "rows": rows}, args.out)


if __name__ == "__main__":
    main()

"""What `eval.cells: needed` saves: one trial at T = 5 and T = 15 (pp15's length), full R against needed cells.

Both sides run the same trial in-process (fine-tuning, clsweep's training defaults, the synthetic suite:
640 train, 200 dev, 200 test per task), alternating full/needed per repeat; the figures are the trial's
own phase timings from result.json, medians over the repeats. The metrics of both sides are compared
and must be identical.

    HF_HUB_OFFLINE=1 python benchmarks/bench_eval_cells.py [--tasks 5 15] [--repeats 3] [--threads 1]
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


def one_trial(n: int, cells: str, cache: Path, out: Path, threads: int) -> dict[str, Any]:
    raw = experiment(n, cache, threads=threads, epochs=1, observe=False)
    raw["eval"] = {"cells": cells}
    result = run_experiment(ExperimentConfig.model_validate(raw), out, progress=False, log=lambda m: None)
    t = result["timings"]
    evals = t.get("initial_eval_s", 0.0) + sum(x["eval_s"] for x in t["tasks"].values())
    return {"run_s": t["run_s"], "eval_s": evals, "metrics": result["metrics"], "metrics_dev": result["metrics_dev"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, nargs="+", default=[5, 15])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        for n in args.tasks:
            one_trial(n, "needed", cache, Path(tmp) / f"warm{n}", args.threads)  # tokenize once, warm up
            got: dict[str, list[dict[str, Any]]] = {"full": [], "needed": []}
            for r in range(args.repeats):
                sides = ("full", "needed") if r % 2 == 0 else ("needed", "full")  # alternate: drift hits both
                for cells in sides:
                    got[cells].append(one_trial(n, cells, cache, Path(tmp) / f"{n}-{cells}-{r}", args.threads))
            same = all(a["metrics"] == b["metrics"] and a["metrics_dev"] == b["metrics_dev"]
                       for a, b in zip(got["full"], got["needed"], strict=True))
            med = {c: {k: statistics.median(x[k] for x in v) for k in ("run_s", "eval_s")} for c, v in got.items()}
            stages = n + 1
            rows.append({"tasks": n, "cells_full": stages * n, "cells_needed": (n - 1) + sum(
                min(s + 1, n) for s in range(1, n + 1)), "full": med["full"], "needed": med["needed"],
                "eval_saving": 1 - med["needed"]["eval_s"] / med["full"]["eval_s"],
                "trial_speedup": med["full"]["run_s"] / med["needed"]["run_s"], "metrics_identical": same,
                "repeats": args.repeats})
            print(rows[-1], flush=True)
    save("eval_cells", {"threads": args.threads, "rows": rows})


if __name__ == "__main__":
    main()

"""A study costs less than the sum of its runs: the sweep before issue 16 against today's, side by side.

  before  `clsweep run ... --set run.share_prefixes=false --set run.reuse_workers=false`: every run trains
          all its tasks, in a fresh Ray worker per trial
  after   `clsweep run ...` with the defaults: shared prefixes trained once (the ordering trie), workers reused
Both sides run the same study in one sitting; their result matrices must be identical, run by run. For
each study the sides alternate (the first study before -> after, the next after -> before). Sweep
efficiency = the trials' own time (Tune's time_total_s) / (cores x wall), wall including Ray's start and
the end-of-sweep analysis.

    HF_HUB_OFFLINE=1 python benchmarks/bench_share.py [--studies ewc,orders_all]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import clsweep, save

ROOT = Path(__file__).resolve().parents[1]
SIDES = {"before": ["run.share_prefixes=false", "run.reuse_workers=false"], "after": []}
MATRICES = ("matrix", "matrix_dev", "initial", "initial_dev")


def _run(*args: str) -> str:
    p = clsweep(*args)
    out = p.communicate()[0]
    if p.returncode != 0:
        raise RuntimeError(out[-3000:])
    return out


def _matrices(exp: Path) -> dict[str, dict[str, Any]]:
    return {str(f.parent.relative_to(exp)): {k: json.loads(f.read_text())[k] for k in MATRICES}
            for f in exp.glob("*/run-*/result.json")}


def _in_trial_s(exp: Path) -> float:
    """Tune's time_total_s of every trial (from its trainable's start to its last report), summed."""
    total = 0.0
    for f in exp.glob("*/progress.csv"):
        with f.open() as fh:
            rows = list(csv.DictReader(fh))
        total += float(rows[-1]["time_total_s"]) if rows else 0.0
    return total


def side(study: str, name: str, storage: Path, cores: int, extra: list[str]) -> dict[str, Any]:
    settings = [*SIDES[name], *extra, f"run.name={study}-{name}", f"run.storage_path={storage}"]
    sets = [x for s in settings for x in ("--set", s)]
    t0 = time.perf_counter()
    out = _run("run", str(ROOT / "search_spaces" / f"{study}.yaml"), *sets)
    wall = time.perf_counter() - t0
    exp = storage / f"{study}-{name}"
    in_trial = _in_trial_s(exp)
    print(f"{study} {name}: {wall:.0f} s, in trials {in_trial:.0f} s (efficiency {in_trial / (cores * wall):.2f})",
          flush=True)
    print(out[-2500:], flush=True)  # the sweep's own summary and verdict
    return {"wall_s": wall, "in_trial_s": in_trial, "efficiency": in_trial / (cores * wall),
            "matrices": _matrices(exp)}


def trie_line(study: str) -> str:
    out = _run("run", str(ROOT / "search_spaces" / f"{study}.yaml"), "--dry-run")
    return next(line for line in out.splitlines() if line.startswith("ordering trie"))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--studies", default="ewc,orders_all")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    p.add_argument("--set", action="append", default=[], help="override for both sides (a smoke test)")
    p.add_argument("--out", type=Path)
    p.add_argument("--storage", type=Path, help="keep the sweeps here (default: a temporary folder)")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = args.storage or Path(tmp_dir)
        for i, study in enumerate(args.studies.split(",")):
            order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
            got = {name: side(study, name, tmp, args.cores, args.set) for name in order}
            same = got["before"]["matrices"] == got["after"]["matrices"]
            rows.append({"study": study, "order": order, "trie": trie_line(study),
                         "runs": len(got["after"]["matrices"]), "before_s": got["before"]["wall_s"],
                         "after_s": got["after"]["wall_s"], "efficiency_before": got["before"]["efficiency"],
                         "efficiency_after": got["after"]["efficiency"],
                         "speedup": got["before"]["wall_s"] / got["after"]["wall_s"], "identical": same})
            print(f"{study}: {rows[-1]['speedup']:.2f}x, identical matrices: {same}", flush=True)
    save("share", {"goal": "ewc >= 1.5x, orders_all >= 1.4x, identical matrices", "rows": rows}, args.out)


if __name__ == "__main__":
    main()

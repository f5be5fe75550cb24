"""Data preparation: the first trial of a sweep (empty tokenization cache) against the second (cache hit).

Each measurement is a fresh Python process, as a trial worker is, timing `clsweep.tasks.task.prepare_tasks`
(every task loaded, validated, tokenized and its statistics computed, or read back from the cache) and
nothing else; loading the tokenizer, which every trial needs whatever its data, is timed apart.
Two inputs: the built-in synthetic suite (6 tasks, 640/200/200) and a local CSV task of --rows rows,
the shape of a real text-classification dataset. Repeated with a fresh cache each time; medians.

    HF_HUB_OFFLINE=1 python benchmarks/bench_data.py [--rows 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import experiment, save

CHILD = """
import json, sys, time
from clsweep.config import ExperimentConfig
from clsweep.models.backbone import load_tokenizer
from clsweep.tasks.task import prepare_tasks
cfg = ExperimentConfig.model_validate(json.loads(open(sys.argv[1]).read()))
t0 = time.perf_counter()
tok = load_tokenizer(cfg.model)  # every trial needs it (and its imports), data or not: timed apart
t1 = time.perf_counter()
prepare_tasks(cfg, tok, log=lambda m: None)
print(json.dumps({"prepare_s": time.perf_counter() - t1, "tokenizer_s": t1 - t0}))
"""


def _csv_task(folder: Path, rows: int) -> dict[str, Any]:
    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)]
    for split, n in (("train", rows), ("validation", rows // 10), ("test", rows // 10)):
        with (folder / f"{split}.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text", "label"])
            for _ in range(n):
                w.writerow([" ".join(rng.choices(words, k=rng.randint(5, 60))), rng.choice(["a", "b", "c", "d"])])
    files = {"train": "train.csv", "dev": "validation.csv", "test": "test.csv"}
    return {"news": {"source": {"kind": "files", **{k: str(folder / v) for k, v in files.items()}}}}


def _time(raw: dict[str, Any], path: Path) -> float:
    path.write_text(json.dumps(raw))
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True,
                          env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    return float(json.loads(done.stdout.strip().splitlines()[-1])["prepare_s"])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "csv").mkdir()
        inputs = {"synthetic suite (6 tasks)": None, f"local CSV ({args.rows} train rows)": _csv_task(root / "csv",
                                                                                                      args.rows)}
        for name, tasks in inputs.items():
            first, second = [], []
            for r in range(args.repeats):
                raw = experiment(6, root / f"cache-{name[:5]}-{r}")
                if tasks is not None:
                    raw["tasklist"] = {"tasks": tasks}
                first.append(_time(raw, root / "exp.json"))
                second.append(_time(raw, root / "exp.json"))
            first_s, second_s = statistics.median(first), statistics.median(second)
            row = {"input": name, "first_s": first_s, "second_s": second_s, "first_all": first, "second_all": second,
                   "ratio": second_s / first_s}
            rows.append(row)
            print(f"{name}: first {row['first_s']:.2f} s, second {row['second_s']:.3f} s ({row['ratio']:.1%})")
    save("data", {"goal": "second trial's data preparation <= 5% of the first", "rows": rows}, args.out)


if __name__ == "__main__":
    main()

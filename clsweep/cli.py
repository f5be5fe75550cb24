"""The `clsweep` command line: validate configs, train one run, sweep on Ray Tune, analyze results."""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError, Sources
from clsweep.loading import apply_cli_overrides, load_raw, read_tasklist, read_yaml, validate
from clsweep.preflight import check_writable, inside, local_capacity
from clsweep.sweep.resources import trial_resources
from clsweep.training.faults import FAULT_FILE, RunFault

EXIT_BAD_INPUT = 2
EXIT_RUN_FAULT = 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="clsweep", description="Continual-learning sweeps for NLP.")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check experiment or tasklist YAML files")
    v.add_argument("files", nargs="+", type=Path)
    v.add_argument("--data", action="store_true", help="also load and tokenize the data (checks columns, labels)")
    v.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    t = sub.add_parser("train", help="one continual run (no Ray)")
    t.add_argument("experiment", type=Path)
    t.add_argument("--order", help="comma-separated task names (default: the config's order)")
    t.add_argument("--seed", type=int)
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted override, e.g. --set train.lr=1e-4 (repeatable)")
    t.add_argument("--out", type=Path,
                   help="run folder (default: <run.storage_path>/<name>/<approach>-seed<N>-<time>)")
    t.add_argument("--resume", type=Path, metavar="DIR", help="continue the run in DIR from its last task checkpoint")
    t.add_argument("--quiet", action="store_true", help="no per-step progress lines")
    t.add_argument("--profile", type=int, nargs="?", const=5, default=None, metavar="STEPS",
                   help="torch.profiler over STEPS training steps (default 5) -> <run folder>/profile")
    r = sub.add_parser("run", help="a sweep on Ray Tune over the `search:` section")
    r.add_argument("experiment", type=Path)
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument("--resume", action="store_true", help="continue an interrupted sweep (errored trials too)")
    r.add_argument("--address", help="attach to a running Ray cluster (default: $RAY_ADDRESS, else a local Ray)")
    r.add_argument("--dashboard", action="store_true", help="start the Ray dashboard on 127.0.0.1 and print its URL")
    r.add_argument("--dry-run", action="store_true", help="print the trial plan; start nothing")
    f = sub.add_parser("fetch", help="download a tasklist's hub datasets into DIR for offline use (data_dir)")
    f.add_argument("file", type=Path, help="a tasklist or experiment YAML")
    f.add_argument("--data-dir", type=Path, required=True, metavar="DIR",
                   help="writes DIR/<task>/<hub split>.parquet; later runs read it with --set tasklist.data_dir=DIR")
    f.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    a = sub.add_parser("analyze", help="statistics, CSV tables, figures and an HTML report of the runs below DIR...")
    a.add_argument("dirs", nargs="+", metavar="DIR",
                   help="sweep folders, folders of `clsweep train` runs, result.json files or quoted globs")
    a.add_argument("--out", type=Path, help="where to write (default: DIR when there is one DIR)")
    a.add_argument("--select-on", default="acc_dev", metavar="COLUMN",
                   help="the dev column every ranking and per-approach choice reads (default acc_dev; e.g. "
                        "forgetting_dev: least forgetting first); never a test column")
    return p


def _load(path: Path, overrides: Sequence[str], options: dict[str, str] | None = None
          ) -> tuple[ExperimentConfig, Sources]:
    raw, sources = load_raw(path, overrides, options)
    return validate(raw, sources), sources


def _train_overrides(args: argparse.Namespace) -> list[str]:
    extra = list(args.overrides)
    if args.order:
        extra.append("order=[" + ",".join(s.strip() for s in args.order.split(",")) + "]")
    if args.seed is not None:
        extra.append(f"train.seed={args.seed}")
    return extra


def _train_options(args: argparse.Namespace) -> dict[str, str]:
    """The options behind the overrides `_train_overrides` adds, so their mistakes are blamed on them."""
    return {k: opt for k, opt, given in (("order", "--order", args.order), ("train.seed", "--seed", args.seed))
            if given is not None}


def _out_dir(args: argparse.Namespace, cfg: ExperimentConfig) -> tuple[Path, str]:
    """The run folder and the option or key that chose it (for error messages)."""
    if args.resume:
        return Path(args.resume), "--resume"
    if args.out:
        return Path(args.out), "--out"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    exp = inside(Path(cfg.run.storage_path), cfg.run.name or args.experiment.stem, str(args.experiment))
    return exp / f"{cfg.approach.name}-seed{cfg.train.seed}-{stamp}", "run.storage_path"


def _preflight(cfg: ExperimentConfig, file: str, out: Path, key: str) -> None:
    """What would fail later, found before anything is written: the device, output and cache folders."""
    from clsweep.tasks.cache import default_cache_dir
    from clsweep.training.run import check_device

    check_device(cfg, file)
    if "://" not in str(out):
        check_writable(out, file, key)
    check_writable(default_cache_dir(cfg.run.cache_dir), file, "run.cache_dir")


def cmd_train(args: argparse.Namespace) -> int:
    cfg, sources = _load(args.experiment, _train_overrides(args), _train_options(args))
    out, key = _out_dir(args, cfg)
    _preflight(cfg, str(args.experiment), out, key)
    if args.resume and not (out / "config.json").is_file():
        raise ConfigError.one(str(out), "--resume", "not a clsweep run folder (no config.json)")
    if not args.resume and (out / "config.json").exists():
        raise ConfigError.one(str(out), "--out",
                              "already holds a run; pass --resume to continue it or pick another --out")
    if args.resume and (out / "result.json").is_file():
        print(f"run in {out} is already complete; nothing to do", file=sys.stderr)
        return 0
    from clsweep.training.run import run_experiment  # torch and friends load only when training

    result = run_experiment(cfg, out, resume=bool(args.resume), sources=sources, callbacks=_profiler(args, out),
                            log=lambda m: print(m, file=sys.stderr), progress=not args.quiet)
    _print_summary(result, out)
    _plot_run(result, out)
    return 0


def _profiler(args: argparse.Namespace, out: Path) -> list[Any]:
    if args.profile is None:
        return []
    if args.profile < 1:
        raise ConfigError.one("<command line>", "--profile", f"needs at least 1 step, got {args.profile}")
    from clsweep.observe.profile import ProfilerCallback, pyspy_hint

    print(pyspy_hint(out), file=sys.stderr)
    return [ProfilerCallback(out / "profile", steps=args.profile)]


def _plot_run(result: dict[str, Any], out: Path) -> None:
    try:
        from clsweep.analysis.plots import plot_matrix  # pandas and matplotlib load only once a run is done

        print(f"wrote {plot_matrix(result, out / 'matrix.png')}")
    except Exception as err:  # the run is complete and saved; a missing picture must not fail it
        print(f"warning: no matrix plot: {type(err).__name__}: {err}", file=sys.stderr)


def _print_summary(result: dict[str, Any], out: Path) -> None:
    m = result["metrics"]
    fmt = {k: ("n/a" if v is None else f"{v:.4f}") for k, v in m.items()}
    print(f"{result['approach']} on {' -> '.join(result['order'])} ({result['eval_split']}): "
          + ", ".join(f"{k}={v}" for k, v in fmt.items()))
    print(f"wrote {out / 'result.json'} in {result['timings']['total_s']:.1f}s")
    print(_measures_line(result))


def _measures_line(result: dict[str, Any]) -> str:
    """Where the time went and what the GPU did, in one line (the details are in result.json and tb/)."""
    tm, per = result["timings"], result["timings"]["tasks"].values()
    train_s = sum(t["train_s"] for t in per)
    steps, tokens = sum(t["steps"] for t in per), sum(t["tokens"] for t in per)
    gpu = result.get("gpu", {})
    peaks = [p["all"]["gpu"].get("memory_peak_mib", 0.0) for p in result.get("resources", {}).get("tasks", {}).values()
             if "gpu" in p.get("all", {})]
    gpu_text = (f"GPU {gpu.get('device')}: peak {max(peaks, default=0.0):.0f} MiB" if gpu.get("available")
                else f"GPU: {gpu.get('reason', 'not measured')}")
    return (f"time: data {tm['data_s']:.1f}s, train {train_s:.1f}s ({steps / max(train_s, 1e-9):.1f} steps/s, "
            f"{tokens / max(train_s, 1e-9):.0f} tokens/s), evaluation {tm['eval_share']:.0%} of the run; {gpu_text}")


def cmd_run(args: argparse.Namespace) -> int:
    from clsweep.sweep.plan import make_plan

    cfg, sources = _load(args.experiment, args.overrides)
    plan = make_plan(cfg, str(args.experiment))
    if args.dry_run:
        print(plan.describe())
        if plan.algorithm != "optuna":
            from clsweep.sweep.trie import build_trie

            sharing = cfg.run.share_prefixes and cfg.search.scheduler == "fifo"
            print(build_trie(plan.trials, cfg.approach.name, cfg.eval.cells).describe(sharing))
        return 0
    file, name = str(args.experiment), cfg.run.name or args.experiment.stem
    _preflight(cfg, file, inside(Path(cfg.run.storage_path), name, file), "run.storage_path")
    if not (args.address or os.environ.get("RAY_ADDRESS")):
        # A fresh local Ray has this machine only: refuse what it cannot run before starting it.
        trial_resources(cfg.resources, local_capacity(), file)
    from clsweep.tune.launcher import SweepOptions, run_sweep  # the only path that imports ray

    opts = SweepOptions(name=name, file=file, resume=args.resume,
                        address=args.address, dashboard=args.dashboard)
    return run_sweep(cfg, plan, sources, opts)


def cmd_analyze(args: argparse.Namespace) -> int:
    missing = [d for d in args.dirs if not glob.has_magic(d) and not Path(d).exists()]
    if missing:
        print(f"error: {', '.join(missing)}: no such folder or file", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = args.out or (Path(args.dirs[0]) if len(args.dirs) == 1 and Path(args.dirs[0]).is_dir() else None)
    if out is None:
        print("error: several folders, a file or a glob to analyse: say where to write with --out DIR", file=sys.stderr)
        return EXIT_BAD_INPUT
    from clsweep.analysis.aggregate import check_select_on
    from clsweep.analysis.report import analyze  # pandas and matplotlib load only when analysing

    try:
        check_select_on(args.select_on)
    except ValueError as e:
        print(f"error: --select-on: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with warnings.catch_warnings(record=True) as caught:  # skipped files: one line each, not a warning dump
        warnings.simplefilter("always")
        study, text = analyze(args.dirs, out, warn=lambda m: print(f"warning: {m}", file=sys.stderr),
                              select_on=args.select_on)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if not len(study):
        print(f"error: {', '.join(args.dirs)}: no finished runs (no readable result.json)", file=sys.stderr)
        for line in text.splitlines()[1:]:  # the runs that faulted instead, if any
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    print(text)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    failed: list[ConfigError] = []
    for path in args.files:
        try:
            _validate_one(path, args.overrides, args.data)
            print(f"{path}: ok")
        except ConfigError as e:
            failed.append(e)
            print(f"error: {e}", file=sys.stderr)
    return EXIT_BAD_INPUT if failed else 0


def _load_any(path: Path, overrides: Sequence[str], options: dict[str, str] | None = None
              ) -> tuple[ExperimentConfig, Sources]:
    """An experiment YAML, or a tasklist on its own checked inside a default experiment."""
    raw = read_yaml(path)
    if isinstance(raw, dict) and ("tasks" in raw or "extends" in raw) and "tasklist" not in raw:
        exp: dict[str, Any] = {"tasklist": read_tasklist(path)}
        blamed = apply_cli_overrides(exp, overrides, options)  # keys under tasklist., as for an experiment
        cfg = validate(exp, Sources(str(path.with_suffix(".experiment")), str(path), blamed), path.parent)
        return cfg, Sources(str(path), str(path), blamed)
    return _load(path, overrides, options)


def cmd_fetch(args: argparse.Namespace) -> int:
    cfg, sources = _load_any(args.file, [*args.overrides, f"tasklist.data_dir={args.data_dir.resolve()}"],
                             {"tasklist.data_dir": "--data-dir"})
    from clsweep.tasks.fetch import fetch_hub_data  # datasets loads only here

    written = fetch_hub_data(cfg, sources, log=lambda m: print(m, file=sys.stderr))
    print(f"wrote {len(written)} file(s) under {args.data_dir}; offline: HF_DATASETS_OFFLINE=1 "
          f"clsweep train EXP --set tasklist.data_dir={args.data_dir}")
    return 0


def _validate_one(path: Path, overrides: Sequence[str], data: bool) -> None:
    cfg, sources = _load_any(path, overrides)
    if data:
        from clsweep.training.run import prepare

        prepare(cfg, sources, log=lambda m: print(m, file=sys.stderr))


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = _parser().parse_args(argv)
    try:
        commands = {"train": cmd_train, "validate": cmd_validate, "run": cmd_run, "analyze": cmd_analyze,
                    "fetch": cmd_fetch}
        return int(commands[args.command](args))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RunFault as e:  # a diverged or out-of-memory run: the reason, not a traceback
        print(f"error: the run stopped: {e}\n(recorded in {FAULT_FILE}; finished tasks keep their checkpoints)",
              file=sys.stderr)
        return EXIT_RUN_FAULT
    except KeyboardInterrupt:
        print("interrupted; continue with --resume <run folder>", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

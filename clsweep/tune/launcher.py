"""`clsweep run`: start or attach to Ray, prepare data once, run the sweep on Tune, resume, summarise."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.tune.logger import CSVLoggerCallback

from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError, Sources
from clsweep.io import write_json_atomic
from clsweep.preflight import inside
from clsweep.sweep.plan import SweepPlan, safe_name
from clsweep.sweep.prepare import prepare_sweep
from clsweep.sweep.share import prune_prefixes
from clsweep.sweep.trie import build_trie, run_name
from clsweep.tune import resources as res
from clsweep.tune.progress import SweepProgress
from clsweep.tune.trainable import ExtraCallbacks, continual_trial, group_trial, trial_dirname

STATUS_FILE = "sweep.json"


@dataclasses.dataclass
class SweepOptions:
    name: str
    file: str = "<config>"
    resume: bool = False
    address: str | None = None
    dashboard: bool = False
    extra_callbacks: ExtraCallbacks | None = None  # test hook: observers added to every run of every trial
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)


def experiment_dir(cfg: ExperimentConfig, name: str) -> Path:
    return inside(Path(cfg.run.storage_path), name, "<config>")


def plan_fingerprint(cfg: ExperimentConfig) -> str:
    return hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _status(exp: Path) -> dict[str, Any] | None:
    path = exp / STATUS_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def check_state(cfg: ExperimentConfig, exp: Path, opts: SweepOptions) -> bool:
    """True when the sweep is already complete; refuses ambiguous restarts with a clear message."""
    status = _status(exp)
    if status is None:
        if opts.resume:
            raise ConfigError.one(opts.file, "--resume", f"no sweep to resume at {exp}")
        return False
    if status["fingerprint"] != plan_fingerprint(cfg):
        raise ConfigError.one(opts.file, "", f"{exp} holds a sweep with a different config; "
                              "set run.name (or run.storage_path) for a new sweep")
    if status["state"] == "complete":
        return True
    if not opts.resume:
        raise ConfigError.one(opts.file, "", f"an interrupted sweep exists at {exp}; pass --resume to continue it")
    return False


def _init_ray(opts: SweepOptions) -> bool:
    """Start or attach to Ray; False when this process already had Ray up (then we leave it running)."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")  # trials keep the driver's working directory
    # Tune's JSON/TensorBoard loggers would duplicate ours (and its result.json is not a clsweep result);
    # the CSV logger is added back explicitly below so progress.csv still exists.
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    # A snapshot per task boundary is what we want for resumability; don't warn about it.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    env = {k: os.environ[k] for k in ("HF_HUB_OFFLINE", "CLSWEEP_CACHE", "HF_HOME") if k in os.environ}
    env["TOKENIZERS_PARALLELISM"] = "false"
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": False}
    if opts.address is None and not os.environ.get("RAY_ADDRESS"):
        kwargs["include_dashboard"] = opts.dashboard
        if opts.dashboard:
            kwargs["dashboard_host"] = "127.0.0.1"
    ctx = ray.init(address=opts.address, **kwargs)
    if opts.dashboard:
        url = getattr(ctx, "dashboard_url", None) or "127.0.0.1:8265"
        opts.log(f"Ray dashboard: http://{url} (token: ~/.ray/auth_token)")
    return True


def _trial_name(trial: Any) -> str:
    return trial_dirname(trial.config, trial.trial_id)


def _optuna_search(plan: SweepPlan, metric: str, mode: str) -> Any:
    from ray.tune.search.optuna import OptunaSearch

    from clsweep.tune.optuna_space import define_by_run

    return OptunaSearch(space=define_by_run(plan), metric=metric, mode=mode, seed=0)


def _scheduler(cfg: ExperimentConfig, plan: SweepPlan, log: Callable[[str], None]) -> Any:
    if cfg.search.scheduler == "fifo":
        return None
    from ray.tune.schedulers import ASHAScheduler

    if len({r.order for r in plan.runs}) > 1:
        log("warning: ASHA compares trials mid-sequence, where scores of different orderings are not comparable; "
            "ordering sweeps should use scheduler: fifo")
    return ASHAScheduler(time_attr="training_iteration", grace_period=1)


def shared_groups(cfg: ExperimentConfig, plan: SweepPlan) -> list[dict[str, Any]] | None:
    """The plan's trials grouped under their first trie node, or None when sharing is off or saves nothing."""
    # ASHA stops trials on their per-task reports; a shared group reports per finished run, so it runs alone.
    if not cfg.run.share_prefixes or plan.algorithm == "optuna" or cfg.search.scheduler != "fifo":
        return None
    trie = build_trie(plan.trials, cfg.approach.name, cfg.eval.cells)
    if trie.shared == trie.unshared:
        return None
    by_name = {run_name(t, 0): t for t in plan.trials}
    groups = []
    for key, names in trie.groups().items():
        first = trie.nodes[key].prefix[0]
        seed = by_name[names[0]].runs[0].seed
        groups.append({"trial_id": safe_name(f"shared_{first}_seed{seed}_{key[:8]}"),
                       "trials": [_trial_dict(by_name[n]) for n in names]})
    return groups


def build_tuner(cfg: ExperimentConfig, plan: SweepPlan, exp: Path, trial_res: dict[str, float],
                opts: SweepOptions) -> tune.Tuner:
    groups = shared_groups(cfg, plan)
    if groups is not None:
        fn = tune.with_parameters(group_trial, base=cfg.to_dict(), experiment=str(exp), cells=cfg.eval.cells,
                                  extra_callbacks=opts.extra_callbacks)
    else:
        runs = [dataclasses.asdict(r) for r in plan.runs]
        fn = tune.with_parameters(continual_trial, base=cfg.to_dict(), runs=runs, experiment=str(exp),
                                  extra_callbacks=opts.extra_callbacks)
    trainable = tune.with_resources(fn, trial_res)
    if opts.resume:
        return tune.Tuner.restore(str(exp), trainable=trainable, resume_errored=True)
    s = cfg.search
    optuna = plan.algorithm == "optuna"
    if groups is not None:
        param_space = {"group": tune.grid_search(groups)}
    else:
        param_space = {} if optuna else {"trial": tune.grid_search([_trial_dict(t) for t in plan.trials])}
    tune_config = tune.TuneConfig(
        metric=s.metric, mode=s.mode, num_samples=plan.num_samples if optuna else 1,
        search_alg=_optuna_search(plan, s.metric, s.mode) if optuna else None,
        scheduler=_scheduler(cfg, plan, opts.log), max_concurrent_trials=cfg.run.max_concurrent_trials,
        # A worker runs trial after trial: no fresh process (3-5 s of imports) per trial. Safe because
        # each trial writes under its own folder (trainable.trial_dirname) and run_experiment seeds and
        # builds everything per run; tests/tune/test_sweep.py checks both with more trials than workers.
        reuse_actors=cfg.run.reuse_workers, trial_name_creator=_trial_name, trial_dirname_creator=_trial_name,
    )
    run_config = tune.RunConfig(
        name=exp.name, storage_path=str(exp.parent), verbose=0,
        failure_config=tune.FailureConfig(max_failures=cfg.run.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
        callbacks=[SweepProgress(s.metric, s.mode, len(plan)) if groups is None else
                   SweepProgress(s.metric, s.mode, len(groups), runs=len(plan)), CSVLoggerCallback()],
    )
    return tune.Tuner(trainable, param_space=param_space, tune_config=tune_config, run_config=run_config)


def _trial_dict(t: Any) -> dict[str, Any]:
    d = dataclasses.asdict(t)
    d["trial_id"] = t.trial_id
    return d


def trial_faults(grid: Any) -> list[dict[str, str]]:
    """Trials that ended with a recorded fault (NaN loss, out of memory), with their reasons."""
    out = []
    for i in range(len(grid)):
        metrics = grid[i].metrics or {}
        if metrics.get("fault"):
            out.append({"trial": Path(grid[i].path).name, "fault": metrics["fault"], "reason": metrics["fault_reason"]})
    return out


def summarise(exp: Path, cfg: ExperimentConfig, log: Callable[[str], None]) -> None:
    """The end-of-sweep analysis, choosing each approach's configuration on the sweep's own search.metric."""
    from clsweep.analysis.aggregate import SEARCH_METRIC_COLUMNS, SELECT_ON
    from clsweep.analysis.report import sweep_summary

    select_on = SEARCH_METRIC_COLUMNS.get(cfg.search.metric)
    if select_on is None:
        select_on = SELECT_ON
        log(f"note: the runs table has no column for search.metric {cfg.search.metric}; the analysis selects on "
            f"{SELECT_ON} (`clsweep analyze --select-on` picks another dev column)")
    print(sweep_summary(exp, select_on)[1])


def run_sweep(cfg: ExperimentConfig, plan: SweepPlan, sources: Sources | None, opts: SweepOptions) -> int:
    exp = experiment_dir(cfg, opts.name)
    if check_state(cfg, exp, opts):
        opts.log(f"sweep '{opts.name}' at {exp} is already complete; showing its summary (nothing rerun)")
        summarise(exp, cfg, opts.log)
        return 0
    prepare_sweep(cfg, plan, sources, opts.file, opts.log)  # data and length errors stop us before Ray starts
    started = _init_ray(opts)
    try:
        trial_res = res.trial_resources(cfg.resources, res.node_capacity(), opts.file)
        opts.log(res.describe(trial_res, res.node_capacity()))
        state = {"fingerprint": plan_fingerprint(cfg), "state": "running", "trials": len(plan)}
        write_json_atomic(exp / STATUS_FILE, state)
        grid = build_tuner(cfg, plan, exp, trial_res, opts).fit()
        # ResultGrid is indexable but declares no __iter__, so index it (as iterating it would).
        errors = sum(1 for i in range(len(grid)) if grid[i].error is not None)
        faults = trial_faults(grid)
        write_json_atomic(exp / STATUS_FILE, {**state, "state": "complete" if errors == 0 else "errored",
                                              "errored_trials": errors, "faulted_trials": faults})
        if errors == 0:
            prune_prefixes(exp)
        summarise(exp, cfg, opts.log)  # lists the faulted trials with their reasons too
        if errors:
            opts.log(f"{errors} trial(s) failed; `clsweep run ... --resume` retries them")
        return 1 if errors else 0
    finally:
        if started:
            ray.shutdown()

"""The Tune trainable: one trial = one configuration over its runs (an ordering and a seed each).

It takes a plain dict, rebuilds the experiment inside the worker and calls the same Ray-free
`run_experiment` as `clsweep train`. A retried trial resumes from `tune.get_checkpoint()`.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ray import tune

from clsweep.config import ExperimentConfig
from clsweep.io import write_json_atomic
from clsweep.sweep.plan import RunSpec, TrialSpec, sampled_config_id
from clsweep.sweep.share import RunJob, make_jobs, run_group
from clsweep.sweep.space import apply_overrides
from clsweep.training.callbacks import Callback
from clsweep.training.faults import RunFault
from clsweep.training.run import CHECKPOINTS, CONFIG_FILE, RESULT_FILE, run_experiment
from clsweep.tune.reporter import TRIAL_STATE, TuneReporter, final_metrics, mean_over_runs, run_objectives

RESERVED = ("trial",)  # keys of a grid trial's config that are not config overrides
ExtraCallbacks = Callable[[int], Sequence[Callback]]


def trial_overrides(config: dict[str, Any], base_approach: str
                    ) -> tuple[dict[str, Any], list[dict[str, Any]] | None, dict[str, Any]]:
    """(overrides, runs or None, annotations) from a grid trial's {"trial": ...} or Optuna's flat suggestion."""
    if "trial" in config:
        trial = config["trial"]
        return dict(trial["overrides"]), list(trial["runs"]), {"config_id": trial["config_id"]}
    overrides = {k: v for k, v in config.items() if k not in RESERVED}
    approach = str(overrides.get("approach.name", base_approach))
    return overrides, None, {"config_id": sampled_config_id(approach, overrides)}


def trial_dirname(config: dict[str, Any], trial_id: str) -> str:
    """A trial's folder name inside the experiment: the plan's trial id, a shared group's, or Optuna's number."""
    spec = config.get("trial") or config.get("group")
    return str(spec["trial_id"]) if spec else f"optuna-{trial_id}"


def group_trial(config: dict[str, Any], base: dict[str, Any], experiment: str, cells: str,
                extra_callbacks: ExtraCallbacks | None = None) -> None:
    """A Tune trial that trains the runs under one first task through their ordering trie (clsweep.sweep.share).

    Resume and retries need no Tune checkpoint: every node's checkpoint and every run's result.json is on
    disk, and a restarted group skips them. Each finished run is one report.
    """
    trials = [TrialSpec(t["config_id"], t["overrides"],
                        tuple(RunSpec(r["order_id"], tuple(r["order"]), r["seed"]) for r in t["runs"]))
              for t in config["group"]["trials"]]

    def annotate(trial: TrialSpec, index: int) -> dict[str, Any]:
        return {"config_id": trial.config_id, "overrides": trial.overrides, "order_id": trial.runs[index].order_id,
                "trial_id": trial.trial_id}

    finished: list[dict[str, float]] = []

    def report(job: RunJob, result: dict[str, Any]) -> None:
        # The run's own objectives, not a mean over the group: its runs are of several configurations.
        finished.append(run_objectives(result))
        tune.report({**final_metrics(result), **finished[-1], "run": len(finished) - 1, "last_run": job.name,
                     "runs_finished": len(finished)})

    _fit_to_resources()
    try:
        jobs = make_jobs(trials, base, cells, annotate)
        extra = (lambda job: list(extra_callbacks(job.index))) if extra_callbacks else None
        outcome = run_group(Path(experiment), jobs, callbacks=extra, on_result=report)
        if outcome.faults:
            name, fault = next(iter(outcome.faults.items()))
            tune.report({**fault_metrics(fault, len(finished), list(base["tasklist"]["tasks"])), "last_run": name,
                         "faulted_runs": len(outcome.faults), "runs_finished": len(finished)})
    finally:
        _release_memory()


def _restore(trial_dir: Path) -> tuple[int, list[dict[str, float]]]:
    """Copy Tune's latest checkpoint back into the run folder it came from; return where to continue."""
    ckpt = tune.get_checkpoint()
    if ckpt is None:
        return 0, []
    with ckpt.as_directory() as d:
        meta = json.loads((Path(d) / TRIAL_STATE).read_text())
        state = json.loads((Path(d) / "state.json").read_text())
        dest = trial_dir / f"run-{meta['run_index']:02d}" / CHECKPOINTS / f"task-{len(state['rows']):02d}"
        if not dest.exists():
            shutil.copytree(d, dest)
    return int(meta["run_index"]), list(meta["finished"])


def continual_trial(config: dict[str, Any], base: dict[str, Any], runs: list[dict[str, Any]], experiment: str,
                    extra_callbacks: ExtraCallbacks | None = None) -> None:
    overrides, own_runs, notes = trial_overrides(config, base["approach"]["name"])
    runs = own_runs or runs
    base_cfg = apply_overrides(base, overrides)
    # The folder comes from the trial, not from tune.get_context().get_trial_dir(): in a reused worker
    # (reuse_actors) Ray 2.60 points that at a per-process working directory outside the experiment.
    trial_dir = Path(experiment) / trial_dirname(config, tune.get_context().get_trial_id())
    start, finished = _restore(trial_dir)
    _fit_to_resources()
    try:
        _run_trial(trial_dir, base_cfg, runs[start:], start, finished, overrides, notes, extra_callbacks)
    finally:
        _release_memory()  # the worker may run the next trial: hand back what this one cached


def _run_trial(trial_dir: Path, base_cfg: dict[str, Any], runs: list[dict[str, Any]], start: int,
               finished: list[dict[str, float]], overrides: dict[str, Any], notes: dict[str, Any],
               extra_callbacks: ExtraCallbacks | None) -> None:
    for i, run in enumerate(runs, start):
        data = {**base_cfg, "order": list(run["order"]), "train": {**base_cfg["train"], "seed": run["seed"]}}
        cfg = ExperimentConfig.model_validate(data)
        out = trial_dir / f"run-{i:02d}"
        if (out / RESULT_FILE).is_file():
            # Finished before the sweep was interrupted (Tune restarts a trial whose end it had not yet
            # recorded): keep the result, never rerun over it; tell Tune what it would have heard.
            result = json.loads((out / RESULT_FILE).read_text())
            finished = [*finished, run_objectives(result)]
            tune.report({**final_metrics(result), **finished_metrics(finished, i)})
            continue
        resume = (out / CHECKPOINTS).is_dir()
        if resume and not (out / CONFIG_FILE).is_file():
            write_json_atomic(out / CONFIG_FILE, cfg.to_dict())  # checkpoint restored on another node
        primary = {t: cfg.task(t).metric_names[0] for t in cfg.task_order}
        reporter = TuneReporter(primary, i, finished)
        extra = list(extra_callbacks(i)) if extra_callbacks else []
        annotations = {**notes, "overrides": overrides, "order_id": run["order_id"], "trial_id": trial_dir.name}
        try:
            result = run_experiment(cfg, out, resume=resume, callbacks=[reporter, *extra], progress=False,
                                    cache_only=True, log=lambda m: None, annotations=annotations)
        except RunFault as fault:
            # A diverged or out-of-memory trial ends here with its reason; a retry would only repeat it, and
            # raising would count against max_failures. The sweep goes on with the other trials.
            tune.report(fault_metrics(fault, i, cfg.task_order))
            return
        finished = [*finished, run_objectives(result)]


def finished_metrics(finished: list[dict[str, float]], run_index: int) -> dict[str, Any]:
    """The objectives over the trial's finished runs, as TuneReporter reports them at a run's last task."""
    return {"run": run_index, **mean_over_runs(finished)}


def fault_metrics(fault: RunFault, run_index: int, tasks: Sequence[str]) -> dict[str, Any]:
    """The trial's last report: the fault and its reason, and NaN for every objective a report can carry (any
    `search.metric`; Tune stops a sweep at a report without it), so no searcher ranks it."""
    objectives = {key: math.nan for split in ("dev", "test") for key in
                  (f"{split}_acc", f"{split}_avg_seen", f"{split}_forgetting", *(f"{split}/{t}" for t in tasks))}
    return {"fault": fault.kind, "fault_reason": str(fault), "run": run_index, **objectives}


def _release_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _fit_to_resources() -> None:
    """Use the CPUs Ray gave the trial; cap CUDA memory to the GPU fraction (Ray's is bookkeeping only)."""
    import torch

    res = tune.get_context().get_trial_resources().required_resources
    torch.set_num_threads(max(1, int(res.get("CPU", 1))))
    gpus = res.get("GPU", 0)
    if torch.cuda.is_available() and 0 < gpus < 1:
        torch.cuda.set_per_process_memory_fraction(float(gpus))

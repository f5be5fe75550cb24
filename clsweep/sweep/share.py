"""Train runs that share prefixes: every node of their ordering trie once, each from its parent's checkpoint.

A node's state (weights, approach state, RNG, rows of R) lives in `<experiment>/_prefixes/<key>/`; the last
task of each run trains in the run's own folder and writes the result.json an unshared run writes (the
bit-identical matrices are a test). The first task of a declared approach (`first_task_is_finetune`) is
trained with its `after_task` deferred, so each configuration continuing from it runs its own. Ray-free:
the sweep's trainable calls `run_group` for the runs under one first task.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clsweep.approaches import APPROACHES
from clsweep.config import ExperimentConfig
from clsweep.io import write_json_atomic
from clsweep.sweep.plan import RunSpec, TrialSpec
from clsweep.sweep.space import apply_overrides
from clsweep.sweep.trie import Node, build_trie, run_name
from clsweep.training.callbacks import Callback
from clsweep.training.faults import FAULT_FILE, RunFault
from clsweep.training.manifest import verify_checkpoint
from clsweep.training.run import CHECKPOINTS, RESULT_FILE, continue_prefix

PREFIXES = "_prefixes"


@dataclass(frozen=True)
class RunJob:
    """One run of a sweep, with the trie nodes it passes through (depth 1 to T)."""

    name: str  # "<trial id>/run-NN", its folder below the experiment
    index: int  # run index within its trial
    cfg: ExperimentConfig
    path: tuple[Node, ...]
    annotations: dict[str, Any] = field(default_factory=dict)


@dataclass
class GroupOutcome:
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # run name -> result.json
    faults: dict[str, RunFault] = field(default_factory=dict)  # run name -> the fault of a node on its path


def run_config(base: dict[str, Any], overrides: dict[str, Any], run: RunSpec) -> ExperimentConfig:
    """The experiment one run of a trial trains: the base config, the trial's overrides, its order and seed."""
    cfg = apply_overrides(base, overrides)
    return ExperimentConfig.model_validate({**cfg, "order": list(run.order),
                                            "train": {**cfg["train"], "seed": run.seed}})


def make_jobs(trials: Sequence[TrialSpec], base: dict[str, Any], cells: str,
              annotate: Callable[[TrialSpec, int], dict[str, Any]]) -> list[RunJob]:
    """Every run of `trials` with its path through their trie."""
    trie = build_trie(trials, base["approach"]["name"], cells)
    jobs = []
    for trial in trials:
        for index, run in enumerate(trial.runs):
            name = run_name(trial, index)
            path = tuple(trie.nodes[k] for k in trie.paths[name])
            jobs.append(RunJob(name, index, run_config(base, trial.overrides, run), path, annotate(trial, index)))
    return jobs


def boundary(folder: Path, depth: int) -> Path | None:
    """The node's intact checkpoint after `depth` tasks, or None."""
    ckpt = folder / CHECKPOINTS / f"task-{depth:02d}"
    return ckpt if ckpt.is_dir() and verify_checkpoint(ckpt) is None else None


def _defers(cfg: ExperimentConfig, depth: int) -> bool:
    # Such a first task is keyed without the approach's settings: its state must be the approach's before
    # after_task, whichever configuration trains it.
    return depth == 1 < len(cfg.task_order) and APPROACHES.get(cfg.approach.name).first_task_is_finetune


def run_group(experiment: Path, jobs: Sequence[RunJob], *, cache_only: bool = True,
              callbacks: Callable[[RunJob], Sequence[Callback]] | None = None,
              on_result: Callable[[RunJob, dict[str, Any]], None] | None = None,
              log: Callable[[str], None] = lambda m: None) -> GroupOutcome:
    """Train `jobs` (depth-first: runs sharing more of their order one after another), skipping every node
    whose checkpoint exists and every run whose result.json does: a restarted group continues."""
    outcome = GroupOutcome()
    failed: dict[str, RunFault] = {}
    for job in sorted(jobs, key=lambda j: [n.prefix for n in j.path]):
        out = experiment / job.name
        if (out / RESULT_FILE).is_file():
            outcome.results[job.name] = _read(out / RESULT_FILE)
        else:
            fault = next((failed[n.key] for n in job.path if n.key in failed), None)
            try:
                if fault is not None:
                    raise fault
                outcome.results[job.name] = _run_job(experiment, job, cache_only, callbacks, failed, log)
            except RunFault as f:
                _record_fault(out, job, f)
                outcome.faults[job.name] = f
                continue
        if on_result is not None:
            on_result(job, outcome.results[job.name])
    return outcome


def _run_job(experiment: Path, job: RunJob, cache_only: bool,
             callbacks: Callable[[RunJob], Sequence[Callback]] | None, failed: dict[str, RunFault],
             log: Callable[[str], None]) -> dict[str, Any]:
    parent: Path | None = None
    last = len(job.path)
    extra = list(callbacks(job)) if callbacks else []
    for depth, node in enumerate(job.path, 1):
        out = experiment / job.name if depth == last else experiment / PREFIXES / node.key
        done = boundary(out, depth) if depth < last else None
        if done is None:
            try:
                result = continue_prefix(job.cfg, out, parent, depth, defer_after_task=_defers(job.cfg, depth),
                                         callbacks=extra, log=log, cache_only=cache_only,
                                         annotations=job.annotations if depth == last else None)
            except RunFault as fault:
                failed[node.key] = fault
                if depth < last:
                    (out / FAULT_FILE).unlink(missing_ok=True)  # recorded on each run below the node instead
                raise
            if result is not None:
                return result
            done = boundary(out, depth)
        parent = done
    raise RuntimeError(f"{job.name}: no task to train")  # a run has at least one task


def prune_prefixes(experiment: Path) -> None:
    """Drop the shared nodes' checkpoints once every run is done (their TensorBoard and config stay)."""
    for ckpts in (experiment / PREFIXES).glob(f"*/{CHECKPOINTS}"):
        shutil.rmtree(ckpts, ignore_errors=True)


def _record_fault(out: Path, job: RunJob, fault: RunFault) -> None:
    """The fault on the run's own folder, saying whose run it is (analysis lists it with its configuration)."""
    cfg = job.cfg
    who = {"approach": cfg.approach.name, "order": cfg.task_order, "seed": cfg.train.seed, "sweep": job.annotations}
    write_json_atomic(out / FAULT_FILE, {**fault.to_json(), **who})


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data

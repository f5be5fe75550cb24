"""Shared prefixes: every run trained through the ordering trie equals the same run trained alone, bit for bit."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.sweep.plan import TrialSpec, make_plan
from clsweep.sweep.share import PREFIXES, RunJob, make_jobs, run_group
from clsweep.sweep.trie import build_trie
from clsweep.training.callbacks import Callback
from clsweep.training.run import run_experiment

COMPARED = ("matrix", "matrix_dev", "initial", "initial_dev", "metrics", "metrics_dev", "forgetting_per_task",
            "misclassified_counts")


class Count(Callback):
    def __init__(self, into: list[str]) -> None:
        self.into = into

    def on_task_start(self, position: int, task: str, steps: int) -> None:
        self.into.append(task)


def _plan(raw: dict[str, Any], tmp: Path, space: dict[str, Any]) -> tuple[dict[str, Any], list[TrialSpec], str]:
    raw = copy.deepcopy(raw)
    raw["approach"] = {"name": "finetune", "ewc": {"lambda": 100.0, "fisher": "sampled", "fisher_samples": 16}}
    raw["search"] = {"orderings": "all", "seeds": [0], "space": space}
    cfg = validate(raw, Sources(str(tmp / "exp.yaml"), None), base_dir=tmp)
    return cfg.to_dict(), list(make_plan(cfg).trials), cfg.eval.cells


def _train(base: dict[str, Any], trials: list[TrialSpec], cells: str, exp: Path) -> tuple[list[RunJob], list[str]]:
    jobs = make_jobs(trials, base, cells, lambda t, i: {"trial_id": t.trial_id})
    trained: list[str] = []
    groups: dict[str, list[RunJob]] = {}
    for job in jobs:
        groups.setdefault(job.path[0].key, []).append(job)
    for group in groups.values():
        outcome = run_group(exp, group, cache_only=False, callbacks=lambda j: [Count(trained)])
        assert not outcome.faults
    return jobs, trained


@pytest.mark.parametrize("space", [{"approach.name": {"grid": ["finetune", "ewc", "lwf"]}}])
def test_every_run_equals_its_unshared_twin(raw: dict[str, Any], tmp_path: Path, space: dict[str, Any]) -> None:
    base, trials, cells = _plan(raw, tmp_path, space)
    trie = build_trie(trials, "finetune", cells)
    assert (trie.unshared, trie.shared) == (3 * 6 * 3, 3 + 3 * (6 + 6))  # 54 task-trainings become 39
    jobs, trained = _train(base, trials, cells, tmp_path / "shared")
    assert len(trained) == trie.shared
    for job in jobs:
        shared = json.loads((tmp_path / "shared" / job.name / "result.json").read_text())
        alone = run_experiment(job.cfg, tmp_path / "alone" / job.name, progress=False, log=lambda m: None)
        for key in COMPARED:
            assert shared[key] == alone[key], (job.name, key)
        assert shared["order"] == list(job.cfg.task_order) and shared["approach"] == job.cfg.approach.name
        assert shared["sweep"] == {"trial_id": job.name.split("/")[0]}
        assert set(shared["timings"]["tasks"]) == set(job.cfg.task_order)  # every task's timings, even shared ones


def test_a_restarted_group_trains_only_what_is_missing(raw: dict[str, Any], tmp_path: Path) -> None:
    base, trials, cells = _plan(raw, tmp_path, {"approach.name": {"grid": ["finetune", "ewc"]}})
    exp = tmp_path / "shared"
    jobs, _ = _train(base, trials, cells, exp)
    before = {j.name: (exp / j.name / "result.json").read_text() for j in jobs}
    victim = next(j for j in jobs if j.cfg.approach.name == "ewc")
    (exp / victim.name / "result.json").unlink()  # the run's last task is lost ...
    node = victim.path[1]
    for folder in (exp / PREFIXES / node.key).iterdir():  # ... and so is its second task's node
        if folder.is_dir():
            for f in folder.rglob("*"):
                if f.is_file():
                    f.unlink()
    _, trained = _train(base, trials, cells, exp)
    # Node 2 again, then the last task of every run below it (one: 3 tasks, so node 2 has one child).
    assert trained == [victim.cfg.task_order[1], victim.cfg.task_order[2]]
    after = {j.name: json.loads((exp / j.name / "result.json").read_text()) for j in jobs}
    for name, text in before.items():
        old = json.loads(text)
        assert all(after[name][k] == old[k] for k in COMPARED), name


def test_a_fault_in_a_shared_node_is_recorded_on_every_run_below_it(raw: dict[str, Any], tmp_path: Path) -> None:
    base, trials, cells = _plan(raw, tmp_path, {"train.lr": {"grid": [2e-3, 1e30]}})
    raw_lr = [t for t in trials if t.overrides["train.lr"] == 1e30]
    exp = tmp_path / "shared"
    jobs = make_jobs(raw_lr, base, cells, lambda t, i: {"trial_id": t.trial_id})
    outcomes = [run_group(exp, [j for j in jobs if j.path[0].key == key], cache_only=False)
                for key in dict.fromkeys(j.path[0].key for j in jobs)]
    assert sum(len(o.faults) for o in outcomes) == len(jobs) == 6 and not any(o.results for o in outcomes)
    for job in jobs:  # each run's own fault.json, naming its order; none left in the node folders
        fault = json.loads((exp / job.name / "fault.json").read_text())
        assert fault["fault"] == "NonFiniteLoss" and fault["order"] == list(job.cfg.task_order)
    assert not list((exp / PREFIXES).rglob("fault.json"))

"""The continual trainer: determinism, resume equal to uninterrupted, per-task settings by name."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from clsweep.config import ExperimentConfig
from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.training.callbacks import Callback
from clsweep.training.run import run_experiment
from clsweep.training.state import RunState


def _cfg(raw: dict[str, Any], tmp_path: Path) -> ExperimentConfig:
    return validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)


def _run(raw: dict[str, Any], out: Path, **kw: Any) -> dict[str, Any]:
    return run_experiment(_cfg(raw, out.parent), out, progress=False, log=lambda m: None, **kw)


class Interrupt(Exception):
    pass


class StopAfter(Callback):
    """Simulates a crash right after the checkpoint of the n-th task boundary."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        if position + 1 == self.n:
            assert checkpoint is not None and (checkpoint / "state.json").is_file()
            raise Interrupt


def test_same_seed_same_matrices(raw: dict[str, Any], tmp_path: Path) -> None:
    a = _run(raw, tmp_path / "a")
    b = _run(raw, tmp_path / "b")
    assert a["matrix"] == b["matrix"] and a["matrix_dev"] == b["matrix_dev"]
    assert a["initial"] == b["initial"]
    other = copy.deepcopy(raw)
    other["train"]["seed"] = 1
    c = _run(other, tmp_path / "c")
    assert c["matrix"] != a["matrix"]  # the seed reaches weights and data order


# Three tasks, the original approaches; tests/approaches/test_contract.py checks resume for every approach.
@pytest.mark.parametrize("approach", ["finetune", "ewc", "joint"])
def test_resume_equals_uninterrupted(raw: dict[str, Any], tmp_path: Path, approach: str) -> None:
    raw = copy.deepcopy(raw)
    raw["approach"] = {"name": approach}
    if approach == "ewc":
        raw["approach"]["ewc"] = {"lambda": 50.0, "mode": "separate", "fisher_samples": 16}
    full = _run(raw, tmp_path / "full")
    with pytest.raises(Interrupt):
        _run(raw, tmp_path / "cut", callbacks=[StopAfter(2)])
    assert not (tmp_path / "cut" / "result.json").exists()
    resumed = _run(raw, tmp_path / "cut", resume=True)
    assert resumed["matrix"] == full["matrix"]
    assert resumed["matrix_dev"] == full["matrix_dev"]
    assert resumed["initial"] == full["initial"]
    assert len(resumed["matrix"]) == 3


def test_result_contract(raw: dict[str, Any], tmp_path: Path) -> None:
    res = _run(raw, tmp_path / "r")
    for key in ("order", "tasks", "seed", "config", "matrix", "initial", "matrix_dev", "initial_dev", "metrics",
                "metrics_dev", "labels", "dataset_stats", "timings", "versions"):
        assert key in res, key
    assert res["order"] == ["topic", "pair", "ner"]
    assert set(res["metrics"]) >= {"acc", "bwt", "fwt", "forgetting", "learning_accuracy", "avg_incremental_acc"}
    assert res["labels"]["topic"] == ["arts", "science", "sports", "travel"]
    assert res["primary_metric"] == {"topic": "accuracy", "pair": "accuracy", "ner": "entity_f1"}
    # The stored config rebuilds the same experiment (the sweep's trainables rely on it).
    assert ExperimentConfig.model_validate(res["config"]) == _cfg(raw, tmp_path)
    assert (tmp_path / "r" / "result.json").is_file()


def test_per_task_epochs_follow_the_task_not_the_position(raw: dict[str, Any], tmp_path: Path) -> None:
    raw = copy.deepcopy(raw)
    raw["tasklist"]["tasks"]["pair"]["epochs"] = 2
    a = _run(raw, tmp_path / "a")
    raw["order"] = ["pair", "ner", "topic"]
    b = _run(raw, tmp_path / "b")
    steps_a = {t: v["steps"] for t, v in a["timings"]["tasks"].items()}
    steps_b = {t: v["steps"] for t, v in b["timings"]["tasks"].items()}
    assert steps_a == steps_b
    assert steps_a["pair"] == 2 * steps_a["topic"]


def test_joint_trains_on_the_union_of_tasks_seen(raw: dict[str, Any], tmp_path: Path) -> None:
    raw = copy.deepcopy(raw)
    raw["approach"] = {"name": "joint"}
    res = _run(raw, tmp_path / "joint")
    per_task = 64 // 16  # train_size / batch_size batches per task and epoch
    steps = [res["timings"]["tasks"][t]["steps"] for t in res["order"]]
    assert steps == [per_task, 2 * per_task, 3 * per_task]
    # The joint model keeps every task it has seen: nothing drops to an untrained head's level.
    R = res["matrix"]
    assert R[2][0] >= R[0][0] - 0.25


def test_length_grouped_batches_are_seeded_and_resumable(raw: dict[str, Any], tmp_path: Path) -> None:
    grouped = copy.deepcopy(raw)
    grouped["train"]["group_by_length"] = True
    a = _run(grouped, tmp_path / "a")
    assert a["matrix"] == _run(grouped, tmp_path / "b")["matrix"]
    assert a["matrix"] != _run(raw, tmp_path / "plain")["matrix"]  # other batches, so other weights
    with pytest.raises(Interrupt):
        _run(grouped, tmp_path / "c", callbacks=[StopAfter(1)])
    assert _run(grouped, tmp_path / "c", resume=True)["matrix"] == a["matrix"]

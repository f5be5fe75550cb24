"""The contract every registered approach honours, tested the moment it is registered.

Two tiny tasks (a sequence and a token head): the same config and seed give bit-identical matrices; a
run interrupted at the task boundary and resumed from its checkpoint ends exactly like an uninterrupted
one; the optimizer steps exactly as often as the trainer takes steps (approaches never step it); Params
validate strictly; the approach declares its memory; and it ships a search space that plans.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from torch.optim.optimizer import register_optimizer_step_pre_hook

from clsweep.approaches import APPROACHES
from clsweep.config import ApproachConfig
from clsweep.errors import Sources
from clsweep.loading import load_experiment, validate
from clsweep.schema import Strict
from clsweep.sweep.plan import make_plan
from clsweep.training.callbacks import Callback
from clsweep.training.run import run_experiment
from clsweep.training.state import RunState

SEARCH_SPACES = Path(__file__).resolve().parents[2] / "search_spaces"


class Interrupt(Exception):
    pass


class StopAfterFirst(Callback):
    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        raise Interrupt


@pytest.fixture
def two_tasks(raw: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    del raw["tasklist"]["tasks"]["pair"]
    raw["tasklist"]["defaults"]["source"].update(train_size=32, dev_size=16, test_size=16)
    raw["train"]["lr"] = 5e-3
    return raw


@pytest.fixture
def count_steps() -> Iterator[list[int]]:
    calls: list[int] = []
    handle = register_optimizer_step_pre_hook(lambda opt, args, kwargs: calls.append(1))
    yield calls
    handle.remove()


def _run(raw: dict[str, Any], out: Path, **kw: Any) -> dict[str, Any]:
    cfg = validate(raw, Sources(str(out.parent / "exp.yaml"), None), base_dir=out.parent)
    return run_experiment(cfg, out, progress=False, log=lambda m: None, **kw)


ENCODER = [n for n in APPROACHES.names() if set(APPROACHES.get(n).scenarios) - {"generative"}]


@pytest.mark.parametrize("name", ENCODER)
def test_deterministic_and_resume_at_the_boundary_continues_identically(
        two_tasks: dict[str, Any], tmp_path: Path, name: str, count_steps: list[int]) -> None:
    two_tasks["approach"] = {"name": name}
    full = _run(two_tasks, tmp_path / "full")
    steps = sum(t["steps"] for t in full["timings"]["tasks"].values())
    assert steps > 0 and len(count_steps) == steps  # the trainer's steps and nothing else
    with pytest.raises(Interrupt):
        _run(two_tasks, tmp_path / "cut", callbacks=[StopAfterFirst()])
    resumed = _run(two_tasks, tmp_path / "cut", resume=True)
    # The first row and `initial` come from the cut run, a second computation from the same config and seed,
    # the last row from the restored checkpoint: equality with `full` is bit-identity of both, not closeness.
    assert resumed["matrix"] == full["matrix"] and resumed["matrix_dev"] == full["matrix_dev"]
    assert resumed["initial"] == full["initial"] and resumed["scores"] == full["scores"]
    memory = full["approach_memory"]
    assert isinstance(memory, dict) and all(isinstance(v, int) and v >= 0 for v in memory.values())
    assert resumed["approach_memory"] == memory


def test_prompt_tuning_class_label_init_resumes_identically(two_tasks: dict[str, Any], tmp_path: Path) -> None:
    """The class-label init runs at every start, resumed ones too: it must leave a restored checkpoint alone and
    give the prompts not trained yet exactly what an uninterrupted run gave them."""
    two_tasks["approach"] = {"name": "prompt_tuning", "prompt_tuning": {"init": "class_labels"}}
    full = _run(two_tasks, tmp_path / "full")
    with pytest.raises(Interrupt):
        _run(two_tasks, tmp_path / "cut", callbacks=[StopAfterFirst()])
    resumed = _run(two_tasks, tmp_path / "cut", resume=True)
    assert resumed["matrix"] == full["matrix"] and resumed["scores"] == full["scores"]
    assert resumed["initial"] == full["initial"]


@pytest.mark.parametrize("name", APPROACHES.names())
def test_params_validate_strictly(name: str) -> None:
    params_cls = APPROACHES.get(name).Params
    assert issubclass(params_cls, Strict)
    defaults = params_cls()
    dumped = defaults.model_dump(mode="json", by_alias=True)
    assert params_cls.model_validate(dumped) == defaults  # what result.json stores rebuilds the same params
    with pytest.raises(ValidationError):
        params_cls.model_validate({**dumped, "no_such_parameter": 1})
    cfg = ApproachConfig.model_validate({"name": name, name: dumped})
    assert cfg.params_for() == defaults
    for field, info in params_cls.model_fields.items():
        if info.annotation in (int, float):  # every numeric field is bounded: a negative value is an error
            with pytest.raises(ValidationError):
                params_cls.model_validate({info.alias or field: -1})


@pytest.mark.parametrize("name", APPROACHES.names())
def test_ships_a_search_space_that_plans(name: str) -> None:
    path = SEARCH_SPACES / f"{name}.yaml"
    assert path.is_file(), f"search_spaces/{name}.yaml is missing"
    plan = make_plan(load_experiment(path), str(path))
    assert name in plan.approaches and len(plan) > 0


def test_compare_all_runs_every_approach_on_the_same_orderings() -> None:
    path = SEARCH_SPACES / "compare_all.yaml"
    plan = make_plan(load_experiment(path), str(path))
    assert set(plan.approaches) == set(ENCODER)
    by_config: dict[str, set[tuple[str, ...]]] = {}
    for t in plan.trials:
        by_config.setdefault(t.config_id, set()).update(r.order for r in t.runs)
    orders = next(iter(by_config.values()))
    assert len(orders) >= 4 and all(o == orders for o in by_config.values())
    tasks = {t for o in orders for t in o}
    for task in tasks:  # a Latin square: every task once in every position
        assert sorted(o.index(task) for o in orders) == list(range(len(tasks)))


GENERATIVE = [n for n in APPROACHES.names() if "generative" in APPROACHES.get(n).scenarios]


def generative_raw(raw: dict[str, Any], backbone: str) -> dict[str, Any]:
    """Two text2text tasks (synthetic topic and sentiment written as prompts) on a tiny generative LM."""
    raw = copy.deepcopy(raw)
    src = {**raw["tasklist"]["defaults"]["source"], "train_size": 32, "dev_size": 16, "test_size": 16}
    raw["tasklist"] = {"defaults": {"type": "text2text", "source": src},
                       "tasks": {"topic": {"source": {"task": "topic"}, "template": {"instruction": "topic"}},
                                 "sentiment": {"source": {"task": "sentiment"}}}}
    raw["model"] = {**raw["model"], "backbone": backbone}
    raw["train"]["lr"] = 5e-3
    return raw


def test_every_text2text_approach_is_named() -> None:
    assert {"finetune", "replay", "ewc", "l2", "lwf"} <= set(GENERATIVE)


@pytest.mark.parametrize("backbone", ["tiny-t5", "tiny-gpt2"])
@pytest.mark.parametrize("name", GENERATIVE)
def test_generative_runs_are_deterministic_and_resume_identically(
        raw: dict[str, Any], tmp_path: Path, name: str, backbone: str, count_steps: list[int]) -> None:
    gen = generative_raw(raw, backbone)
    gen["approach"] = {"name": name}
    full = _run(gen, tmp_path / "full")
    assert full["scenario"] == "generative"
    steps = sum(t["steps"] for t in full["timings"]["tasks"].values())
    assert steps > 0 and len(count_steps) == steps
    with pytest.raises(Interrupt):
        _run(gen, tmp_path / "cut", callbacks=[StopAfterFirst()])
    resumed = _run(gen, tmp_path / "cut", resume=True)
    assert resumed["matrix"] == full["matrix"] and resumed["scores"] == full["scores"]
    assert resumed["initial"] == full["initial"]

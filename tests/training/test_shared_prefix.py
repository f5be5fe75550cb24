"""Runs that agree on their first k tasks hold bit-identical state after them, whatever order follows.

This is what lets a sweep train a shared prefix of orderings once (issue 16): the model, every head's
initial weights, the parameter order (clipping and penalties sum over it) and the RNG state at a task
boundary must not depend on the tasks still to come.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.models import HeadSpec, build_model
from clsweep.training.run import run_experiment


def _run(raw: dict[str, Any], out: Path, order: list[str]) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    raw["order"] = order
    raw["run"]["keep_checkpoints"] = len(order)
    cfg = validate(raw, Sources(str(out.parent / "exp.yaml"), None), base_dir=out.parent)
    return run_experiment(cfg, out, progress=False, log=lambda m: None)


def _files(ckpt: Path) -> dict[str, dict[str, torch.Tensor]]:
    return {name: load_file(str(ckpt / f"{name}.safetensors")) for name in ("model", "approach", "rng")}


def test_heads_start_from_the_same_weights_in_every_order() -> None:
    from clsweep.config import ModelConfig

    cfg = ModelConfig.model_validate({"backbone": "tiny", "max_length": 16,
                                      "tiny": {"hidden_size": 16, "intermediate_size": 32}})
    specs = {t: HeadSpec(t, t, "sequence", n) for t, n in (("a", 2), ("b", 3), ("c", 4))}
    first, _ = build_model(cfg, {t: specs[t] for t in "abc"}, seed=3)
    second, _ = build_model(cfg, {t: specs[t] for t in "cab"}, seed=3)
    one, two = first.state_dict(), second.state_dict()
    assert list(one) == list(two)  # the same parameter order: norms and penalties sum in the same order
    assert all(torch.equal(one[k], two[k]) for k in one)


@pytest.mark.parametrize("approach", ["finetune", "ewc"])
def test_a_shared_first_task_ends_in_the_same_state(raw: dict[str, Any], tmp_path: Path, approach: str) -> None:
    raw = copy.deepcopy(raw)
    raw["approach"] = {"name": approach, "ewc": {"lambda": 100.0, "fisher_samples": 16}}
    a = _run(raw, tmp_path / "a", ["topic", "pair", "ner"])
    b = _run(raw, tmp_path / "b", ["topic", "ner", "pair"])
    for split in ("initial", "initial_dev"):  # every task scored by the untrained model, aligned by name
        assert dict(zip(a["tasks"], a[split], strict=True)) == dict(zip(b["tasks"], b[split], strict=True))
    for key in ("matrix", "matrix_dev"):
        assert dict(zip(a["tasks"], a[key][0], strict=True)) == dict(zip(b["tasks"], b[key][0], strict=True))
    ckpt_a, ckpt_b = (_files(tmp_path / side / "checkpoints" / "task-01") for side in "ab")
    for name in ckpt_a:
        assert list(ckpt_a[name]) == list(ckpt_b[name])
        assert all(torch.equal(ckpt_a[name][k], ckpt_b[name][k]) for k in ckpt_a[name]), name
    assert a["matrix"][1] != b["matrix"][1]  # ... and they do part afterwards


def test_approaches_that_declare_it_train_the_first_task_as_finetune_does(raw: dict[str, Any],
                                                                          tmp_path: Path) -> None:
    from clsweep.approaches import APPROACHES

    declared = sorted(n for n in APPROACHES.names() if APPROACHES.get(n).first_task_is_finetune)
    assert declared == ["ewc", "finetune", "l2", "lwf"]
    order = ["topic", "pair"]
    runs = {}
    for name in declared:
        r = copy.deepcopy(raw)
        r["approach"] = {"name": name}
        runs[name] = _run(r, tmp_path / name, order)
    reference = _files(tmp_path / "finetune" / "checkpoints" / "task-01")["model"]
    for name in declared:
        assert runs[name]["matrix"][0] == runs["finetune"]["matrix"][0], name  # the same row after task 1
        model = _files(tmp_path / name / "checkpoints" / "task-01")["model"]
        assert all(torch.equal(model[k], reference[k]) for k in reference), name
    # Replay fills its buffer while it trains the first task (drawing from the RNG as it goes): not declared.
    assert not APPROACHES.get("replay").first_task_is_finetune

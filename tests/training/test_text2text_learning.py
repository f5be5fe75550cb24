"""A generative LM really learns text2text tasks through the trainer, and forgets the way CL says it does:
fine-tuning on a second task that shares the output space overwrites the first task's answers; replay keeps
part of them. Small but real runs (tiny-t5 and tiny-gpt2, two synthetic tasks)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.training.run import run_experiment


def _raw(raw: dict[str, Any], backbone: str, approach: str) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    src = {**raw["tasklist"]["defaults"]["source"], "train_size": 320, "dev_size": 48, "test_size": 48}
    raw["tasklist"] = {"defaults": {"type": "text2text", "source": src},
                       "tasks": {"sentiment": {"source": {"task": "sentiment"}},
                                 "register": {"source": {"task": "register"}}}}
    raw["model"] = {"backbone": backbone, "max_length": 48,
                    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_heads": 4, "dropout": 0.0}}
    raw["approach"] = {"name": approach, "replay": {"buffer_size": 100, "replay_batch_size": 16}}
    raw["train"].update(lr=5e-3, epochs=6, batch_size=16)
    raw["observe"] = {"resources": False, "misclassified": False}
    raw["run"]["tensorboard"] = False
    return raw


@pytest.mark.parametrize("backbone", ["tiny-t5", "tiny-gpt2"])
def test_finetuning_learns_each_task_and_forgets_replay_forgets_less(raw: dict[str, Any], tmp_path: Path,
                                                                       backbone: str) -> None:
    out = {}
    for approach in ("finetune", "replay"):
        data = _raw(raw, backbone, approach)
        cfg = validate(data, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
        out[approach] = run_experiment(cfg, tmp_path / approach, progress=False, log=lambda m: None)
    ft, rp = out["finetune"], out["replay"]
    m = ft["matrix"]
    assert m[0][0] >= 0.8 and m[1][1] >= 0.8, m  # each task learned (chance is 0.5)
    assert ft["metrics"]["forgetting"] >= 0.3, m  # the second task's answers overwrite the first's
    assert rp["matrix"][1][1] >= 0.8 and rp["metrics"]["forgetting"] <= 0.7 * ft["metrics"]["forgetting"], rp["matrix"]

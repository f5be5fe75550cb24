"""train.keep_epoch: best_dev keeps each task's parameters from its best dev epoch, chosen on dev only."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import pytest
import torch

from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.training import trainer as trainer_module
from clsweep.training.best_epoch import BestEpoch
from clsweep.training.run import run_experiment


def test_best_epoch_restores_the_best_and_keeps_the_earliest_on_a_tie() -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    best = BestEpoch()
    for epoch, score in enumerate([0.5, 0.7, 0.7, 0.6]):
        with torch.no_grad():
            p.fill_(epoch)
        best.consider(epoch, score, [p])
    assert best.restore([p]) == 1 and torch.equal(p.detach(), torch.ones(2))


def _run(raw: dict[str, Any], tmp_path: Path, name: str, **train: Any) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    raw["order"] = ["topic", "pair"]
    raw["train"].update(scheduler="constant", warmup_ratio=0.0, **train)
    # No dropout: an epoch that is trained and then discarded still draws dropout masks, which would shift
    # every later task's random stream away from the shorter run's.
    raw["model"] = {**raw["model"], "head_dropout": 0.0, "tiny": {**raw["model"]["tiny"], "dropout": 0.0}}
    cfg = validate(raw, Sources(str(tmp_path / f"{name}.yaml"), None), base_dir=tmp_path)
    return run_experiment(cfg, tmp_path / name, progress=False, log=lambda m: None)


def test_keeping_the_best_of_three_epochs_equals_training_two(raw: dict[str, Any], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # With a constant learning rate, the first two epochs of a three-epoch task are exactly a two-epoch task
    # (same batches, same updates); dev scores scripted so the second epoch is the best: the runs must agree.
    two = _run(raw, tmp_path, "two", epochs=2)
    scripted = itertools.cycle([0.2, 0.9, 0.1])
    monkeypatch.setattr(trainer_module.ContinualTrainer, "_dev_score", lambda self, tasks, seen: next(scripted))
    best = _run(raw, tmp_path, "best", epochs=3, keep_epoch="best_dev")
    assert best["matrix"] == two["matrix"] and best["matrix_dev"] == two["matrix_dev"]
    assert [best["timings"]["tasks"][t]["kept_epoch"] for t in best["order"]] == [2, 2]
    assert "kept_epoch" not in two["timings"]["tasks"]["topic"]
    three = _run(raw, tmp_path, "three", epochs=3)  # ... and the third epoch did change something
    assert three["matrix_dev"] != best["matrix_dev"]


def test_the_epoch_is_chosen_on_dev_never_on_test(raw: dict[str, Any], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    splits: list[str] = []  # the splits evaluated while a task trains (the rows of R come after)
    training = [False]
    real_evaluate, real_learn = trainer_module.evaluate, trainer_module.ContinualTrainer._learn

    def spy(model: Any, task: Any, split: str, *args: Any, **kw: Any) -> Any:
        if training[0]:
            splits.append(split)
        return real_evaluate(model, task, split, *args, **kw)

    def learn(self: Any, *args: Any) -> Any:
        training[0] = True
        try:
            return real_learn(self, *args)
        finally:
            training[0] = False

    monkeypatch.setattr(trainer_module, "evaluate", spy)
    monkeypatch.setattr(trainer_module.ContinualTrainer, "_learn", learn)
    _run(raw, tmp_path, "spy", epochs=2, keep_epoch="best_dev")
    assert splits == ["dev"] * 4  # two tasks x two epochs, dev only

"""The trainer's step: this step's gradients only, clipped and unscaled on exactly the stepped parameters;
old heads stepped or frozen as each approach's `old_heads` says; joint rows retrained from the initial weights."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.training import run as run_module
from clsweep.training.callbacks import Callback
from clsweep.training.run import run_experiment
from clsweep.training.state import RunState


def _three_sequence_tasks(raw: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    src = raw["tasklist"]["defaults"]["source"]
    raw["tasklist"] = {"defaults": {"source": {**src, "train_size": 48}},
                       "tasks": {"topic": {"source": {"task": "topic"}}, "intent": {"source": {"task": "intent"}},
                                 "register": {"source": {"task": "register"}}}}
    raw["observe"] = {"resources": False, "misclassified": False}
    raw["run"]["tensorboard"] = False
    return raw


def _run(raw: dict[str, Any], out: Path, callbacks: tuple[Callback, ...] = ()) -> dict[str, Any]:
    cfg = validate(raw, Sources(str(out.parent / "exp.yaml"), None), base_dir=out.parent)
    return run_experiment(cfg, out, progress=False, log=lambda m: None, callbacks=callbacks)


class GradientProbe:
    """Records, by tensor hooks, the gradient each parameter receives from this step's backward; checks every
    clip against the norm of exactly those gradients over the parameters the test expects to be stepped."""

    def __init__(self, model: torch.nn.Module, stepped_heads: Any) -> None:
        self.model, self.stepped_heads = model, stepped_heads
        self.fresh: dict[str, torch.Tensor] = {}
        self.scale = 1.0
        self.pairs: list[tuple[float, float]] = []
        for name, p in model.named_parameters():
            p.register_hook(lambda g, name=name: self._keep(name, g))

    def _keep(self, name: str, g: torch.Tensor) -> None:
        self.fresh[name] = self.fresh.get(name, 0) + g.detach().float().clone()

    def expected_norm(self) -> float:
        heads = self.stepped_heads()
        total = 0.0
        for name, g in self.fresh.items():
            if name.startswith("heads.") and name.split(".")[1] not in heads:
                continue
            total += float((g / self.scale).pow(2).sum())
        return math.sqrt(total)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("approach", "old_heads"), [("replay", "trainable"), ("replay", "frozen"),
                                                     ("lwf", "trainable"), ("derpp", "frozen")])
def test_clip_norm_is_the_norm_of_this_steps_gradients(raw: dict[str, Any], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, approach: str,
                                                       old_heads: str, precision: str) -> None:
    raw = _three_sequence_tasks(raw)
    raw["approach"] = {"name": approach, approach: {"old_heads": old_heads}}
    raw["train"].update(precision=precision, grad_clip=1.0, lr=1e-2)
    if precision == "fp16":  # CPU autocast and a CPU GradScaler simulate what CUDA fp16 training does
        monkeypatch.setattr(run_module, "check_device", lambda cfg, file="": torch.device("cpu"))
    probes: list[GradientProbe] = []
    order = ["topic", "intent", "register"]
    position = {"k": 0}

    class Where(Callback):
        def on_task_start(self, pos: int, task: str, total_steps: int) -> None:
            position["k"] = pos

    def stepped_heads() -> set[str]:
        k = position["k"]
        return set(order[: k + 1]) if old_heads == "trainable" else {order[k]}

    real_build = run_module.build_model

    def build(*a: Any, **kw: Any) -> Any:
        model, tok = real_build(*a, **kw)
        probes.append(GradientProbe(model, stepped_heads))
        return model, tok

    real_clip, real_unscale = torch.nn.utils.clip_grad_norm_, torch.amp.GradScaler.unscale_

    def clip(params: Any, max_norm: float, *a: Any, **kw: Any) -> torch.Tensor:
        norm = real_clip(params, max_norm, *a, **kw)
        probe = probes[-1]
        probe.pairs.append((float(norm), probe.expected_norm()))
        probe.fresh.clear()
        return norm

    def unscale(self: torch.amp.GradScaler, opt: Any) -> None:
        probes[-1].scale = float(self.get_scale())
        real_unscale(self, opt)

    monkeypatch.setattr(run_module, "build_model", build)
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", clip)
    monkeypatch.setattr(torch.amp.GradScaler, "unscale_", unscale)
    _run(raw, tmp_path / "run", callbacks=(Where(),))
    pairs = probes[-1].pairs
    assert len(pairs) >= 9 and position["k"] == 2
    if precision == "fp16":
        assert probes[-1].scale > 1.0  # the scaler was really scaling the loss
    for got, want in pairs:
        assert got == pytest.approx(want, rel=1e-4, abs=1e-6)


def _head_snapshots(raw: dict[str, Any], tmp_path: Path, approach: str, old_heads: str) -> list[torch.Tensor]:
    """The topic head's weights after each task of topic -> intent -> register."""
    raw = _three_sequence_tasks(raw)
    raw["approach"] = {"name": approach, approach: {"old_heads": old_heads}}
    raw["train"]["lr"] = 1e-2
    models: list[torch.nn.Module] = []
    real_build = run_module.build_model

    def build(*a: Any, **kw: Any) -> Any:
        model, tok = real_build(*a, **kw)
        models.append(model)
        return model, tok

    snaps: list[torch.Tensor] = []

    class Snap(Callback):
        def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
            snaps.append(models[-1].heads["topic"].out.weight.detach().clone())

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_module, "build_model", build)
        _run(raw, tmp_path / f"{approach}-{old_heads}", callbacks=(Snap(),))
    return snaps


@pytest.mark.parametrize("approach", ["replay", "derpp", "agem", "lwf"])
def test_old_heads_trainable_or_frozen(raw: dict[str, Any], tmp_path: Path, approach: str) -> None:
    frozen = _head_snapshots(raw, tmp_path, approach, "frozen")
    assert torch.equal(frozen[0], frozen[1]) and torch.equal(frozen[1], frozen[2])
    trainable = _head_snapshots(raw, tmp_path, approach, "trainable")
    assert torch.equal(trainable[0], frozen[0])  # the same first task
    assert not torch.equal(trainable[1], trainable[0])  # replayed examples / distillation moved the old head


class StartWeights(Callback):
    """The model's weights when each task's training starts (after the approach's before_task)."""

    def __init__(self, models: list[torch.nn.Module]) -> None:
        self.models, self.starts, self.steps = models, [], []  # type: ignore[var-annotated]

    def on_task_start(self, position: int, task: str, total_steps: int) -> None:
        self.starts.append({n: t.detach().clone() for n, t in self.models[-1].state_dict().items()})
        self.steps.append(total_steps)


def _joint(raw: dict[str, Any], tmp_path: Path, name: str, **joint: Any) -> tuple[StartWeights, dict[str, Any]]:
    raw = _three_sequence_tasks(raw)
    raw["approach"] = {"name": "joint", "joint": joint}
    raw["tasklist"]["tasks"]["topic"]["epochs"] = 2  # 48 examples / 16 = 3 batches per epoch
    models: list[torch.nn.Module] = []
    real_build = run_module.build_model

    def build(*a: Any, **kw: Any) -> Any:
        model, tok = real_build(*a, **kw)
        models.append(model)
        return model, tok

    probe = StartWeights(models)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_module, "build_model", build)
        result = _run(raw, tmp_path / name, callbacks=(probe,))
    return probe, result


def test_joint_rows_restart_from_the_initial_weights_with_each_tasks_epochs(raw: dict[str, Any],
                                                                            tmp_path: Path) -> None:
    probe, result = _joint(raw, tmp_path, "initial")
    first = probe.starts[0]
    for start in probe.starts[1:]:  # a*_k: every row trains from the same initial weights, heads included
        assert all(torch.equal(start[n], first[n]) for n in first)
    # topic 2 epochs x 3 batches, intent and register 1 epoch x 3 batches each: per task, its own epochs.
    assert probe.steps == [6, 6 + 3, 6 + 3 + 3]
    assert result["timings"]["tasks"]["register"]["steps"] == 12
    warm, _ = _joint(raw, tmp_path, "previous", start="previous")
    assert not all(torch.equal(warm.starts[1][n], warm.starts[0][n]) for n in first)  # today's warm start


def test_head_lr_applies_to_heads_only_and_follows_the_schedule() -> None:
    from clsweep.config import TrainConfig
    from clsweep.training.optim import build_optimizer, build_scheduler

    backbone, head = torch.nn.Linear(3, 3), torch.nn.Linear(3, 2)
    named = [("backbone.weight", backbone.weight), ("backbone.bias", backbone.bias),
             ("heads.a.out.weight", head.weight), ("heads.a.out.bias", head.bias)]
    cfg = TrainConfig(lr=1e-4, head_lr=1e-2, scheduler="linear")
    opt = build_optimizer(named, cfg, 2e-4, torch.device("cpu"))  # a task's own lr overrides train.lr
    lrs = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    assert lrs[id(backbone.weight)] == lrs[id(backbone.bias)] == 2e-4
    assert lrs[id(head.weight)] == lrs[id(head.bias)] == 1e-2
    decay = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    assert decay[id(head.weight)] == cfg.weight_decay and decay[id(head.bias)] == 0.0
    sched = build_scheduler(opt, cfg, total_steps=4)
    opt.step()
    sched.step()
    assert sorted({g["lr"] for g in opt.param_groups if g["params"]}) == pytest.approx([2e-4 * 0.75, 1e-2 * 0.75])
    same = build_optimizer(named, TrainConfig(lr=1e-4), 1e-4, torch.device("cpu"))
    assert {g["lr"] for g in same.param_groups} == {1e-4}  # no head_lr: one learning rate

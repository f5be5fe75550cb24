"""Every registered approach honours the contract; EWC's penalty and Fisher behave as defined."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from clsweep.approaches import APPROACHES, TaskEnv
from clsweep.approaches.ewc import EWC, EWCParams
from clsweep.config import TinyBackbone
from clsweep.models import CLModel, HeadSpec, task_loss
from clsweep.models.tiny import tiny_backbone

HEADS = {"a": HeadSpec("a", "a", "sequence", 3), "b": HeadSpec("b", "b", "token", 4)}


def _model(seed: int = 0) -> CLModel:
    torch.manual_seed(seed)
    backbone = tiny_backbone(TinyBackbone(hidden_size=16, intermediate_size=32), vocab_size=50, max_length=16)
    return CLModel(backbone, HEADS, "cls", 0.0)


def _batches(task: str, split: str = "train", batch_size: int | None = None, limit: int | None = None,
             sample: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    n = limit or 8
    bs = batch_size or 4
    for start in range(0, n, bs):
        m = min(bs, n - start)
        ids = torch.randint(5, 50, (m, 10), generator=gen)
        shape = (m,) if task == "a" else (m, 10)
        labels = torch.randint(0, 3 if task == "a" else 4, shape, generator=gen)
        yield {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


def _env(model: CLModel) -> TaskEnv:
    return TaskEnv(torch.device("cpu"), _batches, lambda t, b: task_loss(model(t, b), b["labels"]))


@pytest.mark.parametrize("name", APPROACHES.names())
def test_contract(name: str) -> None:
    cls = APPROACHES.get(name)
    params = cls.Params()  # every approach has defaults for all its parameters
    model = _model()
    approach = cls(params, model)
    env = _env(model)
    seen = approach.training_tasks(["a"])
    assert seen[-1] == "a" or "a" in seen
    approach.before_task("a", env)
    batch = next(_batches("a"))
    logits = model("a", batch)
    base = task_loss(logits, batch["labels"])
    loss = approach.loss("a", batch, logits, base)
    assert loss.ndim == 0 and torch.isfinite(loss)
    approach.after_task("a", env)
    # The state survives a checkpoint round trip into a fresh instance on a fresh model (as on resume:
    # approaches that wrap the backbone, e.g. with peft adapters, do so once per model).
    model2 = _model()
    clone = cls(params, model2)
    model2.load_state_dict(model.state_dict())
    clone.load_state(approach.state_dict(), approach.meta())
    assert clone.meta() == approach.meta()
    sa, sb = approach.state_dict(), clone.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    # Both continue alike: same hooks, same random draws (replay sampling uses torch's global generator).
    losses = []
    for appr, m in ((approach, model), (clone, model2)):
        torch.manual_seed(0)
        appr.before_task("a", _env(m))
        logits = m("a", batch)
        losses.append(appr.loss("a", batch, logits, task_loss(logits, batch["labels"])))
    assert torch.equal(*losses)


def test_ewc_penalty_zero_at_anchor_and_grows_with_distance() -> None:
    model = _model()
    ewc = EWC(EWCParams(lam=10.0, fisher_samples=8), model)
    env = _env(model)
    ewc.after_task("a", env)
    assert all(k.startswith("backbone.") for k in ewc.fishers[0])  # heads are never regularised
    assert any(f.abs().sum() > 0 for f in ewc.fishers[0].values())
    zero = torch.zeros(())
    batch = next(_batches("a"))
    assert ewc.loss("a", batch, model("a", batch), zero).item() == 0.0
    with torch.no_grad():
        for _, p in model.backbone_parameters():
            p.add_(0.01)
    small = ewc.loss("a", batch, model("a", batch), zero).item()
    with torch.no_grad():
        for _, p in model.backbone_parameters():
            p.add_(0.01)
    big = ewc.loss("a", batch, model("a", batch), zero).item()
    assert 0 < small < big
    # Quadratic: twice the distance, four times the penalty.
    assert big == pytest.approx(4 * small, rel=1e-3)
    expected = sum((f * 0.02**2).sum().item() for f in ewc.fishers[0].values()) * 10.0
    assert big == pytest.approx(expected, rel=1e-3)


def test_ewc_online_vs_separate() -> None:
    model = _model()
    env = _env(model)
    online = EWC(EWCParams(mode="online", gamma=0.5, fisher_samples=8), model)
    separate = EWC(EWCParams(mode="separate", fisher_samples=8), model)
    for ewc in (online, separate):
        ewc.after_task("a", env)
        ewc.after_task("b", env)
    assert len(online.fishers) == 1 and len(separate.fishers) == 2
    fa, fb = separate.fishers
    name = next(iter(fa))
    assert torch.allclose(online.fishers[0][name], 0.5 * fa[name] + fb[name])


def test_ewc_fisher_is_mean_squared_per_example_gradient() -> None:
    model = _model()
    # One pass per example (this file's batches differ by batch size; test_fisher.py covers the vmap path).
    ewc = EWC(EWCParams(fisher_samples=4, fisher_batch_size=1, fisher_vmap="never"), model)
    fisher = ewc._estimate_fisher("a", _env(model))
    model.eval()
    name, p = next(iter(model.backbone_parameters()))
    want = torch.zeros_like(p)
    for batch in _batches("a", batch_size=1, limit=4):
        model.zero_grad()
        task_loss(model("a", batch), batch["labels"]).backward()
        assert p.grad is not None
        want += p.grad.pow(2) / 4
    assert torch.allclose(fisher[name], want, atol=1e-7)


@pytest.mark.parametrize("name", APPROACHES.names())
def test_load_state_puts_tensors_on_the_models_device(name: str) -> None:
    """A checkpoint is read onto the CPU; a resumed GPU run needs the approach's tensors where the model is.
    The `meta` device stands in for a GPU here: anything left on the CPU shows."""
    cls = APPROACHES.get(name)
    model = _model()
    approach = cls(cls.Params(), model)
    env = _env(model)
    for task in ("a", "b"):
        approach.before_task(task, env)
        batch = next(_batches(task))
        logits = model(task, batch)
        approach.loss(task, batch, logits, task_loss(logits, batch["labels"]))
        approach.after_task(task, env)
    saved = {k: v.cpu() for k, v in approach.state_dict().items()}
    target = _model().to("meta")
    clone = cls(cls.Params(), target)
    clone.load_state(saved, approach.meta())
    restored = clone.state_dict()
    assert restored.keys() == saved.keys()
    # The replay memory stays on the CPU by design (batches are moved as they are drawn).
    off = [k for k, t in restored.items() if t.device.type != "meta" and not k.startswith("buffer.")]
    assert not off, off[:5]


def test_fisher_sample_is_seeded_random_not_the_first_rows() -> None:
    from types import SimpleNamespace

    from clsweep.tasks.task import Split
    from clsweep.training.trainer import ContinualTrainer

    # A training split ordered by class, as some files are: the first 20 rows are all class 0.
    split = Split([[5, 6 + i] for i in range(40)], None, [0] * 20 + [1] * 20, ["x"] * 40)
    fake: Any = SimpleNamespace(tasks={"a": SimpleNamespace(splits={"train": split})}, pad_id=0,
                                device=torch.device("cpu"), cfg=SimpleNamespace(train=SimpleNamespace(seed=0,
                                                                                                      batch_size=4)))

    def rows(sample: bool, seed: int = 0) -> list[int]:
        fake.cfg.train.seed = seed
        return [int(x) - 6 for b in ContinualTrainer._batches(fake, "a", limit=10, sample=sample)
                for x in b["input_ids"][:, 1]]

    assert rows(False) == list(range(10))  # the first rows: class 0 only
    drawn = rows(True)
    assert len(set(drawn)) == 10 and {r >= 20 for r in drawn} == {False, True}  # both classes
    assert rows(True) == drawn and rows(True, seed=1) != drawn  # seeded by the run's seed, reproducible
    calls: list[dict[str, Any]] = []

    def spy(task: str, **kw: Any) -> Iterator[dict[str, torch.Tensor]]:
        calls.append(kw)
        return _batches(task, **kw)

    model = _model()
    ewc = EWC(EWCParams(fisher_samples=8), model)
    ewc.after_task("a", TaskEnv(torch.device("cpu"), spy, lambda t, b: task_loss(model(t, b), b["labels"])))
    assert calls and all(c.get("sample") is True and c.get("limit") == 8 for c in calls)

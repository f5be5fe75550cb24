"""EWC's vectorised per-example Fisher equals one backward pass per example, padding and sampled labels included."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

import pytest
import torch

from clsweep.approaches import TaskEnv
from clsweep.approaches import fisher as grads
from clsweep.approaches.ewc import EWC, EWCParams
from clsweep.config import TinyBackbone
from clsweep.models import CLModel, HeadSpec, task_loss
from clsweep.models.tiny import tiny_backbone
from clsweep.tasks.task import Split
from clsweep.training.batching import collate

HEADS = {"a": HeadSpec("a", "a", "sequence", 3), "b": HeadSpec("b", "b", "token", 4)}


def _split(task: str, n: int = 40) -> Split:
    """Rows of 3 to 14 tokens (so batches pad), token labels -100 on the [CLS]-like first position."""
    rng = random.Random(task)
    ids = [[2] + [rng.randrange(5, 50) for _ in range(rng.randint(2, 13))] for _ in range(n)]
    if task == "a":
        return Split(ids, None, [rng.randrange(3) for _ in ids], ["x"] * n)
    return Split(ids, None, [[-100] + [rng.randrange(4) for _ in row[1:]] for row in ids], ["x"] * n)


SPLITS = {t: _split(t) for t in HEADS}


def _batches(task: str, split: str = "train", batch_size: int | None = None, limit: int | None = None,
             sample: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    rows = list(range(min(limit or 40, 40)))
    bs = batch_size or 8
    for start in range(0, len(rows), bs):
        yield collate(SPLITS[task], rows[start : start + bs], 0, torch.device("cpu"))


def _model(cls: type[CLModel] = CLModel) -> CLModel:
    torch.manual_seed(0)
    backbone = tiny_backbone(TinyBackbone(hidden_size=16, intermediate_size=32), vocab_size=50, max_length=16)
    return cls(backbone, HEADS, "mean", 0.1)


def _fisher(model: CLModel, task: str, **params: object) -> dict[str, torch.Tensor]:
    ewc = EWC(EWCParams.model_validate({"fisher_samples": 36, **params}), model)
    env = TaskEnv(torch.device("cpu"), _batches, lambda t, b: task_loss(model(t, b), b["labels"]))
    torch.manual_seed(7)  # the sampled Fisher draws its labels from torch's global generator
    return ewc._estimate_fisher(task, env)


def _assert_close(got: Mapping[str, torch.Tensor], want: Mapping[str, torch.Tensor]) -> None:
    assert got.keys() == want.keys()
    scale = max(float(w.abs().max()) for w in want.values())
    assert scale > 0
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-4, atol=1e-6 * scale, msg=name)


@pytest.mark.parametrize("kind", ["empirical", "sampled"])
@pytest.mark.parametrize("task", ["a", "b"])
def test_vectorized_fisher_equals_one_pass_per_example(task: str, kind: str) -> None:
    model = _model()
    batch = next(_batches(task, batch_size=8))
    assert int(batch["attention_mask"].sum()) < batch["attention_mask"].numel()  # the batch pads
    got = _fisher(model, task, fisher=kind)
    want = _fisher(model, task, fisher=kind, fisher_vmap="never")
    _assert_close(got, want)
    assert model.training  # the train/eval mode is restored
    assert all(p.grad is None for p in model.parameters())


def test_vmap_is_used_on_an_encoder() -> None:
    model = _model().eval()
    batch = next(_batches("b", batch_size=8))
    assert grads.vectorizable(model)
    assert grads.agrees(model, "b", batch, batch["labels"], dict(model.shared_parameters()))


def test_sampled_labels_are_drawn_per_row_as_one_example_batches_draw_them() -> None:
    model = _model().eval()
    batch = next(_batches("b", batch_size=8))
    with torch.no_grad():
        logits = model("b", batch)
    torch.manual_seed(3)
    together = grads.sample_labels(logits, batch)
    torch.manual_seed(3)
    for i, n in enumerate(grads.lengths(batch)):
        one = grads.example(batch, batch["labels"], i, n)
        with torch.no_grad():
            alone = model("b", one)
        drawn = torch.distributions.Categorical(logits=alone).sample()
        want = torch.where(one["labels"] == -100, one["labels"], drawn)
        assert one["input_ids"].shape[1] == n
        assert torch.equal(together[i, :n], want[0])
        assert (together[i, n:] == -100).all()


class _NoBias(CLModel):
    """A backbone that does not honour the ready-made mask: its padding is attended to."""

    def encode(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.backbone(input_ids=batch["input_ids"]).last_hidden_state


class _Untraceable(CLModel):
    """A model with data-dependent control flow, which vmap cannot trace."""

    def encode(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if bool(batch["attention_mask"].all()):
            return super().encode({k: v for k, v in batch.items() if k != "attention_bias"})
        return super().encode(batch)


@pytest.mark.parametrize("cls", [_NoBias, _Untraceable])
def test_a_model_vmap_gets_wrong_falls_back_to_the_exact_loop(cls: type[CLModel]) -> None:
    model = _model(cls)
    batch = next(_batches("b", batch_size=8))
    assert not grads.agrees(model.eval(), "b", batch, batch["labels"], dict(model.shared_parameters()))
    model.train()
    _assert_close(_fisher(model, "b"), _fisher(model, "b", fisher_vmap="never"))


def test_auto_uses_vmap_only_where_it_is_measured_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    small = [torch.zeros(1000), torch.zeros(64, 64)]
    assert grads.faster(small)
    assert not grads.faster([*small, torch.zeros(grads.VMAP_MAX_CPU_PARAMS)])  # too big for it to pay on CPU
    assert not grads.faster([torch.zeros(10, device="meta")])  # GPUs (here: not the CPU) are unmeasured: the loop
    calls: list[str] = []
    real = grads.vectorized
    monkeypatch.setattr(grads, "vectorized", lambda *a, **k: calls.append("vmap") or real(*a, **k))
    model = _model()
    _fisher(model, "a")  # auto, on the tiny test model
    assert calls
    calls.clear()
    monkeypatch.setattr(grads, "VMAP_MAX_CPU_PARAMS", 10)
    _fisher(model, "a")
    assert not calls
    _fisher(model, "a", fisher_vmap="always")
    assert calls


def _exact_by_hand(model: CLModel, task: str, rows: int) -> dict[str, torch.Tensor]:
    """(1/N) sum over examples and labels y of p(y|x) * (d log p(y|x) / d theta)^2, one autograd call each."""
    model.eval()
    params = dict(model.shared_parameters())
    out = {n: torch.zeros_like(p) for n, p in params.items()}
    for i in range(rows):
        n = len(SPLITS[task].input_ids[i])
        one = collate(SPLITS[task], [i], 0, torch.device("cpu"))
        one = {k: v[:, :n] if v.dim() == 2 else v for k, v in one.items()}
        logp = torch.log_softmax(model(task, one).float(), -1)[0]
        for y in range(logp.shape[0]):
            g = torch.autograd.grad(logp[y], list(params.values()), retain_graph=True, allow_unused=True)
            for (name, _), gy in zip(params.items(), g, strict=True):
                if gy is not None:
                    out[name] += logp[y].exp().detach() * gy.pow(2)
    return {n: f / rows for n, f in out.items()}


@pytest.mark.parametrize("vmap", ["always", "never"])
def test_exact_fisher_is_the_expectation_over_every_label(vmap: str) -> None:
    model = _model()
    got = _fisher(model, "a", fisher="exact", fisher_vmap=vmap)
    _assert_close(got, _exact_by_hand(model, "a", 36))
    # ... and it is neither the empirical nor a sampled Fisher.
    empirical = _fisher(model, "a", fisher="empirical", fisher_vmap=vmap)
    assert any(not torch.allclose(got[n], empirical[n], rtol=1e-3) for n in got)


def test_exact_fisher_is_refused_where_it_is_not_defined_here() -> None:
    from clsweep.approaches.ewc import EWCParams as P

    assert EWC.params_problem(P(fisher="exact"), frozenset({"sequence"})) is None
    assert "label per token" in (EWC.params_problem(P(fisher="exact"), frozenset({"sequence", "token"})) or "")
    assert "label per token" in (EWC.params_problem(P(fisher="exact"), frozenset({"text2text"})) or "")
    assert "fisher_batch_size" in (EWC.params_problem(P(fisher="exact", fisher_batch_size=4),
                                                      frozenset({"sequence"})) or "")

"""Each approach does what its paper says: isolation gives BWT 0, buffers stay bounded and balanced,
A-GEM never opposes the reference gradient, LwF vanishes at the teacher, DER++ scores with the right head."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from clsweep.approaches import TaskEnv
from clsweep.approaches.agem import AGEM, AGEMParams, project
from clsweep.approaches.buffer import ReplayBuffer
from clsweep.approaches.derpp import DERpp, DERppParams
from clsweep.approaches.lwf import LwF, LwFParams, distillation
from clsweep.config import TinyBackbone
from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.models import CLModel, HeadSpec, task_loss
from clsweep.models.tiny import tiny_backbone
from clsweep.training.run import run_experiment

HEADS = {"a": HeadSpec("a", "a", "sequence", 3), "b": HeadSpec("b", "b", "token", 4),
         "c": HeadSpec("c", "c", "sequence", 2)}


def _model(seed: int = 0) -> CLModel:
    torch.manual_seed(seed)
    backbone = tiny_backbone(TinyBackbone(hidden_size=16, intermediate_size=32, dropout=0.0), vocab_size=50,
                             max_length=16)
    return CLModel(backbone, HEADS, "cls", 0.0)


def _batch(task: str, n: int = 6, seed: int = 1) -> dict[str, torch.Tensor]:
    """Rows of different lengths (padding after), sequence or token labels by task."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 50, (n, 9), generator=gen)
    mask = torch.ones_like(ids)
    for r in range(n):
        mask[r, 5 + r % 4 :] = 0
    ids = ids * mask
    if HEADS[task].kind == "token":
        labels = torch.randint(0, 4, (n, 9), generator=gen).masked_fill(mask == 0, -100)
    else:
        labels = torch.randint(0, HEADS[task].num_labels, (n,), generator=gen)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _batches(task: str, split: str = "train", batch_size: int | None = None, limit: int | None = None,
             sample: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    yield _batch(task)


def _env(model: CLModel) -> TaskEnv:
    return TaskEnv(torch.device("cpu"), _batches, lambda t, b: task_loss(model(t, b), b["labels"]))


# ------------------------------------------------------------------ parameter isolation: BWT = 0


@pytest.mark.parametrize("name", ["lora", "independent", "prompt_tuning", "probe"])
def test_isolation_gives_zero_bwt_and_forgetting(raw: dict[str, Any], tmp_path: Path, name: str) -> None:
    raw = copy.deepcopy(raw)
    raw["approach"] = {"name": name}
    raw["train"].update(lr=1e-2, epochs=2)
    cfg = validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    res = run_experiment(cfg, tmp_path / name, progress=False, log=lambda m: None)
    R, T = res["matrix"], len(res["order"])
    assert res["metrics"]["bwt"] == 0.0 and res["metrics"]["forgetting"] == 0.0
    for j in range(T):  # exactly: a task's score never moves after its own training
        assert all(R[i][j] == R[j][j] for i in range(j, T))
    # ... and it is not a model that learns nothing: training a task moves that task's score.
    assert any(R[j][j] != res["initial"][j] for j in range(T))


# ------------------------------------------------------------------------------- replay buffer


def _fill(buffer: ReplayBuffer, task: str, n_batches: int, seed: int) -> None:
    buffer.begin_task(task)
    for k in range(n_batches):
        buffer.add_batch(task, _batch(task, seed=seed + k))


def test_balanced_buffer_stays_within_size_and_balanced() -> None:
    torch.manual_seed(0)
    buffer = ReplayBuffer(size=10, policy="balanced")
    for k, task in enumerate(["a", "b", "c"]):
        _fill(buffer, task, n_batches=5, seed=10 * k)  # 30 examples offered per task
        counts = buffer.tasks()
        assert len(buffer.items) <= 10
        assert set(counts.values()) == {10 // (k + 1)}, counts  # every task holds exactly its share
    # Token ids, unpadded, as stored: a 5..8-token row keeps exactly its tokens.
    assert all(e.input_ids.dtype == torch.long and 5 <= len(e.input_ids) <= 8 for e in buffer.items)
    assert all((e.input_ids != 0).all() for e in buffer.items)


def test_reservoir_buffer_stays_within_size_and_keeps_every_task() -> None:
    torch.manual_seed(0)
    buffer = ReplayBuffer(size=12, policy="reservoir")
    for k, task in enumerate(["a", "b", "c"]):
        _fill(buffer, task, n_batches=10, seed=10 * k)
        assert len(buffer.items) == 12
    assert buffer.seen == {"a": 60, "b": 60, "c": 60}
    assert set(buffer.tasks()) == {"a", "b", "c"}  # 180 offered, 12 kept: every task survives


_FILL = """
import json, torch
from clsweep.approaches.buffer import ReplayBuffer
torch.manual_seed(0)
b = ReplayBuffer(size=9, policy="balanced")
for k, task in enumerate(["ner", "topic", "pair", "intent"]):
    b.begin_task(task)
    for j in range(4):
        ids = torch.arange(5, 11) + 10 * (4 * k + j)
        b.add_batch(task, {"input_ids": ids.reshape(2, 3), "attention_mask": torch.ones(2, 3, dtype=torch.long),
                           "labels": torch.zeros(2, dtype=torch.long)})
print(json.dumps([e.input_ids.tolist() for e in b.items]))
"""


def test_buffer_contents_do_not_depend_on_the_process_hash_seed() -> None:
    def fill(hash_seed: str) -> list[list[int]]:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", _FILL], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    assert fill("1") == fill("2") == fill("3")


def test_buffer_round_trips_and_batches_by_task() -> None:
    torch.manual_seed(0)
    buffer = ReplayBuffer(size=8, policy="balanced")
    _fill(buffer, "a", 2, 0)
    _fill(buffer, "b", 2, 5)
    clone = ReplayBuffer(size=8, policy="balanced")
    clone.load_state(buffer.state_dict(), buffer.meta())
    assert clone.meta() == buffer.meta()
    assert all(torch.equal(x, y) for x, y in zip(buffer.state_dict().values(), clone.state_dict().values(),
                                                   strict=True))
    rb = buffer.batch(list(range(len(buffer.items))), pad_id=0, device=torch.device("cpu"))
    for g in rb.groups:
        for row, k in zip(g.rows.tolist(), [i for i, e in enumerate(buffer.items) if e.task == g.task],
                          strict=True):
            n = len(buffer.items[k].input_ids)
            assert torch.equal(rb.inputs["input_ids"][row, :n], buffer.items[k].input_ids)
            assert rb.inputs["attention_mask"][row].sum() == n


# ---------------------------------------------------------------------------------------- A-GEM


def test_agem_projection_by_hand() -> None:
    g, r = [torch.tensor([1.0, 0.0])], [torch.tensor([-1.0, 1.0])]
    # g.r = -1 < 0: g - (-1 / 2) r = [0.5, 0.5], whose dot with r is 0.
    (p,) = project(g, r)
    assert torch.allclose(p, torch.tensor([0.5, 0.5])) and float(p @ r[0]) == 0.0
    agree = [torch.tensor([1.0, 1.0])]
    assert all(torch.equal(a, b) for a, b in zip(project(agree, r), agree, strict=True))  # no conflict: unchanged
    zero = [torch.zeros_like(x) for x in r]
    assert all(torch.equal(a, b) for a, b in zip(project(agree, zero), agree, strict=True))  # empty memory: no NaN


def _agem_with_memory() -> tuple[CLModel, AGEM]:
    model = _model()
    agem = AGEM(AGEMParams(buffer_size=20, memory_batch_size=8), model)
    agem.before_task("a", _env(model))
    for k in range(3):
        agem.loss("a", _batch("a", seed=k), torch.zeros(()), torch.zeros(()))
    agem.before_task("b", _env(model))
    return model, agem


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def test_agem_projected_gradient_never_opposes_the_reference() -> None:
    model, agem = _agem_with_memory()
    batch = _batch("b", seed=9)
    for flip in (False, True):  # a real gradient, and one made to oppose the reference outright
        model.zero_grad()
        task_loss(model("b", batch), batch["labels"]).backward()
        params = [p for p in model.parameters() if p.grad is not None]
        assert agem.env is not None
        agem.env.stepped = params  # what the trainer steps with `old_heads: frozen`: backbone and b's head
        torch.manual_seed(3)
        ref = _flat([torch.zeros_like(p) if r is None else r
                     for p, r in zip(params, agem.reference_grads("b", params) or [], strict=True)])
        if flip:
            for p, g in zip(params, torch.split(-ref, [p.numel() for p in params]), strict=True):
                p.grad = g.reshape(p.shape).clone()
        before = _flat([p.grad for p in params if p.grad is not None])
        torch.manual_seed(3)  # the same memory draw as `ref`
        agem.after_backward("b")
        after = _flat([p.grad for p in params if p.grad is not None])
        assert float(after @ ref) >= -1e-6 * float(ref.norm() * after.norm())
        if float(before @ ref) < 0:
            assert float(after @ ref) == pytest.approx(0.0, abs=1e-5)
        else:
            assert torch.equal(after, before)
    assert float(before @ ref) < 0  # the flipped case did exercise the projection


# ------------------------------------------------------------------------------------------ LwF


def test_distillation_by_hand() -> None:
    s, t = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 2.0 * torch.log(torch.tensor(3.0))]])
    # Temperature 2: teacher probs softmax([0, ln 3]) = [1/4, 3/4], student [1/2, 1/2].
    kl = 0.25 * torch.log(torch.tensor(0.5)) + 0.75 * torch.log(torch.tensor(1.5))
    assert float(distillation(s, t, None, 2.0)) == pytest.approx(float(kl), rel=1e-5)  # Li & Hoiem: no T^2
    assert float(distillation(s, t, None, 2.0, t_squared=True)) == pytest.approx(4 * float(kl), rel=1e-5)
    # Token logits: masked positions do not count, whatever their values.
    st, tt = torch.zeros(1, 3, 2), torch.zeros(1, 3, 2)
    tt[0, 0], tt[0, 2] = t[0], torch.tensor([9.0, -9.0])
    mask = torch.tensor([[1, 1, 0]])
    assert float(distillation(st, tt, mask, 2.0)) == pytest.approx(float(kl) / 2, rel=1e-5)


def test_distillation_gradient_is_li_and_hoiem_cross_entropy() -> None:
    # Li & Hoiem's L_old = -sum y'_o log yhat'_o on T-softened outputs, lambda_o 1, no T^2: with a fixed
    # teacher the KL differs from it by the teacher's entropy, a constant, so the gradients are equal.
    gen = torch.Generator().manual_seed(3)
    teacher = torch.randn(5, 4, generator=gen)
    student = torch.randn(5, 4, generator=gen, requires_grad=True)
    distillation(student, teacher, None, 2.0).backward()
    ours = student.grad.clone()
    student.grad = None
    ce = -(torch.softmax(teacher / 2.0, -1) * torch.log_softmax(student / 2.0, -1)).sum(-1).mean()
    ce.backward()
    assert torch.allclose(ours, student.grad, atol=1e-6)


def test_lwf_warm_up_trains_the_new_head_alone_then_everything() -> None:
    model = _model()
    lwf = LwF(LwFParams(warmup_epochs=1), model)
    env = _env(model)
    env.epoch_steps = 2
    lwf.after_task("a", env)
    lwf.before_task("c", env)
    batch = _batch("c")
    grads = []
    for _ in range(3):
        if len(grads) == 2:  # as the optimizer would have: the student leaves the teacher
            with torch.no_grad():
                for _, p in model.backbone_parameters():
                    p.add_(0.05 * torch.randn_like(p))
        model.zero_grad(set_to_none=True)
        logits = model("c", batch)
        base = task_loss(logits, batch["labels"])
        total = lwf.loss("c", batch, logits, base)
        assert torch.equal(total, base) == (len(grads) < 2)  # no distillation during the warm-up
        total.backward()
        lwf.after_backward("c")
        grads.append({n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0})
    assert all(g and all(n.startswith("heads.c.") for n in g) for g in grads[:2])
    assert any(n.startswith("heads.a.") for n in grads[2]) and any(not n.startswith("heads.") for n in grads[2])
    # The first task has nothing to warm up against: plain fine-tuning, every parameter from the first step.
    first = LwF(LwFParams(warmup_epochs=1), _model())
    first.before_task("a", env)
    assert not first.warming_up()


def test_lwf_all_warm_up_leaves_earlier_tasks_exactly_as_they_were(raw: dict[str, Any], tmp_path: Path) -> None:
    # Warm-up through every epoch: after the first task only new heads train, through the real trainer and
    # optimizer (AdamW with weight decay: a parameter without a gradient must not move at all).
    raw = copy.deepcopy(raw)
    raw["approach"] = {"name": "lwf", "lwf": {"warmup_epochs": 2}}
    raw["train"].update(lr=1e-2, epochs=2, weight_decay=0.1)
    cfg = validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    res = run_experiment(cfg, tmp_path / "lwf", progress=False, log=lambda m: None)
    R, T = res["matrix"], len(res["order"])
    for j in range(T):
        assert all(R[i][j] == R[j][j] for i in range(j, T))
    assert any(R[j][j] != res["initial"][j] for j in range(1, T))  # the new heads did learn


def test_lwf_term_is_zero_when_student_equals_teacher() -> None:
    model = _model().eval()
    lwf = LwF(LwFParams(alpha=5.0), model)
    env = _env(model)
    lwf.after_task("a", env)
    lwf.after_task("b", env)
    lwf.before_task("c", env)
    batch = _batch("c")
    logits = model("c", batch)
    base = task_loss(logits, batch["labels"])
    assert torch.equal(lwf.loss("c", batch, logits, base), base)
    with torch.no_grad():
        for _, p in model.backbone_parameters():
            p.add_(0.05 * torch.randn_like(p))
    logits = model("c", batch)
    base = task_loss(logits, batch["labels"])
    assert lwf.loss("c", batch, logits, base).item() > base.item()


# ---------------------------------------------------------------------------------------- DER++


def _record_draws(buffer: ReplayBuffer) -> list[int]:
    """The sizes of every draw from `buffer` from now on (the draws themselves unchanged)."""
    sizes: list[int] = []
    sample = buffer.sample
    buffer.sample = lambda n, exclude=None: sizes.append(n) or sample(n, exclude)  # type: ignore[method-assign]
    return sizes


@pytest.mark.parametrize("every", [1, 3])
def test_replay_every_k_steps_draws_on_every_kth_step_only(every: int) -> None:
    from clsweep.approaches.replay import Replay, ReplayParams

    model = _model().eval()
    replay = Replay(ReplayParams(buffer_size=50, replay_batch_size=4, replay_every=every), model)
    env = _env(model)
    replay.before_task("a", env)
    replay.buffer.add_batch("a", _batch("a"))
    replay.before_task("c", env)
    drawn = _record_draws(replay.buffer)
    batch = _batch("c")
    losses = []
    for _ in range(9):
        logits = model("c", batch)
        base = task_loss(logits, batch["labels"])
        losses.append(bool(replay.loss("c", batch, logits, base) != base))
    assert drawn == [4] * (9 // every)
    assert losses == [(i + 1) % every == 0 for i in range(9)]  # the replayed examples join those steps only


@pytest.mark.parametrize("draws", [1, 2])
def test_derpp_draws_the_buffer_once_per_term(draws: int) -> None:
    model = _model().eval()
    derpp = DERpp(DERppParams(buffer_size=50, replay_batch_size=4, draws=draws), model)
    env = _env(model)
    derpp.before_task("a", env)
    derpp.buffer.add_batch("a", _batch("a"), model("a", _batch("a")).detach())
    derpp.before_task("c", env)
    sizes = _record_draws(derpp.buffer)
    batch = _batch("c")
    logits = model("c", batch)
    derpp.loss("c", batch, logits, task_loss(logits, batch["labels"]))
    assert sizes == [4] * draws


def test_derpp_scores_each_sample_with_its_own_head() -> None:
    model = _model().eval()
    derpp = DERpp(DERppParams(alpha=1.0, beta=1.0, buffer_size=50, replay_batch_size=50), model)
    env = _env(model)
    for task in ("a", "b"):  # a sequence head with 3 labels, a token head with 4
        derpp.before_task(task, env)
        batch = _batch(task)
        derpp.buffer.add_batch(task, batch, model(task, batch).detach())
    derpp.before_task("c", env)
    calls: list[tuple[str, int]] = []
    hooks = [model.heads[h].register_forward_hook(lambda m, i, o, h=h: calls.append((h, int(o.shape[0]))))
             for h in ("a", "b", "c")]
    torch.manual_seed(0)
    terms = derpp.replay_terms()
    for hook in hooks:
        hook.remove()
    assert terms is not None
    mse, ce = terms
    # Every sample through its own head, none through c's; twice: one draw for each term (the paper's code).
    assert sorted(calls) == [("a", 6), ("a", 6), ("b", 6), ("b", 6)]
    assert float(mse) == pytest.approx(0.0, abs=1e-10)  # stored logits are exactly those heads' outputs
    want = (task_loss(model("a", _batch("a")), _batch("a")["labels"])
            + task_loss(model("b", _batch("b")), _batch("b")["labels"])) / 2
    assert float(ce) == pytest.approx(float(want), rel=1e-5)

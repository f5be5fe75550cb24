"""Approaches on a generative LM do what their papers define: O-LoRA's orthogonality term and frozen, still
active old adapters; sequential LoRA's one adapter on a frozen LM; LwF's distillation over target tokens;
replay's stored targets."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch

from clsweep.approaches.base import TaskEnv
from clsweep.approaches.buffer import replay_ce
from clsweep.approaches.lora import LoRAParams
from clsweep.approaches.lwf import LwF, LwFParams, distillation
from clsweep.approaches.olora import OLoRA, OLoRAParams
from clsweep.approaches.replay import Replay, ReplayParams
from clsweep.approaches.seq_lora import SeqLoRA
from clsweep.models import task_loss
from clsweep.models.generative import GenerativeLM
from clsweep.models.tiny import tiny_lm, tiny_tokenizer
from clsweep.tasks.task import Split
from clsweep.training.batching import collate

SIZE = SimpleNamespace(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, dropout=0.0)
CPU = torch.device("cpu")


def _model(kind: str = "tiny-t5") -> GenerativeLM:
    torch.manual_seed(0)
    tok = tiny_tokenizer(generative=True)
    return GenerativeLM(tiny_lm(kind, SIZE, tok, 64), ["a", "b"], tok)


def _batch(model: GenerativeLM, target: str = "sports") -> dict[str, torch.Tensor]:
    tok = model.tokenizer
    prompts = ["what is the topic", "the first sentence here", "answer"]
    targets = [tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in (target, "no", "yes")]
    split = Split([tok(p)["input_ids"] for p in prompts], None, [0, 0, 0], prompts, targets)
    return collate(split, [0, 1, 2], model.pad_id, CPU)


def _env(model: GenerativeLM) -> TaskEnv:
    return TaskEnv(CPU, lambda *a, **k: iter(()), lambda t, b: task_loss(model(t, b), b["labels"]))


def _train(model: GenerativeLM, approach: Any, task: str, steps: int = 5) -> None:
    approach.before_task(task, _env(model))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.5)
    batch = _batch(model, "science" if task == "b" else "sports")
    for _ in range(steps):
        logits = model(task, batch)
        loss = approach.loss(task, batch, logits, task_loss(logits, batch["labels"]))
        model.zero_grad()
        loss.backward()
        opt.step()
    approach.after_task(task, _env(model))


def _lora(model: GenerativeLM, adapter: str) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if f".{adapter}." in n and "lora_" in n}


def test_olora_freezes_old_adapters_keeps_them_active_and_adds_the_orthogonality_term() -> None:
    model = _model()
    olora = OLoRA(OLoRAParams(lambda_orth=0.5, lambda_l2=0.1, dropout=0.0), model)
    _train(model, olora, "a")
    after_a = _lora(model, "task_a")
    assert any(v.abs().sum() > 0 for k, v in after_a.items() if "lora_B" in k)  # task a's adapter learned
    _train(model, olora, "b")
    assert all(torch.equal(v, _lora(model, "task_a")[k]) for k, v in after_a.items())  # frozen during b
    assert sorted(olora.peft_model.base_model.active_adapters) == ["task_a", "task_b"]  # both, no task id
    # The term by hand: sum over LoRA modules of |A_a A_b^T| (elementwise), plus lambda_2 * norms of b's matrices.
    modules = [m for m in model.modules() if hasattr(m, "lora_A") and isinstance(m.lora_A, torch.nn.ModuleDict)
               and len(m.lora_A)]
    orth = sum(float((m.lora_A["task_a"].weight @ m.lora_A["task_b"].weight.T).abs().sum()) for m in modules)
    l2 = sum(float(m.lora_A["task_b"].weight.norm() + m.lora_B["task_b"].weight.norm()) for m in modules)
    olora.before_task("b", _env(model))
    zero = torch.zeros(())
    got = float(olora.loss("b", _batch(model), model("b", _batch(model)), zero))
    assert orth > 0 and abs(got - (0.5 * orth + 0.1 * l2)) < 1e-4 * max(1.0, got)
    assert float(olora.loss("a", _batch(model), model("a", _batch(model)), zero)) >= 0  # no old adapter: no term


def test_an_untrained_olora_adapter_changes_nothing() -> None:
    """Adapters of tasks not learned yet start at B = 0: the model computes exactly what the LM alone does."""
    model = _model()
    batch = _batch(model)
    with torch.no_grad():
        plain = model("a", batch)
    OLoRA(OLoRAParams(dropout=0.0), model)
    with torch.no_grad():
        assert torch.equal(model("a", batch), plain)


def test_sequential_lora_trains_one_adapter_and_never_the_lm() -> None:
    model = _model()
    base = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}
    seq = SeqLoRA(LoRAParams(r=4, alpha=8.0), model)
    _train(model, seq, "a")
    _train(model, seq, "b")
    names = {n.split(".")[-2] for n, _ in model.named_parameters() if "lora_" in n}
    assert names == {"shared"}
    now = {n.replace("base_model.model.", "").replace(".base_layer", ""): p for n, p in model.named_parameters()
           if "lora_" not in n}
    assert len(now) == len(base) and all(torch.equal(now[n], base[n]) for n in base)


def test_lwf_distils_the_target_tokens_of_the_lm_head() -> None:
    model = _model()
    lwf = LwF(LwFParams(alpha=1.0, temperature=2.0), model)
    _train(model, lwf, "a")
    lwf.before_task("b", _env(model))
    batch = _batch(model, "science")
    zero = torch.zeros(())
    logits = model("b", batch)
    assert abs(float(lwf.loss("b", batch, logits, zero))) < 1e-6  # the student is still the teacher
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    logits = model("b", batch)
    assert lwf.teacher is not None
    with torch.no_grad():
        want = distillation(logits, lwf.teacher("b", batch), batch["target_mask"], 2.0)
    got = lwf.loss("b", batch, logits, zero)
    assert float(got) > 0 and torch.allclose(got, want)


def test_replay_stores_each_example_with_its_own_target() -> None:
    model = _model()
    replay = Replay(ReplayParams(buffer_size=10), model)
    replay.before_task("a", _env(model))
    batch = _batch(model)
    replay.buffer.add_batch("a", batch)
    lengths = batch["target_mask"].sum(1).tolist()
    assert [len(e.labels) for e in replay.buffer.items] == lengths and all(e.target for e in replay.buffer.items)
    rb = replay.buffer.batch([0, 1, 2], model.pad_id, CPU)
    torch.testing.assert_close(rb.inputs["labels"], batch["labels"])
    with torch.no_grad():  # replaying the stored rows is the loss of the batch they came from
        torch.testing.assert_close(replay_ce(model, rb), task_loss(model("a", batch), batch["labels"]))


def test_progressive_prompts_stack_new_prompts_before_frozen_ones_and_never_forget() -> None:
    from clsweep.approaches.progressive_prompts import ProgressivePrompts, ProgressivePromptsParams

    model = _model("tiny-gpt2")
    lm_before = {n: p.detach().clone() for n, p in model.backbone.named_parameters()}
    pp = ProgressivePrompts(ProgressivePromptsParams(prompt_length=4, mlp_hidden=8), model)
    batch = _batch(model)
    _train(model, pp, "a")
    with torch.no_grad():
        a_after_a = model("a", batch)
    p_a = pp.bank.prompts["task_a"].detach().clone()
    _train(model, pp, "b")
    assert torch.equal(pp.bank.prompts["task_a"], p_a)  # frozen while b trains
    assert all(torch.equal(p, lm_before[n]) for n, p in model.backbone.named_parameters())  # the LM never moves
    with torch.no_grad():
        torch.testing.assert_close(model("a", batch), a_after_a, rtol=0, atol=0)  # task a: exactly as it was
        stack = pp.prefix("b")
    assert stack is not None and stack.shape[0] == 8
    assert torch.equal(stack[:4], pp.bank.prompts["task_b"]) and torch.equal(stack[4:], p_a)  # newest first


def test_progressive_prompts_start_from_the_runs_seed() -> None:
    from clsweep.approaches.progressive_prompts import ProgressivePrompts, ProgressivePromptsParams

    def first_prompt(seed: int) -> torch.Tensor:
        model = _model()
        torch.manual_seed(seed)  # as build_model does with the run's seed
        pp = ProgressivePrompts(ProgressivePromptsParams(prompt_length=4), model)
        return pp.bank.prompts["task_a"].detach().clone()

    assert torch.equal(first_prompt(1), first_prompt(1)) and not torch.equal(first_prompt(1), first_prompt(2))

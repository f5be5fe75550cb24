"""CL scenarios: every approach runs in each scenario it accepts and is refused (exit 2) in the others; what
each scenario means at test time; LwF, EWC and L2 on the one shared head of domain- and class-IL."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from clsweep.approaches import APPROACHES
from clsweep.approaches.ewc import EWC, EWCParams
from clsweep.approaches.l2 import L2, L2Params
from clsweep.approaches.lwf import LwF, LwFParams, distillation
from clsweep.cli import main
from clsweep.config import TinyBackbone
from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.models import CLModel, HeadSpec, task_loss
from clsweep.models.tiny import tiny_backbone
from clsweep.scenario import SCENARIOS, visible_classes
from clsweep.training.run import run_experiment

# domain_il: two binary tasks mapped onto one label set; class_il: two tasks with disjoint labels.
TASKS = {
    "task_il": {"topic": {"source": {"task": "topic"}}, "intent": {"source": {"task": "intent"}}},
    "domain_il": {"sentiment": {"source": {"task": "sentiment"}},
                  "register": {"source": {"task": "register"},
                               "label_map": {"casual": "negative", "formal": "positive"}}},
    "class_il": {"topic": {"source": {"task": "topic"}}, "intent": {"source": {"task": "intent"}}},
    # generative: the same two tasks written as text-to-text, on the tiny T5
    "generative": {"topic": {"type": "text2text", "source": {"task": "topic"}},
                   "intent": {"type": "text2text", "source": {"task": "intent"}}},
}
CASES = [(a, s) for a in APPROACHES.names() for s in SCENARIOS]


def _raw(raw: dict[str, Any], approach: str, scenario: str) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    src = {**raw["tasklist"]["defaults"]["source"], "train_size": 32, "dev_size": 16, "test_size": 16}
    raw["tasklist"] = {"defaults": {"source": src}, "tasks": TASKS[scenario]}
    raw["approach"] = {"name": approach}
    if approach == "ewc":
        raw["approach"]["ewc"] = {"fisher_samples": 8, "fisher_batch_size": 4}
    raw["scenario"] = scenario
    if scenario == "generative":
        raw["model"]["backbone"] = "tiny-t5"
    raw["observe"] = {"resources": False, "misclassified": False}
    raw["run"]["tensorboard"] = False
    raw["train"]["lr"] = 1e-2
    return raw


@pytest.mark.parametrize(("approach", "scenario"), CASES, ids=[f"{a}-{s}" for a, s in CASES])
def test_every_approach_in_every_scenario(raw: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          approach: str, scenario: str) -> None:
    data = _raw(raw, approach, scenario)
    if scenario not in APPROACHES.get(approach).scenarios:
        exp = tmp_path / "exp.yaml"
        exp.write_text(yaml.safe_dump(data), encoding="utf-8")
        assert main(["train", str(exp), "--out", str(tmp_path / "out"), "--quiet"]) == 2
        err = capsys.readouterr().err
        first_valid = next(s for s in SCENARIOS if s in APPROACHES.get(approach).scenarios)
        said = ("has no generative form", "valid approaches: ") if scenario == "generative" else \
            ("defined on generative LMs only", "text2text") if first_valid == "generative" else \
            ("scenario", f"valid for {approach}: {first_valid}")
        assert all(x in err for x in said) and "Traceback" not in err
        assert not (tmp_path / "out").exists()
        return
    cfg = validate(data, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    result = run_experiment(cfg, tmp_path / "out", progress=False, log=lambda m: None)
    assert result["scenario"] == scenario and result["config"]["scenario"] == scenario
    first, second = result["order"]
    assert all(0.0 <= v <= 1.0 for row in result["matrix"] for v in row)
    heads = {s["head"] for s in result["config"]["tasklist"]["tasks"].values()}
    if scenario in ("task_il", "generative"):
        assert heads == {None}  # one head per task by task name; a generative LM's one LM head
        return
    assert heads == {"shared"}
    labels = result["labels"]
    assert labels[first] == labels[second]  # one head over one label list
    if scenario == "class_il":
        assert len(labels[first]) == 4 + 3  # the union of topic's and intent's labels
        # After the first task only its classes can be predicted: the second task (disjoint labels) scores 0.
        assert result["matrix"][0][1] == 0.0
        assert result["metrics"]["fwt"] is None
    else:
        assert len(labels[first]) == 2


def test_visible_classes_by_scenario() -> None:
    heads = {"a": "h", "b": "h", "c": "c"}
    own = {"a": (0, 1), "b": (2, 3, 4), "c": None}
    assert visible_classes("task_il", "b", ["a"], heads, own) == [2, 3, 4]  # task id known: its own labels
    assert visible_classes("task_il", "c", ["a"], heads, own) is None
    assert visible_classes("domain_il", "b", ["a"], heads, own) is None
    assert visible_classes("class_il", "b", [], heads, own) is None  # row b: nothing seen, the whole head
    assert visible_classes("class_il", "b", ["a"], heads, own) == [0, 1]  # b's classes not yet seen
    assert visible_classes("class_il", "a", ["a", "b"], heads, own) == [0, 1, 2, 3, 4]


# ----------------------------------------------------------------------------- one shared head


def _shared_model(classes: dict[str, tuple[int, ...] | None]) -> CLModel:
    torch.manual_seed(0)
    backbone = tiny_backbone(TinyBackbone(hidden_size=16, intermediate_size=32), vocab_size=50, max_length=16)
    heads = {t: HeadSpec(t, "shared", "sequence", 5, c) for t, c in classes.items()}
    return CLModel(backbone, heads, "cls", 0.0)


def _batch(label_high: int, seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 50, (6, 10), generator=g)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids),
            "labels": torch.randint(0, label_high, (6,), generator=g)}


def test_lwf_distils_the_old_classes_of_a_shared_head() -> None:
    """Class-IL: task a owns classes 0-1, task b 2-4 on one head; learning b distils a's two columns."""
    model = _shared_model({"a": (0, 1), "b": (2, 3, 4)})
    lwf = LwF(LwFParams(alpha=1.0, temperature=2.0), model)
    env: Any = type("Env", (), {"autocast": staticmethod(torch.no_grad)})()
    lwf.seen = ["a"]
    lwf.before_task("b", env)
    with torch.no_grad():  # the student moves away from the teacher
        for p in model.heads["shared"].parameters():
            p.add_(0.5)
    batch = _batch(5)
    logits = model("b", batch)
    base = task_loss(logits, batch["labels"])
    term = (lwf.loss("b", batch, logits, base) - base).detach()
    assert lwf.teacher is not None
    with torch.no_grad():
        teacher = lwf.teacher("a", batch)
    want = distillation(logits[:, [0, 1]], teacher[:, [0, 1]], None, 2.0)
    assert float(term) > 0 and float(term) == pytest.approx(float(want), rel=1e-4)
    whole = distillation(logits, teacher, None, 2.0)
    assert float(term) != pytest.approx(float(whole), rel=1e-3)  # not the whole head: b's own classes are new


def test_lwf_distils_the_whole_shared_head_in_domain_il() -> None:
    model = _shared_model({"a": None, "b": None})
    lwf = LwF(LwFParams(), model)
    env: Any = type("Env", (), {"autocast": staticmethod(torch.no_grad)})()
    lwf.seen = ["a"]
    lwf.before_task("b", env)
    with torch.no_grad():
        for p in model.heads["shared"].parameters():
            p.add_(0.5)
    batch = _batch(5)
    logits = model("b", batch)
    base = task_loss(logits, batch["labels"])
    assert lwf.teacher is not None
    with torch.no_grad():
        want = distillation(logits, lwf.teacher("a", batch), None, 2.0)
    assert float((lwf.loss("b", batch, logits, base) - base).detach()) == pytest.approx(float(want), rel=1e-4)
    assert float(want) > 0


@pytest.mark.parametrize("cls", [EWC, L2])
def test_regularisers_protect_a_shared_head(cls: Any) -> None:
    model = _shared_model({"a": (0, 1), "b": (2, 3, 4)})
    params = EWCParams(fisher_samples=6, fisher_batch_size=2) if cls is EWC else L2Params()
    approach = cls(params, model)
    env: Any = type("Env", (), {"batches": staticmethod(lambda *a, **k: iter([_batch(2, 3)]))})()
    approach.after_task("a", env)
    batch = _batch(2)
    logits = model("a", batch)
    base = task_loss(logits, batch["labels"])
    assert float(approach.loss("a", batch, logits, base) - base) == pytest.approx(0.0, abs=1e-12)
    with torch.no_grad():  # move only the shared head: the penalty must see it
        model.heads["shared"].out.weight.add_(0.3)
    assert float(approach.loss("a", batch, logits, base) - base) > 0
    names = {n for n, _ in model.shared_parameters()}
    assert "heads.shared.out.weight" in names


def test_per_task_heads_stay_unregularised() -> None:
    torch.manual_seed(0)
    backbone = tiny_backbone(TinyBackbone(hidden_size=16, intermediate_size=32), vocab_size=50, max_length=16)
    model = CLModel(backbone, {"a": HeadSpec("a", "a", "sequence", 2), "b": HeadSpec("b", "b", "sequence", 3)},
                    "cls", 0.0)
    assert not any(n.startswith("heads.") for n, _ in model.shared_parameters())


def test_task_id_at_test_follows_the_scenario_and_the_approach() -> None:
    from clsweep.result import task_id_at_test

    assert task_id_at_test("task_il", "finetune") and not task_id_at_test("class_il", "finetune")
    assert task_id_at_test("generative", "lora") and task_id_at_test("generative", "progressive_prompts")
    assert not task_id_at_test("generative", "olora") and not task_id_at_test("generative", "seq_lora")


@pytest.mark.parametrize("name", ["finetune", "ewc", "lwf", "replay", "probe", "seq_lora", "lora",
                                  "prompt_tuning", "independent"])
def test_selects_by_task_is_declared_exactly_by_the_approaches_that_switch(name: str) -> None:
    """The flag result.json reports is the behaviour: an approach selects by task iff it installs a switch."""
    from clsweep.approaches import APPROACHES
    from clsweep.config import TinyBackbone
    from clsweep.models import CLModel, HeadSpec
    from clsweep.models.tiny import tiny_backbone

    torch.manual_seed(0)
    backbone = tiny_backbone(TinyBackbone(hidden_size=16, intermediate_size=32), vocab_size=50, max_length=16)
    model = CLModel(backbone, {"a": HeadSpec("a", "a", "sequence", 2), "b": HeadSpec("b", "b", "sequence", 2)},
                    "cls", 0.0)
    cls = APPROACHES.get(name)
    cls(cls.Params(), model)
    assert (getattr(model, "switch", None) is not None) == cls.selects_by_task


@pytest.mark.parametrize("init", ["sample_vocab", "random"])
def test_prompt_tuning_starts_from_vocabulary_embeddings_by_default(init: str) -> None:
    """Lester et al.'s sampled-vocabulary init: every virtual token is some word's embedding (peft's random
    draw, N(0, 1), is none of them)."""
    from clsweep.approaches.prompt_tuning import PromptTuning, PromptTuningParams
    from clsweep.config import TinyBackbone
    from clsweep.models import CLModel, HeadSpec
    from clsweep.models.tiny import tiny_backbone

    torch.manual_seed(0)
    backbone = tiny_backbone(TinyBackbone(hidden_size=16, intermediate_size=32), vocab_size=50, max_length=16)
    model = CLModel(backbone, {"a": HeadSpec("a", "a", "sequence", 2)}, "cls", 0.0)
    PromptTuning(PromptTuningParams(init=init), model)  # type: ignore[arg-type]
    words = next(p for n, p in model.named_parameters() if "word_embeddings" in n).detach()
    prompt = next(p for n, p in model.named_parameters() if "prompt_encoder" in n).detach()
    is_word = [bool((words - row).abs().max(1).values.min() < 1e-6) for row in prompt]
    assert all(is_word) if init == "sample_vocab" else not any(is_word)


def test_prompt_tuning_class_label_init_starts_each_prompt_from_its_task_label_words(raw: dict[str, Any],
                                                                                     tmp_path: Path) -> None:
    """Lester et al.'s class-label init, through a real run: read at the first task boundary, the prompts of the
    tasks not trained yet hold their labels' mean token embeddings (computed here from the tokenizer's own
    tokens), in label order, up to the prompt length; the remaining tokens are sampled vocabulary."""
    from safetensors.torch import load_file

    from clsweep.approaches.adapters import adapter_name
    from clsweep.models.tiny import tiny_tokenizer
    from clsweep.training.callbacks import Callback

    raw = copy.deepcopy(raw)
    raw["approach"] = {"name": "prompt_tuning", "prompt_tuning": {"init": "class_labels", "num_virtual_tokens": 4}}
    cfg = validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    first: dict[str, torch.Tensor] = {}

    class FirstBoundary(Callback):
        def on_task_end(self, position: int, task: str, state: Any, checkpoint: Path | None) -> None:
            if not first and checkpoint is not None:
                first.update(load_file(str(checkpoint / "model.safetensors")))

    run_experiment(cfg, tmp_path / "run", callbacks=[FirstBoundary()], progress=False, log=lambda m: None)
    assert cfg.task_order[0] == "topic"
    tok = tiny_tokenizer()
    table = next(v for k, v in first.items() if k.endswith("word_embeddings.weight"))
    labels = {"pair": ["0", "1"], "ner": ["B-LOC", "B-ORG", "B-PER", "I-LOC"]}  # ner: the first 4 of its 7
    for task, words in labels.items():
        prompt = next(v for k, v in first.items() if f"prompt_encoder.{adapter_name(task)}." in k)
        assert prompt.shape[0] == 4
        for i, word in enumerate(words):
            ids = tok.convert_tokens_to_ids(tok.tokenize(word))
            assert torch.allclose(prompt[i], table[ids].mean(0), atol=1e-6), (task, word)
        for row in prompt[len(words) :]:  # pair: tokens 2 and 3 are some vocabulary token's embedding
            assert (table - row).abs().max(1).values.min() < 1e-6

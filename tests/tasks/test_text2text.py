"""text2text tasks: the template renders as written, long prompts lose text but never the answer prefix,
targets end in EOS, labels are compared as the model writes them, and bad templates or labels exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError
from clsweep.metrics.task_metrics import compute_metrics
from clsweep.models.tiny import tiny_tokenizer
from clsweep.tasks.columns import RawSplit
from clsweep.tasks.spec import TaskSpec
from clsweep.tasks.task import prepare_tasks
from clsweep.tasks.template import Template
from clsweep.tasks.text2text import encode_text2text, label_forms, label_problems, normalize, render

SYN = {"kind": "synthetic", "train_size": 32, "dev_size": 8, "test_size": 8, "seed": 0}


def _spec(**kw: Any) -> TaskSpec:
    return TaskSpec.model_validate({"name": "t", "type": "text2text", "source": {**SYN, "task": "topic"}, **kw})


def test_the_default_template_is_olora_layout() -> None:
    t = Template(instruction="What is the topic of the following paragraph? Choose one from the option.")
    assert t.render("a text", ["world", "sports"]) == (
        "What is the topic of the following paragraph? Choose one from the option.\n"
        "Option: world, sports \na text\nAnswer:")


@pytest.mark.parametrize(("fmt", "says"), [("{instruction} Answer:", "must contain {text}"),
                                           ("{text} {label}", "unknown field(s) label"),
                                           ("{text", "not a valid template")])
def test_bad_formats_are_refused(fmt: str, says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{")):
        Template(format=fmt)


def test_a_long_prompt_keeps_its_answer_prefix_and_targets_end_in_eos() -> None:
    tok = tiny_tokenizer(generative=True)
    spec = _spec(template={"instruction": "what is the topic"})
    raw = RawSplit(["sports " * 50, "science"], None, ["sports", "science"])
    enc = encode_text2text(tok, spec, raw, [1, 0], ["science", "sports"], max_length=24)
    long, short = enc["input_ids"]
    assert len(long) == 24 and enc["lengths"][0] > 24
    answer = tok("\nanswer:", add_special_tokens=False)["input_ids"]
    assert long[-len(answer):] == answer and short[-len(answer):] == answer
    assert tok.decode(short, skip_special_tokens=True).startswith("what is the topic")
    assert enc["targets"] == [tok("sports", add_special_tokens=False)["input_ids"] + [tok.eos_token_id],
                              tok("science", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]]


@pytest.mark.parametrize("fmt", ["{instruction}\nquestion: {text}\npassage: {text_pair}\nAnswer:",
                                 "{instruction}\n{text}\nAnswer:"])
def test_a_long_pair_is_cut_longest_first_and_keeps_both_parts_in_place(fmt: str) -> None:
    """A BoolQ-like pair: a short question, a long passage. The passage loses its end (longest first, as
    tokenizers cut sentence pairs); the question stays whole and in its own slot of the template."""
    tok = tiny_tokenizer(generative=True)
    spec = _spec(template={"instruction": "what is the topic", "format": fmt}, text_pair_column="p")
    question, passage = "is the answer yes", " ".join(["sports science"] * 30)
    raw = RawSplit([question], [passage], ["yes"])
    enc = encode_text2text(tok, spec, raw, [0], ["no", "yes"], max_length=30)
    (ids,) = enc["input_ids"]
    assert len(ids) == 30 and enc["lengths"][0] > 30
    prompt = tok.decode(ids, skip_special_tokens=True)
    if "passage" in fmt:
        assert "question : is the answer yes passage : sports science sports" in prompt, prompt
    else:
        assert "is the answer yes sports science sports" in prompt, prompt
    assert prompt.endswith("answer :")


def test_the_generative_tiny_tokenizer_numbers_its_vocabulary_densely() -> None:
    tok = tiny_tokenizer(generative=True)
    assert sorted(tok.get_vocab().values()) == list(range(len(tok)))
    assert len(tok("what is the topic", add_special_tokens=False)["input_ids"]) == 4  # whole words, not letters


def test_labels_are_compared_as_the_tokenizer_writes_them() -> None:
    tok = tiny_tokenizer(generative=True)
    assert label_forms(tok, ["B-LOC", "Very Positive"]) == ["b - loc", "very positive"]
    assert normalize("  Very\n positive ") == "very positive"
    assert label_problems(tok, ["sports", "Sports"]) == ["labels 'sports' and 'Sports' both decode to 'sports'"]
    assert "cannot produce" in label_problems(tok, ["日本", "x"])[0]


def test_text2text_metrics_by_hand() -> None:
    gold, pred = ["sports", "world", "science", "world"], ["sports", "science", "banana", ""]
    got = compute_metrics(["accuracy", "invalid_rate"], "text2text", gold, pred, ["sports", "world", "science"])
    assert got == {"accuracy": 0.25, "invalid_rate": 0.5}
    # ROUGE-L F1: LCS("the cat sat", "the cat") = 2 words; P = 1, R = 2/3, F = 0.8; identical strings: 1.
    got = compute_metrics(["exact_match", "rouge_l"], "text2text", ["the cat sat", "a b"], ["the cat", "a b"], [])
    assert got["exact_match"] == 0.5
    assert got["rouge_l"] == pytest.approx((0.8 + 1.0) / 2)


def _cfg(tmp_path: Path, tasks: dict[str, Any], **extra: Any) -> ExperimentConfig:
    return ExperimentConfig.model_validate({"tasklist": {"tasks": tasks}, "model": {"backbone": "tiny-t5"},
                                            "run": {"cache_dir": str(tmp_path)}, **extra})


def test_a_label_the_tokenizer_cannot_write_is_a_config_error(tmp_path: Path) -> None:
    rows = "".join(f'{{"text": "w{i}", "label": "{lab}"}}\n' for i in range(8) for lab in ("日本", "ok"))
    (tmp_path / "d.jsonl").write_text(rows, encoding="utf-8")
    cfg = _cfg(tmp_path, {"jp": {"type": "text2text", "source": {"kind": "files", "train": str(tmp_path / "d.jsonl")}}})
    with pytest.raises(ConfigError) as e:
        prepare_tasks(cfg, tiny_tokenizer(generative=True), cache_dir=tmp_path)
    assert "tasklist.tasks.jp.labels" in str(e.value) and "cannot produce" in str(e.value)


def test_a_text2text_tasklist_runs_in_the_generative_scenario(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"t": {"type": "text2text", "source": {**SYN, "task": "topic"}}})
    assert cfg.scenario == "generative"
    with pytest.raises(ValueError, match="valid here: generative"):
        _cfg(tmp_path, {"t": {"type": "text2text", "source": {**SYN, "task": "topic"}}}, scenario="task_il")
    with pytest.raises(ValueError, match="every task must be text2text; not: s"):
        _cfg(tmp_path, {"t": {"type": "text2text", "source": {**SYN, "task": "topic"}},
                        "s": {"source": {**SYN, "task": "topic"}}})


def test_free_text_targets_come_from_their_column(tmp_path: Path) -> None:
    rows = "".join(f'{{"q": "sports {i}", "a": "the answer is {i}"}}\n' for i in range(20))
    (tmp_path / "qa.jsonl").write_text(rows, encoding="utf-8")
    cfg = _cfg(tmp_path, {"qa": {"type": "text2text", "text_column": "q", "target_column": "a",
                                 "source": {"kind": "files", "train": str(tmp_path / "qa.jsonl")}}})
    task = prepare_tasks(cfg, tiny_tokenizer(generative=True), cache_dir=tmp_path, log=lambda m: None)["qa"]
    assert task.metric_names == ["exact_match", "rouge_l"] and task.labels == []
    tok = tiny_tokenizer(generative=True)
    split = task.splits["train"]
    assert split.targets is not None
    decoded = [tok.decode(t[:-1]) for t in split.targets]
    assert all(d.startswith("the answer is") for d in decoded) and all(t[-1] == tok.eos_token_id
                                                                       for t in split.targets)


def test_the_long_sequence_tasklist_writes_every_task_as_a_prompt() -> None:
    from clsweep.loading import read_tasklist
    from clsweep.tasks.spec import Tasklist

    path = Path(__file__).resolve().parents[2] / "tasklists" / "pp15_text2text.yaml"
    tl = Tasklist.model_validate(read_tasklist(path), context={"base_dir": path.parent})
    assert len(tl.tasks) == 15 and {s.type for s in tl.tasks.values()} == {"text2text"}
    assert set(tl.orders) == {"order4", "order5", "order6"}
    two_texts = {n for n, s in tl.tasks.items() if s.pair_cols}
    for name, spec in tl.tasks.items():
        assert spec.prompt.instruction.endswith("Choose one from the option."), name
        if name in two_texts:  # both texts are written into the prompt
            prompt = render(spec, RawSplit(["first text"], ["second text"], [None]), ["x", "y"])[0]
            assert "first text" in prompt and "second text" in prompt and prompt.endswith("Answer:"), name


def test_a_template_that_leaves_no_room_for_the_text_is_a_config_error(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"t": {"type": "text2text", "source": {**SYN, "task": "topic"}, "max_length": 8,
                                "template": {"instruction": "what is the topic of the following paragraph"}}})
    with pytest.raises(ConfigError) as e:
        prepare_tasks(cfg, tiny_tokenizer(generative=True), cache_dir=tmp_path, log=lambda m: None)
    assert "tasklist.tasks.t.max_length" in str(e.value) and "cannot hold the prompt" in str(e.value)


def test_free_text_is_not_scored_as_labels() -> None:
    with pytest.raises(ValueError, match="score it with exact_match and rouge_l"):
        _spec(target_column="a", metrics=["accuracy"])

"""A sweep's preparation refuses, before Ray starts, a trial whose longest sequence exceeds its backbone's position
table, and blames the search dimension whose value does not fit; the planned table matches the built model's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from clsweep.cli import main
from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError
from clsweep.loading import load_experiment
from clsweep.models import HeadSpec, build_model
from clsweep.sweep.plan import make_plan
from clsweep.sweep.prepare import prepare_sweep, trial_variants
from clsweep.tasks.types import TASK_TYPES
from clsweep.training.positions import built_model_config, lengths, planned_table, position_limit
from clsweep.training.run import prepare

SYN = {"kind": "synthetic", "train_size": 16, "dev_size": 8, "test_size": 8}
TASKS = ("topic", "sentiment", "intent")


def _write(tmp_path: Path, approach: dict[str, Any], space: dict[str, Any], algorithm: str = "grid",
           backbone: str = "tiny-gpt2", max_length: int = 48) -> Path:
    tasks = {t: {"type": "text2text", "source": {**SYN, "task": t}} for t in TASKS}
    raw = {"tasklist": {"tasks": tasks}, "order": list(TASKS), "approach": approach,
           "model": {"backbone": backbone, "max_length": max_length},
           "search": {"algorithm": algorithm, "space": space, **({"num_samples": 2} if algorithm == "optuna" else {})},
           "run": {"cache_dir": str(tmp_path / "cache"), "storage_path": str(tmp_path / "sweeps")}}
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(raw))
    return exp


def _refusal(exp: Path) -> str:
    cfg = load_experiment(exp)
    with pytest.raises(ConfigError) as e:
        prepare_sweep(cfg, make_plan(cfg, str(exp)), None, str(exp), lambda m: None)
    return str(e.value)


PP = {"name": "progressive_prompts"}
LENGTHS = {"approach.progressive_prompts.prompt_length": {"grid": [10, 40]}}


def test_the_swept_value_that_does_not_fit_is_blamed_in_the_search_space(tmp_path: Path) -> None:
    """3 tasks x 40 prompt tokens + 48 input + a 2-token target (the labels are one word and EOS) > 128."""
    exp = _write(tmp_path, PP, LENGTHS)
    assert _refusal(exp) == (
        f"{exp}: search.space.approach.progressive_prompts.prompt_length: the value 40 (trial progressive_prompts "
        "prompt_length=40): 3 task prompts x 40 + 48 input + 2 target = 170 tokens for task topic exceed the "
        "backbone's 128 positions; set prompt_length <= 26 or model.max_length <= 6")
    fits = _write(tmp_path, PP, {"approach.progressive_prompts.prompt_length": {"grid": [10, 26]}})
    cfg = load_experiment(fits)
    prepare_sweep(cfg, make_plan(cfg, str(fits)), None, str(fits), lambda m: None)  # 26: exactly 128


def test_a_base_setting_reached_by_a_swept_approach_is_blamed_where_it_is_written(tmp_path: Path) -> None:
    exp = _write(tmp_path, {"name": "finetune", "progressive_prompts": {"prompt_length": 40}},
                 {"approach.name": {"grid": ["finetune", "progressive_prompts"]}})
    assert _refusal(exp).startswith(f"{exp}: approach.progressive_prompts.prompt_length: 3 task prompts x 40 + ")
    assert _refusal(exp).endswith("set prompt_length <= 26 or model.max_length <= 6 (in trial progressive_prompts)")


def test_optuna_is_checked_at_the_top_of_each_range(tmp_path: Path) -> None:
    exp = _write(tmp_path, PP, {"approach.progressive_prompts.prompt_length": {"randint": [5, 28]}}, "optuna")
    assert "the value 27 (trial progressive_prompts prompt_length=27): 3 task prompts x 27" in _refusal(exp)
    exp = _write(tmp_path, PP, {"approach.progressive_prompts.prompt_length": {"randint": [5, 27]}}, "optuna")
    cfg = load_experiment(exp)
    prepare_sweep(cfg, make_plan(cfg, str(exp)), None, str(exp), lambda m: None)  # randint excludes 27


def test_every_trial_and_ordering_is_a_variant(tmp_path: Path) -> None:
    exp = _write(tmp_path, PP, LENGTHS)
    raw = yaml.safe_load(exp.read_text())
    raw["search"]["orderings"] = [list(TASKS), ["intent", "topic"]]
    exp.write_text(yaml.safe_dump(raw))
    cfg = load_experiment(exp)
    variants = list(trial_variants(make_plan(cfg, str(exp))))
    assert [(label, v["order"]) for label, v in variants] == [
        (f"progressive_prompts prompt_length={n}", order) for n in (10, 40)
        for order in (list(TASKS), ["intent", "topic"])]
    # Two tasks: 2 x 40 + 48 + 2 = 130 still exceeds 128; the longer ordering is found first.
    assert "3 task prompts x 40" in _refusal(exp)


def test_clsweep_run_refuses_before_ray_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Until 2026-12-02 the sweep started Ray and the trial with prompt_length 40 failed at its start."""
    import clsweep.tune.launcher as launcher

    def no_ray(*args: Any, **kwargs: Any) -> bool:
        raise AssertionError("Ray started")

    monkeypatch.setattr(launcher, "_init_ray", no_ray)
    exp = _write(tmp_path, PP, LENGTHS)
    assert main(["run", str(exp)]) == 2
    err = capsys.readouterr().err
    assert f"error: {exp}: search.space.approach.progressive_prompts.prompt_length: the value 40" in err
    assert "Traceback" not in err and not (tmp_path / "sweeps").exists()


@pytest.mark.parametrize(("backbone", "text2text"), [("tiny", False), ("tiny-gpt2", True), ("tiny-t5", True),
                                                     ("local-gpt2", True), ("local-bert", False)])
def test_the_planned_table_is_the_built_models(tmp_path: Path, backbone: str, text2text: bool) -> None:
    """Read from the config alone, the position table and decoder-only flag equal those of the model built."""
    if backbone.startswith("local-"):
        backbone = _local(tmp_path, backbone.removeprefix("local-"))
    tasks = {t: {"type": "text2text" if text2text else "sequence", "source": {**SYN, "task": t}} for t in TASKS}
    cfg = ExperimentConfig.model_validate({"tasklist": {"tasks": tasks}, "order": list(TASKS),
                                           "model": {"backbone": backbone, "max_length": 160},
                                           "run": {"cache_dir": str(tmp_path / "cache")}})
    tok, prepared = prepare(cfg, log=lambda m: None)
    heads = {t: HeadSpec(t, prepared[t].head_name, TASK_TYPES.get(prepared[t].type).head, prepared[t].num_labels)
             for t in TASKS}
    model, _ = build_model(built_model_config(cfg, prepared), heads, 0, tok)
    built = position_limit(model.backbone.config), bool(model.generative and not model.encoder_decoder)
    assert planned_table(cfg, prepared) == built
    longest = max(lengths(cfg, prepared, TASKS).values())  # 160 input tokens (+ a decoder-only target)
    assert built == {"tiny": (longest, False), "tiny-gpt2": (longest, True), "tiny-t5": (None, False)}.get(
        cfg.model.backbone, (96, text2text))


def _local(tmp_path: Path, kind: str) -> str:
    """A folder shaped like a Hub model repository (config, weights, tokenizer), 96 positions."""
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

    from clsweep.models.tiny import tiny_tokenizer

    folder = tmp_path / kind
    tok = tiny_tokenizer(generative=kind == "gpt2")
    if kind == "gpt2":
        model: Any = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=96, n_embd=16, n_layer=1, n_head=2))
    else:
        model = BertModel(BertConfig(vocab_size=len(tok), max_position_embeddings=96, hidden_size=16,
                                     num_hidden_layers=1, num_attention_heads=2, intermediate_size=32))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)

"""The position check before training: the approach's soft prefix at its longest over the order, the input and a
decoder-only LM's target must fit the backbone's position table; a relative-position model (T5) has none."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from clsweep.approaches import APPROACHES
from clsweep.approaches.base import SoftPrefix, TaskEnv
from clsweep.approaches.progressive_prompts import ProgressivePrompts, ProgressivePromptsParams
from clsweep.approaches.prompt_tuning import PromptTuningParams
from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError, Sources
from clsweep.loading import validate
from clsweep.models.generative import GenerativeLM
from clsweep.models.tiny import tiny_lm, tiny_tokenizer
from clsweep.training.positions import check_positions, targets

TASKS = ("topic", "sentiment", "intent")
SYN = {"kind": "synthetic", "train_size": 16, "dev_size": 8, "test_size": 8}


def _cfg(tmp_path: Path, approach: dict[str, Any], backbone: str = "tiny-gpt2", max_length: int = 48,
         kind: str = "text2text") -> ExperimentConfig:
    tasks = {t: {"type": kind, "source": {**SYN, "task": t if kind == "text2text" else "topic"}} for t in TASKS}
    raw = {"tasklist": {"tasks": tasks}, "order": list(TASKS), "approach": approach,
           "model": {"backbone": backbone, "max_length": max_length}}
    return validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)


def _refusal(tmp_path: Path, cfg: ExperimentConfig, target: int, positions: int = 128) -> str:
    with pytest.raises(ConfigError) as e:
        check_positions(cfg, positions, dict.fromkeys(TASKS, target), Sources(str(tmp_path / "exp.yaml"), None))
    return str(e.value)


def test_approaches_declare_the_soft_prefix_they_prepend() -> None:
    pp = APPROACHES.get("progressive_prompts").soft_prefix(ProgressivePromptsParams(prompt_length=40), 3)
    assert pp == SoftPrefix("prompt_length", 40, 3) and pp.positions == 120  # one prompt per task of the order
    pt = APPROACHES.get("prompt_tuning").soft_prefix(PromptTuningParams(num_virtual_tokens=8), 3)
    assert pt == SoftPrefix("num_virtual_tokens", 8) and pt.positions == 8  # one task's prompt at a time
    others = set(APPROACHES.names()) - {"progressive_prompts", "prompt_tuning"}
    assert all(APPROACHES.get(n).soft_prefix(APPROACHES.get(n).Params(), 3) is None for n in others)


def test_progressive_prompts_reach_the_declared_prefix_at_the_last_task() -> None:
    torch.manual_seed(0)
    tok = tiny_tokenizer(generative=True)
    model = GenerativeLM(tiny_lm("tiny-gpt2", SimpleNamespace(hidden_size=32, num_layers=1, num_heads=2,
                                                               intermediate_size=64, dropout=0.0), tok, 64),
                         list(TASKS), tok)
    params = ProgressivePromptsParams(prompt_length=4, mlp_hidden=8)
    pp = ProgressivePrompts(params, model)
    env = TaskEnv(torch.device("cpu"), lambda *a, **k: iter(()), lambda t, b: torch.zeros(()))
    longest = 0
    for task in TASKS:
        pp.before_task(task, env)
        longest = max(longest, *(p.shape[0] for t in TASKS if (p := pp.prefix(t)) is not None))
        pp.after_task(task, env)
    assert longest == ProgressivePrompts.soft_prefix(params, len(TASKS)).positions == 12


def test_progressive_prompts_past_the_table_are_refused_naming_what_fits(tmp_path: Path) -> None:
    """The audit's run: 3 x 40 prompt tokens + 48 + a 2-token target on 128 positions died at task 3."""
    cfg = _cfg(tmp_path, {"name": "progressive_prompts", "progressive_prompts": {"prompt_length": 40}})
    assert _refusal(tmp_path, cfg, target=2) == (
        f"{tmp_path / 'exp.yaml'}: approach.progressive_prompts.prompt_length: 3 task prompts x 40 + 48 input + "
        "2 target = 170 tokens for task topic exceed the backbone's 128 positions; set prompt_length <= 26 or "
        "model.max_length <= 6")
    fits = _cfg(tmp_path, {"name": "progressive_prompts", "progressive_prompts": {"prompt_length": 26}})
    check_positions(fits, 128, dict.fromkeys(TASKS, 2), None)  # exactly 128: no error
    check_positions(cfg, None, dict.fromkeys(TASKS, 2), None)  # T5: relative positions, no limit


def test_the_input_is_blamed_when_no_prompt_length_fits(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"name": "progressive_prompts"}, max_length=127)  # prompt_length 10 by default
    assert _refusal(tmp_path, cfg, target=2).endswith(
        "model.max_length: 3 task prompts x 10 + 127 input + 2 target = 159 tokens for task topic exceed the "
        "backbone's 128 positions; set max_length <= 96")
    both = _cfg(tmp_path, {"name": "progressive_prompts", "progressive_prompts": {"prompt_length": 50}},
                max_length=125)
    assert _refusal(tmp_path, both, target=2).endswith(
        "model.max_length: 3 task prompts x 50 + 125 input + 2 target = 277 tokens for task topic exceed the "
        "backbone's 128 positions; even 4 input tokens do not fit; lower "
        "approach.progressive_prompts.prompt_length or tasklist.tasks.topic.max_target_length too")


def test_prompt_tuning_on_an_encoder_counts_its_virtual_tokens(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"name": "prompt_tuning"}, backbone="tiny", max_length=128, kind="sequence")
    assert _refusal(tmp_path, cfg, target=0).endswith(
        "model.max_length: 8 prompt + 128 input = 136 tokens for task topic exceed the backbone's 128 positions; "
        "set max_length <= 120")
    cfg = _cfg(tmp_path, {"name": "prompt_tuning"}, backbone="tiny", max_length=124, kind="sequence")
    assert _refusal(tmp_path, cfg, target=0).endswith(
        "approach.prompt_tuning.num_virtual_tokens: 8 prompt + 124 input = 132 tokens for task topic exceed the "
        "backbone's 128 positions; set num_virtual_tokens <= 4 or model.max_length <= 120")


def test_a_decoder_only_target_counts_and_the_remedy_leaves_room_for_it(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, {"name": "finetune"}, max_length=127)
    assert _refusal(tmp_path, cfg, target=2).endswith(
        "model.max_length: 127 input + 2 target = 129 tokens for task topic exceed the backbone's 128 positions; "
        "set max_length <= 126")


@pytest.mark.parametrize(("encoder_decoder", "kind", "expected"), [
    (False, "text2text", 5),  # prompt and target are one sequence
    (True, "text2text", 0),  # the decoder reads the target apart from the input
    (False, "sequence", 0),
])
def test_only_a_decoder_only_lm_puts_the_target_after_the_input(encoder_decoder: bool, kind: str,
                                                                expected: int) -> None:
    tasks: Any = {"t": SimpleNamespace(type=kind, max_new_tokens=5)}
    assert targets(kind == "text2text" and not encoder_decoder, tasks, ["t"]) == {"t": expected}

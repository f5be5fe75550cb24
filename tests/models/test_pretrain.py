"""The tiny LMs' pre-training: a checkpoint that depends on its settings alone, cached, and that learns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from clsweep.config import ModelConfig
from clsweep.models import pretrain as pre
from clsweep.models.clmodel import task_loss
from clsweep.models.generative import GenerativeLM
from clsweep.models.tiny import tiny_lm, tiny_tokenizer

TINY = {"hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "num_layers": 2}


def _cfg(kind: str, steps: int = 12, **kw: Any) -> ModelConfig:
    return ModelConfig(backbone=kind, max_length=48, tiny=TINY,
                       pretrain={"steps": steps, "batch_size": 8, **kw})


def _lm(cfg: ModelConfig, tok: Any, seed: int) -> Any:
    torch.manual_seed(seed)  # the caller's generator: a run seeds it with the run's own seed
    return tiny_lm(cfg.backbone, cfg.tiny, tok, cfg.max_length)


@pytest.mark.parametrize("kind", ["tiny-t5", "tiny-gpt2"])
def test_the_checkpoint_depends_on_its_settings_alone(kind: str, tmp_path: Path) -> None:
    """Two callers whose generators and thread counts differ (two runs with different seeds, on machines with
    different cores) pre-train the same weights into empty caches; another pre-training seed does not."""
    tok = tiny_tokenizer(generative=True)
    cfg = _cfg(kind)
    threads = torch.get_num_threads()
    a = pre.load_or_pretrain(_lm(cfg, tok, 1), tok, cfg, tmp_path / "a", log=lambda m: None)
    torch.set_num_threads(2 if threads != 2 else 1)
    try:
        b = pre.load_or_pretrain(_lm(cfg, tok, 2), tok, cfg, tmp_path / "b", log=lambda m: None)
    finally:
        torch.set_num_threads(threads)
    assert torch.get_num_threads() == threads
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    other = pre.load_or_pretrain(_lm(cfg, tok, 1), tok, _cfg(kind, seed=1), tmp_path / "c", log=lambda m: None)
    assert not torch.equal(other.state_dict()["lm_head.weight"], sa["lm_head.weight"])


def test_a_cache_hit_loads_the_checkpoint_without_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tok = tiny_tokenizer(generative=True)
    cfg = _cfg("tiny-gpt2")
    first = pre.load_or_pretrain(_lm(cfg, tok, 0), tok, cfg, tmp_path, log=lambda m: None)
    assert pre.pretrained_path(cfg, tok, tmp_path).is_file()

    def refuse(*a: Any, **k: Any) -> None:
        raise AssertionError("pre-trained again on a cache hit")

    monkeypatch.setattr(pre, "pretrain", refuse)
    again = pre.load_or_pretrain(_lm(cfg, tok, 5), tok, cfg, tmp_path, log=lambda m: None)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in first.state_dict().items())


def test_pretraining_leaves_the_callers_random_stream_alone(tmp_path: Path) -> None:
    tok = tiny_tokenizer(generative=True)
    cfg = _cfg("tiny-gpt2")
    lm = _lm(cfg, tok, 3)
    before = torch.random.get_rng_state()
    pre.load_or_pretrain(lm, tok, cfg, tmp_path, log=lambda m: None)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_pretraining_teaches_the_lm_its_own_objective(tmp_path: Path) -> None:
    """The loss on unseen pre-training examples (another seed's) falls well below the random init's (6.06 -> 5.25)."""
    tok = tiny_tokenizer(generative=True)
    cfg = _cfg("tiny-gpt2", steps=150, lr=3e-3)
    held_out = _cfg("tiny-gpt2", steps=4, seed=7).pretrain
    batches = pre._batches(tok, held_out, cfg.max_length)

    def loss(lm: Any) -> float:
        model = GenerativeLM(lm, ["pretrain"], tok).eval()
        with torch.no_grad():
            return sum(task_loss(model("pretrain", b), b["labels"]).item() for b in batches) / len(batches)

    fresh = _lm(cfg, tok, 0)
    init = loss(fresh)
    trained = loss(pre.load_or_pretrain(_lm(cfg, tok, 0), tok, cfg, tmp_path, log=lambda m: None))
    assert trained < init - 0.5, (init, trained)

"""The `mlm` task type: static seeded masking, masked-token accuracy and perplexity, and a sequence that
mixes continual pre-training on raw text with fine-tuning tasks."""

from __future__ import annotations

import copy
import math
import random
from pathlib import Path
from typing import Any

import pytest

from clsweep.errors import ConfigError, Sources
from clsweep.loading import validate
from clsweep.metrics.task_metrics import mlm_scores
from clsweep.tasks.mlm import IGNORE, Masking, mask_example, mask_split
from clsweep.training.run import run_experiment

M = Masking(mask_id=4, vocab_size=100, special_ids=frozenset({0, 2, 3}))


def test_masking_targets_only_real_tokens_and_keeps_their_ids() -> None:
    ids = [2, *range(10, 90), 3, 0, 0]
    inputs, labels = mask_example(ids, M, random.Random(0))
    chosen = [i for i, lab in enumerate(labels) if lab != IGNORE]
    assert chosen and all(ids[i] not in M.special_ids for i in chosen)
    assert all(labels[i] == ids[i] for i in chosen)  # the target is the original token
    assert all(inputs[i] == ids[i] for i in range(len(ids)) if i not in chosen)  # nothing else changes


def test_masking_rates_follow_bert() -> None:
    rng = random.Random(1)
    targets = masked = kept = 0
    tokens = 0
    for _ in range(400):
        ids = list(range(10, 60))
        inputs, labels = mask_example(ids, M, rng)
        tokens += len(ids)
        for i, lab in enumerate(labels):
            if lab != IGNORE:
                targets += 1
                masked += inputs[i] == M.mask_id
                kept += inputs[i] == ids[i]
    assert targets / tokens == pytest.approx(0.15, abs=0.01)
    assert masked / targets == pytest.approx(0.8, abs=0.03)
    assert kept / targets == pytest.approx(0.1, abs=0.03)  # left as it was (a random draw rarely repeats it)


def test_every_example_gets_a_target_and_masking_is_seeded() -> None:
    short = [[2, 50, 3]] * 50
    _, labels = mask_split(short, M, "task/train")
    assert all(lab[1] == 50 for lab in labels)  # a one-token text still has its target
    long = [list(range(10, 40))] * 5
    assert mask_split(long, M, "a/dev") == mask_split(long, M, "a/dev")
    assert mask_split(long, M, "a/dev") != mask_split(long, M, "a/test")


def test_mlm_scores_by_hand() -> None:
    nll = [math.log(2.0), math.log(8.0)]  # perplexity = exp(mean nll) = exp(ln 4) = 4
    scores = mlm_scores(["masked_accuracy", "perplexity"], [5, 6], [5, 7], nll)
    assert scores == pytest.approx({"masked_accuracy": 0.5, "perplexity": 4.0})


def test_a_sequence_mixes_pretraining_and_finetuning(raw: dict[str, Any], tmp_path: Path) -> None:
    raw = copy.deepcopy(raw)
    raw["tasklist"]["tasks"] = {"corpus": {"type": "mlm", "source": {"task": "corpus"}},
                                "topic": {"source": {"task": "topic"}}}
    raw["train"].update(epochs=3, lr=5e-3)
    cfg = validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    res = run_experiment(cfg, tmp_path / "run", progress=False, log=lambda m: None)
    assert res["primary_metric"]["corpus"] == "masked_accuracy"
    before, after = res["scores"]["initial"]["test"]["corpus"], res["scores"]["rows"][0]["test"]["corpus"]
    assert set(after) == {"masked_accuracy", "perplexity"}
    # Pre-training on the corpus lowers its held-out perplexity from about the vocabulary size.
    assert after["perplexity"] < 0.7 * before["perplexity"] and after["masked_accuracy"] >= before["masked_accuracy"]
    # ... and fine-tuning the next task afterwards moves it again (what continual pre-training measures).
    assert res["scores"]["rows"][1]["test"]["corpus"]["perplexity"] != after["perplexity"]
    assert len(res["matrix"]) == 2 and res["labels"]["corpus"] == []


def test_mlm_settings_that_make_no_sense_are_config_errors(raw: dict[str, Any], tmp_path: Path) -> None:
    raw = copy.deepcopy(raw)
    raw["tasklist"]["tasks"] = {"corpus": {"type": "mlm", "source": {"task": "corpus"}, "labels": ["a", "b"]}}
    with pytest.raises(ConfigError) as info:
        validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    assert "tasklist.tasks.corpus" in str(info.value) and "mlm tasks read raw text" in str(info.value)
    raw["tasklist"]["tasks"]["corpus"] = {"type": "mlm", "source": {"task": "corpus"}, "metrics": ["macro_f1"]}
    with pytest.raises(ConfigError) as info:
        validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    assert "valid: masked_accuracy, perplexity" in str(info.value)

"""Trainer overhead and optimizer choice, measured as ratios side by side in one process.

Runs, alternating and repeated: (a) clsweep's ContinualTrainer learning one synthetic task, (b) a
minimal hand-written PyTorch loop over the same model, batches and optimizer, (c) the trainer with
foreach AdamW instead of fused. Prints steps/s and the ratios (median over repeats).

    HF_HUB_OFFLINE=1 python benchmarks/bench_trainer.py [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import torch

from clsweep.approaches import APPROACHES
from clsweep.config import ExperimentConfig
from clsweep.models import HeadSpec, build_model, task_loss
from clsweep.tasks.task import prepare_tasks
from clsweep.tasks.types import TASK_TYPES
from clsweep.training import optim
from clsweep.training.batching import batch_indices, collate
from clsweep.training.trainer import ContinualTrainer


def _config(cache: str) -> ExperimentConfig:
    src = {"kind": "synthetic", "train_size": 640, "dev_size": 32, "test_size": 32}
    return ExperimentConfig.model_validate({
        "tasklist": {"tasks": {"topic": {"source": {**src, "task": "topic"}}}},
        "model": {"max_length": 48},
        "train": {"lr": 2e-3, "epochs": 2, "batch_size": 16, "device": "cpu", "scheduler": "constant"},
        "eval": {"misclassified": 0},
        "run": {"cache_dir": cache, "tensorboard": False},
    })


def _setup(cfg: ExperimentConfig) -> tuple[Any, Any, Any]:
    from clsweep.models.tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    tasks = prepare_tasks(cfg, tok, log=lambda m: None)
    t = tasks["topic"]
    heads = {"topic": HeadSpec("topic", "topic", TASK_TYPES.get(t.type).head, t.num_labels)}
    model, _ = build_model(cfg.model, heads, 0, tok)
    return tok, tasks, model


def run_trainer(cfg: ExperimentConfig, fused: bool = True) -> float:
    tok, tasks, model = _setup(cfg)
    approach = APPROACHES.get("finetune")(APPROACHES.get("finetune").Params(), model)
    trainer = ContinualTrainer(cfg, tasks, model, approach, torch.device("cpu"), tok.pad_token_id)
    real = torch.optim.AdamW

    def adamw(*a: Any, **kw: Any) -> torch.optim.Optimizer:
        return real(*a, **{**kw, "fused": fused})

    with mock.patch.object(optim.torch.optim, "AdamW", adamw):
        t0 = time.perf_counter()
        steps = trainer._learn(0, ["topic"])
    return steps / (time.perf_counter() - t0)


def run_minimal(cfg: ExperimentConfig) -> float:
    tok, tasks, model = _setup(cfg)
    data = tasks["topic"].splits["train"]
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, fused=True)
    model.train()
    steps = 0
    t0 = time.perf_counter()
    for epoch in range(cfg.train.epochs):
        for idx in batch_indices(len(data), cfg.train.batch_size, epoch):
            batch = collate(data, idx, tok.pad_token_id, torch.device("cpu"))
            loss = task_loss(model("topic", batch), batch["labels"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
    return steps / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as cache:
        cfg = _config(str(Path(cache)))
        run_minimal(cfg)  # warm-up: tokenization cache, allocator, kernels
        rates: dict[str, list[float]] = {"minimal loop": [], "clsweep trainer": [], "trainer, foreach AdamW": []}
        for _ in range(args.repeats):
            rates["minimal loop"].append(run_minimal(cfg))
            rates["clsweep trainer"].append(run_trainer(cfg, fused=True))
            rates["trainer, foreach AdamW"].append(run_trainer(cfg, fused=False))
    med = {k: statistics.median(v) for k, v in rates.items()}
    base = med["minimal loop"]
    print(f"| variant | steps/s (median of {args.repeats}) | time relative to minimal loop |")
    print("|---|---|---|")
    for k, v in med.items():
        print(f"| {k} | {v:.1f} | {base / v:.2f}x |")


if __name__ == "__main__":
    main()

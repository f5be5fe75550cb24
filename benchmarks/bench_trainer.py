"""Trainer overhead: clsweep's ContinualTrainer against a minimal hand-written PyTorch loop doing the same work.

Same model (built from the same seed), same tokenized data, same batches in the same order, same
optimizer (fused AdamW), schedule and gradient clipping, same evaluations (every task on dev and test
before training and after each task: the T+1 rows of R, scored by the same metric functions). Both
sides must produce the same score matrix; the script checks that, so the comparison is of equal work.

Variants, alternating with the first place rotating, median over repeats:
  minimal    the hand-written loop
  trainer    ContinualTrainer.run with no observers and no checkpoints
  trainer+   ContinualTrainer.run with the observers and checkpoints `clsweep train` uses by default
  foreach    `trainer` with torch's default foreach AdamW instead of fused (why the trainer fuses)

    HF_HUB_OFFLINE=1 python benchmarks/bench_trainer.py [--repeats 5] [--threads 1] [--tasks 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import experiment, save

from clsweep.approaches import APPROACHES
from clsweep.config import ExperimentConfig
from clsweep.metrics.task_metrics import compute_metrics
from clsweep.models import HeadSpec, build_model, task_loss
from clsweep.seeds import derived_seed
from clsweep.tasks.task import Task
from clsweep.tasks.types import TASK_TYPES
from clsweep.training import optim
from clsweep.training.batching import batch_indices, by_length, collate
from clsweep.training.run import _observers, prepare, seed_everything
from clsweep.training.trainer import ContinualTrainer

Setup = tuple[ExperimentConfig, Any, dict[str, Task], torch.device]


def _model(cfg: ExperimentConfig, tok: Any, tasks: dict[str, Task]) -> Any:
    seed_everything(cfg.train.seed)
    heads = {t: HeadSpec(t, tasks[t].head_name, TASK_TYPES.get(tasks[t].type).head, tasks[t].num_labels)
             for t in cfg.task_order}
    return build_model(cfg.model, heads, cfg.train.seed, tok)[0]


def run_trainer(s: Setup, observers: bool = False, fused: bool = True) -> tuple[float, list[list[float]]]:
    cfg, tok, tasks, device = s
    model = _model(cfg, tok, tasks).to(device)
    approach = APPROACHES.get("finetune")(APPROACHES.get("finetune").Params(), model)
    with tempfile.TemporaryDirectory() as out:
        cbs = _observers(cfg, Path(out), tasks, {t: tasks[t].metric_names[0] for t in tasks}, device, False)[0] \
            if observers else []
        trainer = ContinualTrainer(cfg, tasks, model, approach, device, tok.pad_token_id, cbs,
                                   checkpoint_dir=Path(out) / "checkpoints" if observers else None)
        real = torch.optim.AdamW
        with mock.patch.object(optim.torch.optim, "AdamW", lambda *a, **kw: real(*a, **{**kw, "fused": fused})):
            _sync(device)
            t0 = time.perf_counter()
            state = trainer.run(cfg.task_order)
            _sync(device)
            seconds = time.perf_counter() - t0
        for c in cbs:
            getattr(c, "stop", lambda: None)()
    assert state.initial is not None  # the run evaluated before the first task
    rows = [state.initial, *state.rows]
    return seconds, [[r.test[t][tasks[t].metric_names[0]] for t in cfg.task_order] for r in rows]


def _scores(model: Any, tasks: dict[str, Task], order: list[str], split: str, cfg: ExperimentConfig,
            device: torch.device, pad: int) -> list[float]:
    """Every task's primary metric on `split`: the plain way, argmax per batch, metrics at the end."""
    model.eval()
    row = []
    with torch.inference_mode():
        for t in order:
            task, truth, preds = tasks[t], [], []
            for idx in by_length(task.splits[split], cfg.eval.batch_size):
                batch = collate(task.splits[split], idx, pad, device)
                pred, gold = model(t, batch).argmax(-1).cpu(), batch["labels"].cpu()
                if task.type == "token":
                    for p, g in zip(pred, gold, strict=True):
                        keep = g != -100
                        truth.append([task.labels[i] for i in g[keep].tolist()])
                        preds.append([task.labels[i] for i in p[keep].tolist()])
                else:
                    truth += gold.tolist()
                    preds += pred.tolist()
            name = task.metric_names[0]
            row.append(compute_metrics([name], task.type, truth, preds, task.labels)[name])
    model.train()
    return row


def run_minimal(s: Setup) -> tuple[float, list[list[float]]]:
    cfg, tok, tasks, device = s
    order, train, pad = cfg.task_order, cfg.train, tok.pad_token_id
    model = _model(cfg, tok, tasks).to(device)
    _sync(device)
    t0 = time.perf_counter()
    _scores(model, tasks, order, "dev", cfg, device, pad)
    rows = [_scores(model, tasks, order, "test", cfg, device, pad)]
    for pos, t in enumerate(order):
        data = tasks[t].splits["train"]
        named = [(n, p) for n, p in model.named_parameters() if not n.startswith("heads.") or n.split(".")[1] == t]
        decay = [p for n, p in named if p.ndim > 1 and "norm" not in n.lower()]  # the usual transformer recipe
        rest = [p for n, p in named if not (p.ndim > 1 and "norm" not in n.lower())]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": train.weight_decay},
                                 {"params": rest, "weight_decay": 0.0}], lr=train.lr, fused=True)
        total = math.ceil(len(data) / train.batch_size) * train.epochs
        warm = int(train.warmup_ratio * total)
        def schedule(i: int, w: int = warm, n: int = total) -> float:
            return (i + 1) / (w + 1) if i < w else max(0.0, 1 - (i - w) / max(1, n - w))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        model.train()
        for epoch in range(train.epochs):
            for idx in batch_indices(len(data), train.batch_size, derived_seed(train.seed, pos, epoch, t)):
                batch = collate(data, idx, pad, device)
                loss = task_loss(model(t, batch), batch["labels"])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip or math.inf)
                opt.step()
                sched.step()
        _scores(model, tasks, order, "dev", cfg, device, pad)
        rows.append(_scores(model, tasks, order, "test", cfg, device, pad))
    _sync(device)
    return time.perf_counter() - t0, rows


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


VARIANTS = {"minimal": run_minimal, "trainer": run_trainer,
            "trainer+": lambda s: run_trainer(s, observers=True),
            "foreach": lambda s: run_trainer(s, fused=False)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tasks", type=int, default=3)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--model", default="tiny", choices=["tiny", "base"])
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as cache:
        raw = experiment(args.tasks, cache, model=args.model, device=args.device, threads=args.threads,
                         eval_size=100)
        raw["eval"] = {"misclassified": 20}
        cfg = ExperimentConfig.model_validate(raw)
        tok, tasks = prepare(cfg, log=lambda m: None)
        s: Setup = (cfg, tok, tasks, torch.device(args.device))
        run_minimal(s)  # warm-up: allocator, kernels, page cache
        times: dict[str, list[float]] = {k: [] for k in VARIANTS}
        matrices: dict[str, list[list[float]]] = {}
        names = list(VARIANTS)
        for r in range(args.repeats):
            for name in names[r % len(names):] + names[: r % len(names)]:
                seconds, matrices[name] = VARIANTS[name](s)
                times[name].append(seconds)
            print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    same = {k: m == matrices["minimal"] for k, m in matrices.items()}
    for k in VARIANTS:
        print(f"{k:9s} {med[k]:7.2f} s  {med[k] / med['minimal']:.3f}x  same R as minimal: {same[k]}")
    steps = args.tasks * math.ceil(640 / 16) * 3
    save(f"trainer_{args.device}" + ("" if args.model == "tiny" else f"_{args.model}"), {
        "goal": "trainer / minimal <= 1.05", "settings": vars(args) | {"out": None, "steps": steps},
        "seconds": times, "median_s": med, "ratio": {k: med[k] / med["minimal"] for k in med},
        "same_matrix": same, "matrix": matrices["minimal"]}, args.out)


if __name__ == "__main__":
    main()

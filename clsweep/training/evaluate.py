"""Evaluate one task's split: every configured metric, and the misclassified examples."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import torch

from clsweep.metrics.task_metrics import compute_metrics, mlm_scores
from clsweep.models import CLModel
from clsweep.tasks.task import Task
from clsweep.training.batching import by_length, collate


@dataclass
class EvalResult:
    scores: dict[str, float]  # metric name -> value; the task's first metric fills R
    errors: list[dict[str, Any]] = field(default_factory=list)  # misclassified examples


@torch.no_grad()
def evaluate(model: CLModel, task: Task, split: str, batch_size: int, device: torch.device, pad_id: int,
             autocast: Callable[[], AbstractContextManager[Any]], keep_errors: int = 0) -> EvalResult:
    data = task.splits[split]
    was_training = model.training
    model.eval()
    truth: list[Any] = []
    preds: list[Any] = []
    order: list[int] = []
    nll: list[float] = []
    for idx in by_length(data, batch_size):
        batch = collate(data, idx, pad_id, device)
        with autocast():
            logits = model(task.name, batch)
        pred = logits.argmax(-1).cpu()
        labels = batch["labels"].cpu()
        if task.type == "mlm":  # only masked positions count; perplexity needs their losses
            keep = labels != -100
            nll.extend(torch.nn.functional.cross_entropy(logits.float().cpu()[keep], labels[keep],
                                                         reduction="none").tolist())
            truth.extend(labels[keep].tolist())
            preds.extend(pred[keep].tolist())
        elif task.type == "token":
            for p_row, l_row in zip(pred, labels, strict=True):
                keep = l_row != -100
                truth.append([task.labels[i] for i in l_row[keep].tolist()])
                preds.append([task.labels[i] for i in p_row[keep].tolist()])
        else:
            truth.extend(labels.tolist())
            preds.extend(pred.tolist())
        order.extend(idx)
    model.train(was_training)
    if task.type == "mlm":
        return EvalResult(mlm_scores(task.metric_names, truth, preds, nll))
    scores = compute_metrics(task.metric_names, task.type, truth, preds, task.labels)
    return EvalResult(scores, _errors(task, split, order, truth, preds, keep_errors))


def _errors(task: Task, split: str, order: list[int], truth: list[Any], preds: list[Any],
            keep: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    # Report in dataset order so the list is stable whatever the batching was.
    for pos in sorted(range(len(order)), key=order.__getitem__):
        if len(out) >= keep:
            break
        t, p = truth[pos], preds[pos]
        if t == p:
            continue
        text = task.splits[split].texts[order[pos]]
        gold = t if task.type == "token" else task.labels[t]
        pred = p if task.type == "token" else task.labels[p]
        out.append({"index": order[pos], "text": text, "gold": gold, "pred": pred})
    return out

"""Evaluate one task's split: every configured metric and, on request, each example's prediction and confidence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    # With details, in dataset order: gold and predicted label names (tag lists for token tasks), and the
    # softmax probability of each prediction (mean over the labelled words of a token-task example).
    truth: list[Any] = field(default_factory=list)
    preds: list[Any] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)


@torch.inference_mode()  # cheaper than no_grad: no version counters or view tracking
def evaluate(model: CLModel, task: Task, split: str, batch_size: int, device: torch.device, pad_id: int,
             autocast: Callable[[], AbstractContextManager[Any]], details: bool = False,
             classes: Sequence[int] | None = None) -> EvalResult:
    """Scores of `task` on `split`; with `classes`, predictions choose among those label ids only (the scenario's
    visible classes), every other logit masked out."""
    if task.type == "text2text":
        from clsweep.training.decode import evaluate_generated

        return evaluate_generated(model, task, split, batch_size, device, pad_id, autocast,  # type: ignore[arg-type]
                                  details)
    data = task.splits[split]
    hidden = None
    if classes is not None:
        hidden = torch.ones(task.num_labels, dtype=torch.bool, device=device)
        hidden[list(classes)] = False
    was_training = model.training
    model.eval()
    truth: list[Any] = []
    preds: list[Any] = []
    conf: list[float] = []
    order: list[int] = []
    nll: list[float] = []
    for idx in by_length(data, batch_size):
        batch = collate(data, idx, pad_id, device)
        with autocast():
            logits = model(task.name, batch)
        if hidden is not None:
            logits = logits.float().masked_fill(hidden, float("-inf"))
        pred = logits.argmax(-1).cpu()
        labels = batch["labels"].cpu()
        prob = logits.float().softmax(-1).amax(-1).cpu() if details else None
        if task.type == "mlm":  # only masked positions count; perplexity needs their losses
            keep = labels != -100
            nll.extend(torch.nn.functional.cross_entropy(logits.float().cpu()[keep], labels[keep],
                                                         reduction="none").tolist())
            truth.extend(labels[keep].tolist())
            preds.extend(pred[keep].tolist())
        elif task.type == "token":
            for row, (p_row, l_row) in enumerate(zip(pred, labels, strict=True)):
                keep = l_row != -100
                truth.append([task.labels[i] for i in l_row[keep].tolist()])
                preds.append([task.labels[i] for i in p_row[keep].tolist()])
                if prob is not None:
                    conf.append(float(prob[row][keep].mean()) if bool(keep.any()) else 1.0)
        else:
            truth.extend(labels.tolist())
            preds.extend(pred.tolist())
            if prob is not None:
                conf.extend(prob.tolist())
        order.extend(idx)
    model.train(was_training)
    if task.type == "mlm":
        return EvalResult(mlm_scores(task.metric_names, truth, preds, nll))
    scores = compute_metrics(task.metric_names, task.type, truth, preds, task.labels)
    if not details:
        return EvalResult(scores)
    # Back to dataset order, so a stage can be compared example by example with the previous one.
    pos = sorted(range(len(order)), key=order.__getitem__)
    names = (lambda y: y) if task.type == "token" else (lambda y: task.labels[y])
    return EvalResult(scores, [names(truth[i]) for i in pos], [names(preds[i]) for i in pos], [conf[i] for i in pos])

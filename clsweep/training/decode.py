"""Evaluate a text2text task: decode greedily in batches and score the strings (labels or free text)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import torch

from clsweep.metrics.task_metrics import compute_metrics
from clsweep.tasks.task import Task
from clsweep.tasks.text2text import normalize
from clsweep.training.batching import by_length, collate

if TYPE_CHECKING:
    from clsweep.models.generative import GenerativeLM
    from clsweep.training.evaluate import EvalResult


def gold_strings(task: Task, split: str, tokenizer: Any) -> list[str]:
    """What each example should generate, normalized: its label as the model writes it, or its target text."""
    data = task.splits[split]
    if not task.spec.free_text:
        return [task.forms[y] for y in data.labels]  # type: ignore[index]
    assert data.targets is not None
    return [normalize(t) for t in tokenizer.batch_decode([x[:-1] for x in data.targets], skip_special_tokens=True)]


@torch.inference_mode()
def evaluate_generated(model: GenerativeLM, task: Task, split: str, batch_size: int, device: torch.device,
                       pad_id: int, autocast: Callable[[], AbstractContextManager[Any]],
                       details: bool = False) -> EvalResult:
    from clsweep.training.evaluate import EvalResult

    data = task.splits[split]
    was_training = model.training
    model.eval()
    preds: list[str] = [""] * len(data)
    conf: list[float] = [1.0] * len(data)
    steps = task.max_new_tokens  # a scan of the train targets: once per evaluation, not per batch
    for idx in by_length(data, batch_size):
        batch = collate(data, idx, pad_id, device)
        with autocast():
            rows, probs = model.generate(task.name, batch, steps, scores=details)
        for k, (i, text) in enumerate(zip(idx, model.tokenizer.batch_decode(rows, skip_special_tokens=True),
                                          strict=True)):
            preds[i] = normalize(text)
            if probs is not None:
                conf[i] = probs[k]
    model.train(was_training)
    gold = gold_strings(task, split, model.tokenizer)
    scores = compute_metrics(task.metric_names, "text2text", gold, preds, task.forms)
    return EvalResult(scores, gold, preds, conf) if details else EvalResult(scores)

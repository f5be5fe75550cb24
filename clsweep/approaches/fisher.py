"""Per-example squared gradients for a diagonal Fisher, many examples per pass with torch.func.vmap.

One backward pass per example is exact but, on small models, mostly kernel launches (4.5 ms per example on
the tiny BERT, about 1 s of every EWC task boundary). vmap computes the same per-example gradients for a
whole chunk in one vectorised pass: 2.3x faster there, slower on larger models (`faster`).
Two things stand in its way, and both are handled here: transformers inspects a 2-D padding mask with
data-dependent control flow (`mask.all()`), which vmap cannot trace, so the backbone gets the mask ready-made
as a 4-D additive bias, which it passes through unread; and a backbone might not honour that bias, so the
first chunk of every estimate is checked against one backward pass per example and any disagreement (or a
vmap error) falls back to the loop for good.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from clsweep.models import task_loss

log = logging.getLogger(__name__)

BATCH = 32  # examples drawn per vectorised pass
CHUNK_BYTES = 1 << 30  # per-example gradients held at once; vmap's chunk is this over one example's gradient
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
VMAP_MAX_CPU_PARAMS = 1_000_000


def vectorizable(model: Any) -> bool:
    """An encoder with heads and one backbone (no per-task variant): its forward is a pure function of the
    parameters given the inputs, which vmap needs. Generative LMs build their own masks inside: the loop."""
    return not getattr(model, "generative", False) and getattr(model, "switch", None) is None


def faster(params: Iterable[torch.Tensor]) -> bool:
    """Whether vmap beats one pass per example, by rule (not timing: the choice must not vary between runs).
    On CPU (1 thread) it is faster for small models only: 2.3x at 0.13M shared parameters (the tiny BERT of
    search_spaces/ewc.yaml), 1.4x at 0.46M, 0.69x at 3.3M, 0.4x at 11M (all-MiniLM-L6-v2's shape): the
    per-example gradients it materialises cost more than the kernel launches it saves. GPUs are unmeasured,
    so `auto` keeps them on the loop."""
    ps = list(params)
    return all(p.device.type == "cpu" for p in ps) and sum(p.numel() for p in ps) <= VMAP_MAX_CPU_PARAMS


def lengths(batch: Mapping[str, torch.Tensor]) -> list[int]:
    """Each row's true length (batches are right-padded)."""
    return [int(n) for n in batch["attention_mask"].sum(1).tolist()]


def sample_labels(logits: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Labels drawn from the model's prediction, row by row over each row's own length: the same draws, in the
    same order, as one-example batches make, so the vectorised and the looped Fisher see the same labels."""
    labels = batch["labels"].clone()
    # A generative LM's logits run over its target tokens, an encoder's over its input tokens.
    width = batch["target_mask"] if "target_mask" in batch else batch["attention_mask"]
    for i, n in enumerate(width.sum(1).tolist()):
        row = logits[i : i + 1, :n] if logits.dim() == 3 else logits[i : i + 1]
        drawn = torch.distributions.Categorical(logits=row.detach().float()).sample()[0]
        if logits.dim() == 3:
            labels[i, :n] = torch.where(labels[i, :n] == -100, labels[i, :n], drawn)
        else:
            labels[i] = drawn
    return labels


def example(batch: Mapping[str, torch.Tensor], labels: torch.Tensor, i: int, n: int) -> dict[str, torch.Tensor]:
    """Row i alone, cut to its length n (its padding off): the batch a one-example pass sees."""
    out = {k: batch[k][i : i + 1, :n] for k in INPUTS if k in batch}
    out["labels"] = labels[i : i + 1, :n] if labels.dim() == 2 else labels[i : i + 1]
    return out


def looped(model: Any, task: str, batch: Mapping[str, torch.Tensor], labels: torch.Tensor,
           params: Mapping[str, torch.Tensor], rows: range, weights: torch.Tensor | None = None
           ) -> dict[str, torch.Tensor]:
    """Sum over `rows` of each example's squared gradient (times its weight), one backward pass per example."""
    sums = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in params.items()}
    widths = lengths(batch)  # once, not per row: each .tolist() waits for the device
    for i in rows:
        one = example(batch, labels, i, widths[i])
        model.zero_grad(set_to_none=True)
        task_loss(model(task, one).float(), one["labels"]).backward()
        w = 1.0 if weights is None else float(weights[i])
        for n, p in params.items():
            if p.grad is not None:
                sums[n] += w * p.grad.detach().float().pow(2)
    model.zero_grad(set_to_none=True)
    return sums


def vectorized(model: Any, task: str, batch: Mapping[str, torch.Tensor], labels: torch.Tensor,
               params: Mapping[str, torch.Tensor], rows: int | None = None, weights: torch.Tensor | None = None
               ) -> dict[str, torch.Tensor]:
    """Sum over the first `rows` examples (all by default) of each example's squared gradient (times its
    weight), with vmap."""
    from torch.func import functional_call, grad, vmap

    inputs = {k: batch[k][:rows] for k in INPUTS if k in batch}
    mask = inputs["attention_mask"]
    dtype = next(iter(params.values())).dtype
    bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask == 0, torch.finfo(dtype).min)
    detached = {n: p.detach() for n, p in params.items()}

    def loss(ps: dict[str, torch.Tensor], ex: dict[str, torch.Tensor], b: torch.Tensor, y: torch.Tensor
             ) -> torch.Tensor:
        one = {k: v[None] for k, v in ex.items()}
        one["attention_bias"] = b[None, None, None]  # [1, 1, 1, length]: used as is by the backbone
        return task_loss(functional_call(model, ps, (task, one), strict=False).float(), y[None])

    per_example = sum(p.numel() * p.element_size() for p in detached.values())
    chunk = max(1, CHUNK_BYTES // max(per_example, 1))
    with warnings.catch_warnings():  # vmap has no batching rule for CPU sdpa; its fallback is still the faster
        warnings.filterwarnings("ignore", message="There is a performance drop")
        grads = vmap(grad(loss), in_dims=(None, 0, 0, 0), chunk_size=chunk)(detached, inputs, bias, labels[:rows])
    if weights is None:
        return {n: g.detach().float().pow(2).sum(0) for n, g in grads.items()}
    w = weights[:rows].float()
    return {n: (g.detach().float().pow(2) * w.view(-1, *[1] * (g.dim() - 1))).sum(0) for n, g in grads.items()}


def agrees(model: Any, task: str, batch: Mapping[str, torch.Tensor], labels: torch.Tensor,
           params: Mapping[str, torch.Tensor], rows: int = 2) -> bool:
    """Whether vmap gives this model's per-example gradients (up to float rounding) on the first rows."""
    rows = min(rows, int(batch["input_ids"].shape[0]))
    try:
        got = vectorized(model, task, batch, labels, params, rows)
    except (RuntimeError, NotImplementedError) as err:  # e.g. data-dependent control flow in the model
        log.info("Fisher: per-example gradients one by one (vmap: %s)", str(err).splitlines()[0])
        return False
    want = looped(model, task, batch, labels, params, range(rows))
    scale = max(float(w.abs().max()) for w in want.values()) + 1e-30
    error = max(float((got[n] - want[n]).abs().max()) for n in want)
    if error > 1e-3 * scale:
        log.warning("Fisher: vmap disagrees with per-example backward passes (%.2g of %.2g): one by one", error,
                    scale)
        return False
    return True

"""Elastic Weight Consolidation (Kirkpatrick et al. 2017), separate and online (Schwarz et al. 2018).

loss + lambda * sum_i F_i (theta_i - theta*_i)^2 over the shared parameters: the backbone, and a head
that several tasks share (domain- and class-IL); per-task heads are not regularised. There is no 1/2:
`lambda` here is half of Kirkpatrick et al.'s lambda. The Fisher diagonal is estimated in eval mode
and fp32 after each task on a seeded random sample of the task's training split (files are often
ordered by class): `empirical` uses the true labels, `sampled` draws one label from the model's own
prediction (the Monte-Carlo true Fisher), `exact` sums over every label weighted by its predicted
probability (the true Fisher of the definition; van de Ven 2025 finds it the best; one pass per label, so
sequence heads only). Per-example gradients are computed many at a time with torch.func.vmap
where that is faster and the model allows it (fisher.py; the same Fisher up to float rounding).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import ConfigDict, Field

from clsweep.approaches import fisher as grads
from clsweep.approaches.base import Approach, Batch, TaskEnv, tensor_bytes
from clsweep.models import task_loss
from clsweep.schema import Strict


class EWCParams(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    lam: float = Field(2000.0, ge=0, alias="lambda", description="penalty strength, no 1/2 factor (half of "
                       "Kirkpatrick's lambda); scale dependent, sweep log-uniform")
    mode: Literal["separate", "online"] = "online"
    gamma: float = Field(1.0, gt=0, le=1, description="online decay of the old Fisher: F = gamma F_old + F_new "
                         "(Schwarz et al. also scale the penalty by gamma, the same as a smaller lambda)")
    fisher: Literal["empirical", "sampled", "exact"] = Field(
        "empirical", description="empirical: the true labels' gradients; sampled: one label drawn from the model; "
        "exact: every label weighted by its probability (the definition; sequence tasks, fisher_batch_size 1)")
    fisher_samples: int = Field(256, ge=1, description="training examples (a seeded random sample) behind the Fisher")
    fisher_batch_size: int = Field(1, ge=1, description="1 = per-example gradients (the Fisher's definition); "
                                   "larger squares whole batches' gradients: coarser")
    fisher_vmap: Literal["auto", "always", "never"] = Field(
        "auto", description="per-example gradients many at a time with torch.func.vmap (checked against single "
        "passes; the same Fisher up to rounding). auto: on CPU for models of at most 1M shared parameters, where "
        "it is faster (measured: 2.3x at 0.13M, 0.7x at 3.3M); never: one backward pass per example")


class EWC(Approach):
    name = "ewc"
    first_task_is_finetune = True  # nothing of its own before a second task
    scenarios = (*Approach.scenarios, "generative")  # nothing head-specific: it runs on a generative LM
    Params = EWCParams
    params: EWCParams

    @classmethod
    def params_problem(cls, params: Any, task_types: frozenset[str]) -> str | None:
        if params.fisher != "exact":
            return None
        if task_types - {"sequence"}:
            return (f"ewc.fisher exact takes one backward pass per label of a sequence head; tasks of type "
                    f"{', '.join(sorted(task_types - {'sequence'}))} have a label per token (or per target token): "
                    "use fisher: sampled (its Monte-Carlo estimate) or empirical")
        if params.fisher_batch_size != 1:
            return "ewc.fisher exact needs per-example gradients: set fisher_batch_size to 1"
        return None

    def __init__(self, params: Any, model: Any) -> None:
        super().__init__(params, model)
        # One (fisher, anchor) pair per task for `separate`, a single running pair for `online`.
        self.fishers: list[dict[str, torch.Tensor]] = []
        self.anchors: list[dict[str, torch.Tensor]] = []
        self.tasks: list[str] = []

    def loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        if not self.fishers or self.params.lam == 0:
            return loss
        penalty = loss.new_zeros(())
        for name, p in self.model.shared_parameters():
            for fisher, anchor in zip(self.fishers, self.anchors, strict=True):
                penalty = penalty + (fisher[name] * (p - anchor[name]).pow(2)).sum()
        return loss + self.params.lam * penalty

    def after_task(self, task: str, env: TaskEnv) -> None:
        fisher = self._estimate_fisher(task, env)
        anchor = {n: p.detach().clone() for n, p in self.model.shared_parameters()}
        if self.params.mode == "online" and self.fishers:
            old = self.fishers[0]
            fisher = {n: self.params.gamma * old[n] + f for n, f in fisher.items()}
            self.fishers, self.anchors = [fisher], [anchor]
        else:
            self.fishers.append(fisher)
            self.anchors.append(anchor)
        self.tasks.append(task)

    def _estimate_fisher(self, task: str, env: TaskEnv) -> dict[str, torch.Tensor]:
        params = dict(self.model.shared_parameters())
        was_training = self.model.training
        self.model.eval()  # dropout off: the Fisher of the deterministic model we keep
        try:
            if self.params.fisher_batch_size == 1 and self._use_vmap(params):
                sums, seen = self._per_example_sums(task, env, params)
            else:
                sums, seen = self._batch_sums(task, env, params)
        finally:
            self.model.zero_grad(set_to_none=True)
            self.model.train(was_training)
        return {n: f / max(seen, 1) for n, f in sums.items()}

    def _use_vmap(self, params: dict[str, torch.nn.Parameter]) -> bool:
        if self.params.fisher_vmap == "never" or not grads.vectorizable(self.model):
            return False
        return self.params.fisher_vmap == "always" or grads.faster(params.values())

    def _labels(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return grads.sample_labels(logits, batch) if self.params.fisher == "sampled" else batch["labels"]

    def _label_sets(self, logits: torch.Tensor, labels: torch.Tensor
                    ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """(labels, per-example weights) to square gradients for: one set, or every class with its probability."""
        if self.params.fisher != "exact":
            return [(labels, None)]
        probs = logits.softmax(-1)
        return [(torch.full_like(labels, y), probs[:, y]) for y in range(logits.shape[-1])]

    def _per_example_sums(self, task: str, env: TaskEnv, params: dict[str, torch.nn.Parameter]
                          ) -> tuple[dict[str, torch.Tensor], int]:
        """Per-example gradients, a batch at a time with vmap once the first batch shows it agrees with one
        backward pass per example (it falls back to those where it does not)."""
        sums = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in params.items()}
        seen, vmap_ok = 0, None
        for batch in env.batches(task, batch_size=grads.BATCH, limit=self.params.fisher_samples, sample=True):
            with torch.no_grad():
                logits = self.model(task, batch).float()
            labels = self._labels(logits, batch)
            if vmap_ok is None:
                vmap_ok = grads.agrees(self.model, task, batch, labels, params)
            n = int(batch["input_ids"].shape[0])
            for ys, weights in self._label_sets(logits, labels):
                if vmap_ok:
                    part = grads.vectorized(self.model, task, batch, ys, params, weights=weights)
                else:
                    part = grads.looped(self.model, task, batch, ys, params, range(n), weights)
                for name, s in part.items():
                    sums[name] += s
            seen += n
        return sums, seen

    def _batch_sums(self, task: str, env: TaskEnv, params: dict[str, torch.nn.Parameter]
                    ) -> tuple[dict[str, torch.Tensor], int]:
        """Squared gradients of whole batches (exact per-example only at fisher_batch_size 1), weighted by size."""
        sums = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in params.items()}
        seen = 0
        for batch in env.batches(task, batch_size=self.params.fisher_batch_size, limit=self.params.fisher_samples,
                                 sample=True):
            n = int(batch["input_ids"].shape[0])
            sets: list[tuple[torch.Tensor | None, torch.Tensor | None]] = [(None, None)]
            if self.params.fisher == "exact":  # the probabilities first; other kinds need only the one pass
                with torch.no_grad():
                    sets = [*self._label_sets(self.model(task, batch).float(), batch["labels"])]
            for ys, weights in sets:
                self.model.zero_grad(set_to_none=True)
                logits = self.model(task, batch).float()
                task_loss(logits, self._labels(logits, batch) if ys is None else ys).backward()
                w = n if weights is None else float(weights.sum())  # exact: one example, its label's probability
                for name, p in params.items():
                    if p.grad is not None:
                        sums[name] += p.grad.detach().float().pow(2) * w
            seen += n
        return sums, seen

    def state_dict(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for i, (fisher, anchor) in enumerate(zip(self.fishers, self.anchors, strict=True)):
            out.update({f"fisher.{i}.{n}": t for n, t in fisher.items()})
            out.update({f"anchor.{i}.{n}": t for n, t in anchor.items()})
        return out

    def meta(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "pairs": len(self.fishers)}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.tasks = list(meta.get("tasks", []))
        pairs = int(meta.get("pairs", 0))
        names = [n for n, _ in self.model.shared_parameters()]
        device = self.device()  # the checkpoint is read onto the CPU; the penalty runs where the model is
        self.fishers = [{n: tensors[f"fisher.{i}.{n}"].to(device) for n in names} for i in range(pairs)]
        self.anchors = [{n: tensors[f"anchor.{i}.{n}"].to(device) for n in names} for i in range(pairs)]

    def memory(self) -> dict[str, int]:
        return {"fisher": tensor_bytes(t for f in self.fishers for t in f.values()),
                "anchor": tensor_bytes(t for a in self.anchors for t in a.values())}

"""The replay memory shared by replay, A-GEM and DER++: token ids (never strings), reservoir or per-task balanced.

Each stored example keeps its task name, so a replayed sample always goes through its own task's head,
and optionally the logits it had when stored (DER++). Randomness comes from torch's global generator,
which the trainer checkpoints at task boundaries, so a resumed run fills and samples the buffer exactly
as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import torch

from clsweep.approaches.base import Approach, Batch, TaskEnv, old_heads_tasks, tensor_bytes
from clsweep.models import CLModel, task_loss

Policy = Literal["reservoir", "balanced"]


@dataclass
class Example:
    task: str
    input_ids: torch.Tensor  # (length,)
    token_type_ids: torch.Tensor | None
    labels: torch.Tensor  # () for sequence tasks, (length,) for token tasks, (target length,) for text2text
    logits: torch.Tensor | None  # (classes,) or (length, classes), as stored
    target: bool = False  # text2text: `labels` are target tokens, not aligned with `input_ids`


@dataclass
class ReplayGroup:
    """The rows of a replay batch that belong to one task."""

    task: str
    rows: torch.Tensor
    labels: torch.Tensor
    logits: torch.Tensor | None


@dataclass
class ReplayBatch:
    inputs: Batch  # input_ids, attention_mask (and token_type_ids) of every row, padded together
    groups: list[ReplayGroup]

    @property
    def size(self) -> int:
        return int(self.inputs["input_ids"].shape[0])


class ReplayBuffer:
    def __init__(self, size: int, policy: Policy) -> None:
        self.size, self.policy = size, policy
        self.items: list[Example] = []
        self.seen: dict[str, int] = {}  # examples offered per task (reservoir counters)

    # ---------------------------------------------------------------------------------- filling
    def begin_task(self, task: str) -> None:
        """Balanced: shrink every stored task to its share of the size once `task` joins."""
        self.seen.setdefault(task, 0)
        if self.policy != "balanced":
            return
        quota = self.quota()
        # Insertion order, never a set: string hashes differ between processes, and so would the
        # order of the random draws below (a resumed or re-run trial would keep other examples).
        for t in dict.fromkeys(e.task for e in self.items):
            mine = [i for i, e in enumerate(self.items) if e.task == t]
            if len(mine) > quota:
                drop = {mine[j] for j in torch.randperm(len(mine))[quota:].tolist()}
                self.items = [e for i, e in enumerate(self.items) if i not in drop]

    def quota(self) -> int:
        return self.size // max(1, len(self.seen))

    def add_batch(self, task: str, batch: Batch, logits: torch.Tensor | None = None) -> None:
        """Offer every row of a (padded) training batch; rows are stored unpadded on the CPU."""
        if task not in self.seen:
            self.begin_task(task)
        lengths = batch["attention_mask"].sum(1).tolist()
        for row, n in enumerate(lengths):
            self._offer(partial(_example, task, batch, logits, row, int(n)), task)

    def _offer(self, make: Callable[[], Example], task: str) -> None:
        self.seen[task] += 1
        if self.policy == "reservoir":
            count, slots, cap = sum(self.seen.values()), range(len(self.items)), self.size
        else:
            count, cap = self.seen[task], self.quota()
            slots = [i for i, e in enumerate(self.items) if e.task == task]  # type: ignore[assignment]
        if len(slots) < cap:
            self.items.append(make())
            return
        j = int(torch.randint(count, ()).item())  # classic reservoir: keep with probability cap / count
        if j < cap:
            self.items[slots[j]] = make()

    # ---------------------------------------------------------------------------------- reading
    def tasks(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.items:
            out[e.task] = out.get(e.task, 0) + 1
        return out

    def sample(self, n: int, exclude: str | None = None) -> list[int]:
        pool = [i for i, e in enumerate(self.items) if e.task != exclude]
        if not pool:
            return []
        return [pool[j] for j in torch.randperm(len(pool))[:n].tolist()]

    def batch(self, indices: list[int], pad_id: int, device: torch.device) -> ReplayBatch:
        items = [self.items[i] for i in indices]
        width = max(len(e.input_ids) for e in items)
        ids = torch.full((len(items), width), pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        types = torch.zeros_like(ids)
        for r, e in enumerate(items):
            ids[r, : len(e.input_ids)] = e.input_ids
            mask[r, : len(e.input_ids)] = 1
            if e.token_type_ids is not None:
                types[r, : len(e.input_ids)] = e.token_type_ids
        inputs = {"input_ids": ids, "attention_mask": mask}
        if any(e.token_type_ids is not None for e in items):
            inputs["token_type_ids"] = types
        if items[0].target:  # text2text: every row's target padded to the longest target, for one LM forward
            width = max(len(e.labels) for e in items)
            inputs["labels"] = torch.full((len(items), width), -100, dtype=torch.long)
            for r, e in enumerate(items):
                inputs["labels"][r, : len(e.labels)] = e.labels
        groups = [_group(t, [r for r, e in enumerate(items) if e.task == t], items, width)
                  for t in dict.fromkeys(e.task for e in items)]
        moved = {k: v.to(device) for k, v in inputs.items()}
        return ReplayBatch(moved, [ReplayGroup(g.task, g.rows.to(device), g.labels.to(device),
                                               None if g.logits is None else g.logits.to(device)) for g in groups])

    def memory(self) -> int:
        return tensor_bytes(t for e in self.items for t in (e.input_ids, e.token_type_ids, e.labels, e.logits)
                            if t is not None)

    # ----------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for i, e in enumerate(self.items):
            out[f"buffer.{i}.input_ids"] = e.input_ids
            out[f"buffer.{i}.labels"] = e.labels
            if e.token_type_ids is not None:
                out[f"buffer.{i}.token_type_ids"] = e.token_type_ids
            if e.logits is not None:
                out[f"buffer.{i}.logits"] = e.logits
        return out

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"tasks": [e.task for e in self.items], "seen": dict(self.seen)}
        if any(e.target for e in self.items):
            meta["target"] = [e.target for e in self.items]
        return meta

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.seen = {str(k): int(v) for k, v in meta.get("seen", {}).items()}
        target = meta.get("target") or [False] * len(meta.get("tasks", []))
        self.items = [Example(t, tensors[f"buffer.{i}.input_ids"], tensors.get(f"buffer.{i}.token_type_ids"),
                              tensors[f"buffer.{i}.labels"], tensors.get(f"buffer.{i}.logits"), bool(target[i]))
                      for i, t in enumerate(meta.get("tasks", []))]


def _example(task: str, batch: Batch, logits: torch.Tensor | None, row: int, n: int) -> Example:
    labels = batch["labels"][row]
    types = batch.get("token_type_ids")
    token = labels.ndim == 1
    target = "target_mask" in batch
    if target:  # the target's own length, not the prompt's
        n_labels = int(batch["target_mask"][row].sum())
        labels = labels[:n_labels]
    return Example(
        task, batch["input_ids"][row, :n].detach().cpu().clone(),
        None if types is None else types[row, :n].detach().cpu().clone(),
        (labels[:n] if token and not target else labels).detach().cpu().clone(),
        None if logits is None else (logits[row, :n] if token else logits[row]).detach().float().cpu().clone(),
        target,
    )


def _group(task: str, rows: list[int], items: list[Example], width: int) -> ReplayGroup:
    first = items[rows[0]]
    token = first.labels.ndim == 1
    labels = torch.full((len(rows), width), -100, dtype=torch.long) if token else torch.empty(len(rows),
                                                                                               dtype=torch.long)
    logits = None
    if first.logits is not None:
        classes = first.logits.shape[-1]
        logits = torch.zeros((len(rows), width, classes) if token else (len(rows), classes))
    for k, r in enumerate(rows):
        e = items[r]
        if token:
            labels[k, : len(e.labels)] = e.labels
        else:
            labels[k] = e.labels
        if logits is not None and e.logits is not None:
            if token:
                logits[k, : len(e.logits)] = e.logits
            else:
                logits[k] = e.logits
    return ReplayGroup(task, torch.tensor(rows, dtype=torch.long), labels, logits)


def replay_logits(model: CLModel, rb: ReplayBatch) -> list[tuple[ReplayGroup, torch.Tensor]]:
    """One backbone pass over the whole replay batch, then each group through its own task's head."""
    if model.generative:  # one LM head for every task: the forward already gives every row's target logits
        logits = model(rb.groups[0].task, rb.inputs)
        return [(g, logits[g.rows]) for g in rb.groups]
    states = model.encode(rb.inputs)
    mask = rb.inputs["attention_mask"]
    return [(g, model.head(g.task, states[g.rows], mask[g.rows])) for g in rb.groups]


def replay_ce(model: CLModel, rb: ReplayBatch) -> torch.Tensor:
    """Cross-entropy of the replayed samples under their own heads, each group weighted by its sample count."""
    total = sum(len(g.rows) * task_loss(logits, g.labels) for g, logits in replay_logits(model, rb))
    return total / rb.size  # type: ignore[return-value]


class BufferedApproach(Approach):
    """Base of the approaches that keep a ReplayBuffer (their Params hold `buffer_size`, `policy`, `old_heads`)."""

    def __init__(self, params: Any, model: Any) -> None:
        super().__init__(params, model)
        self.buffer = ReplayBuffer(params.buffer_size, params.policy)
        self.env: TaskEnv | None = None  # kept for replay batches: pad id, device, autocast

    def stepped_tasks(self, seen: Sequence[str]) -> list[str]:
        return old_heads_tasks(self.params.old_heads, seen)

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.env = env
        self.buffer.begin_task(task)

    def replay_batch(self, n: int, exclude: str | None = None) -> ReplayBatch | None:
        picked = self.buffer.sample(n, exclude)
        if not picked or self.env is None:
            return None
        return self.buffer.batch(picked, self.env.pad_id, self.env.device)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.buffer.state_dict()

    def meta(self) -> dict[str, Any]:
        return self.buffer.meta()

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.buffer.load_state(tensors, meta)

    def memory(self) -> dict[str, int]:
        return {"buffer": self.buffer.memory()}

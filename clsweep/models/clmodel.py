"""CLModel: one shared backbone plus one head per task (heads shared when tasks name the same head)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from clsweep.models.heads import HEADS
from clsweep.seeds import derived_seed


@dataclass(frozen=True)
class HeadSpec:
    """What the model needs to know about a task: its head's name, kind and label count."""

    task: str
    head: str
    kind: str
    num_labels: int
    classes: tuple[int, ...] | None = None  # the task's own label ids on a head shared over a union; None: all


class CLModel(nn.Module):
    generative = False  # GenerativeLM: logits over the vocabulary at each target token, and `generate`

    def __init__(self, backbone: nn.Module, heads: Mapping[str, HeadSpec], pooling: str, dropout: float,
                 seed: int | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        hidden = int(backbone.config.hidden_size)  # type: ignore[union-attr,arg-type]
        self.task_head = {t: h.head for t, h in heads.items()}
        self.task_classes = {t: h.classes for t, h in heads.items()}
        kinds = {h.head: h for h in heads.values()}
        built: dict[str, nn.Module] = {}
        # Heads by name, each from its own seed: a head's initial weights and the parameter order (norms and
        # penalties sum over it) do not depend on the task order, so orderings sharing a prefix share state.
        for head in sorted(kinds):
            if seed is not None:
                torch.manual_seed(derived_seed(seed, "head", head))
            built[head] = HEADS.get(kinds[head].kind)(hidden, kinds[head].num_labels, pooling, dropout)
        self.heads = nn.ModuleDict(built)
        # Approaches that keep per-task backbone variants (peft adapters, prompts, per-task copies) set
        # this hook; it selects the task's variant before every forward, at train and at eval alike.
        self.switch: Callable[[str], None] | None = None
        # The encoder output of the latest forward, so an approach can read other heads (LwF) on the
        # same states without a second backbone pass.
        self.last_states: torch.Tensor | None = None

    def forward(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if self.switch is not None:
            self.switch(task)
        states = self.encode(batch)
        self.last_states = states
        return self.head(task, states, batch["attention_mask"])

    def encode(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The backbone's last hidden states (the backbone variant selected last, when there are several)."""
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        if "attention_bias" in batch:  # a ready-made 4-D mask, which transformers uses unread (vmap: fisher.py)
            inputs["attention_mask"] = batch["attention_bias"]
        return self.backbone(**inputs).last_hidden_state

    def head(self, task: str, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits of `task`'s head on encoder states."""
        return self.heads[self.task_head[task]](states, mask)

    def backbone_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """The backbone's parameters, named as in the model's state dict."""
        for name, p in self.backbone.named_parameters():
            yield f"backbone.{name}", p

    def shared_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """What more than one task uses (what regularisers such as EWC protect): the backbone, and every head
        that several tasks share (the one head of domain- and class-incremental learning)."""
        yield from self.backbone_parameters()
        users = Counter(self.task_head.values())
        for head, module in self.heads.items():
            if users[head] > 1:
                for name, p in module.named_parameters():
                    yield f"heads.{head}.{name}", p

    def head_classes(self, head: str, tasks: Iterable[str]) -> list[int] | None:
        """Label ids of `head` that belong to `tasks` (sorted), or None when they cover the whole head."""
        ids: set[int] = set()
        for t in tasks:
            if self.task_head[t] == head:
                own = self.task_classes[t]
                if own is None:
                    return None
                ids.update(own)
        return sorted(ids)


def task_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for both task kinds; token labels use -100 for positions that do not count."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1),
                                       ignore_index=-100)


def build_model(model_cfg: Any, heads: Mapping[str, HeadSpec], seed: int, tokenizer: Any = None,
                cache_dir: Path | None = None) -> tuple[CLModel, Any]:
    """The backbone (tiny, hub id or local dir), its tokenizer and the heads, initialised from `seed`."""
    from clsweep.models.backbone import load_backbone

    torch.manual_seed(seed)  # random-init weights (tiny backbone, heads) must follow the run's seed
    generative = any(h.kind == "lm" for h in heads.values())
    backbone, tokenizer = load_backbone(model_cfg, tokenizer, generative, cache_dir)
    if generative:
        from clsweep.models.generative import GenerativeLM

        return GenerativeLM(backbone, list(heads), tokenizer), tokenizer
    return CLModel(backbone, heads, model_cfg.pooling, model_cfg.head_dropout, seed), tokenizer

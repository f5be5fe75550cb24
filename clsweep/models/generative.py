"""GenerativeLM: a seq2seq or decoder-only language model whose one "head", the LM head, every task shares.

Its forward returns logits aligned with the batch's target tokens ([batch, target length, vocabulary], the
same layout as a token task's labels), so the trainer's loss, replay and distillation work unchanged. A
seq2seq model reads the prompt in its encoder and predicts the target in its decoder; a decoder-only model
reads prompt and target as one sequence, and only the target's positions count (the prompt is masked out of
the loss). Generation is greedy and batched; decoder-only prompts are left-padded for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from clsweep.models.clmodel import CLModel

LM_HEAD = "lm"


class GenerativeLM(CLModel):
    generative = True

    def __init__(self, lm: Any, tasks: Sequence[str], tokenizer: Any) -> None:
        super().__init__(lm, {}, "cls", 0.0)
        self.task_head = dict.fromkeys(tasks, LM_HEAD)
        self.task_classes = dict.fromkeys(tasks)
        self.encoder_decoder = bool(lm.config.is_encoder_decoder)
        self.tokenizer = tokenizer
        self.pad_id = int(tokenizer.pad_token_id)
        self.eos_id = int(tokenizer.eos_token_id)
        # Soft-prompt approaches (progressive prompts) set this: the embeddings put before a task's input,
        # [prompt tokens, hidden], or None for none.
        self.prefix: Callable[[str], torch.Tensor | None] | None = None

    def forward(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if self.switch is not None:
            self.switch(task)
        labels = batch["labels"]
        prefix = self.prefix(task) if self.prefix is not None else None
        if self.encoder_decoder:
            decoder_ids = self._shift_right(labels)
            inputs = self._inputs(batch["input_ids"], batch["attention_mask"], prefix)
            return self.backbone(**inputs, decoder_input_ids=decoder_ids).logits
        seq, mask, at = self._causal_layout(batch["input_ids"], batch["attention_mask"], labels)
        logits = self.backbone(**self._inputs(seq, mask, prefix)).logits
        if prefix is not None:
            at = at + prefix.shape[0]
        return logits.gather(1, at[..., None].expand(-1, -1, logits.shape[-1]))

    def _inputs(self, ids: torch.Tensor, mask: torch.Tensor, prefix: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Token ids, or with a soft prompt the embeddings [prompt; tokens] and the mask that covers both."""
        if prefix is None:
            return {"input_ids": ids, "attention_mask": mask}
        lm: Any = self.backbone
        embeds = lm.get_input_embeddings()(ids)
        soft = prefix.to(embeds.dtype)[None].expand(ids.shape[0], -1, -1)
        ones = mask.new_ones(ids.shape[0], prefix.shape[0])
        return {"inputs_embeds": torch.cat([soft, embeds], 1), "attention_mask": torch.cat([ones, mask], 1)}

    def _shift_right(self, labels: torch.Tensor) -> torch.Tensor:
        lm: Any = self.backbone
        start = lm.config.decoder_start_token_id
        start = self.pad_id if start is None else int(start)
        shifted = torch.cat([torch.full_like(labels[:, :1], start), labels[:, :-1]], dim=1)
        return shifted.masked_fill(shifted == -100, self.pad_id)

    def _causal_layout(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each row's prompt then its target, right-padded; and where target token j is predicted (p - 1 + j)."""
        p = mask.sum(1)
        t = (labels != -100).sum(1)
        width = int((p + t).max())
        pos = torch.arange(width, device=ids.device)[None]
        prompt = ids.gather(1, pos.clamp(max=ids.shape[1] - 1).expand(ids.shape[0], -1))
        target = labels.gather(1, (pos - p[:, None]).clamp(0, labels.shape[1] - 1))
        valid = pos < (p + t)[:, None]
        seq = torch.where(pos < p[:, None], prompt, target).masked_fill(~valid, self.pad_id)
        at = (p[:, None] - 1 + torch.arange(labels.shape[1], device=ids.device)[None]).clamp(max=width - 1)
        return seq, valid.long(), at

    def encode(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError("a generative LM has no separate encoder states: call the model with labels")

    def head(self, task: str, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("a generative LM's head is its LM head: call the model with labels")

    @torch.inference_mode()
    def generate(self, task: str, batch: Mapping[str, torch.Tensor], max_new_tokens: int,
                 scores: bool = False) -> tuple[list[list[int]], list[float] | None]:
        """Greedy continuations of the batch's prompts, cut at EOS; with `scores`, each one's probability per
        token (the geometric mean of its tokens' probabilities: a confidence comparable across lengths)."""
        if self.switch is not None:
            self.switch(task)
        prefix = self.prefix(task) if self.prefix is not None else None
        inputs = self._inputs(batch["input_ids"], batch["attention_mask"], prefix)
        if not self.encoder_decoder:
            inputs = _left_padded(inputs, self.pad_id)
        lm: Any = self.backbone
        out = lm.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                          pad_token_id=self.pad_id, eos_token_id=self.eos_id, output_scores=scores,
                          return_dict_in_generate=True)
        # Given ids, a decoder-only LM returns them with the continuation; given embeddings, the continuation only.
        skip = 1 if self.encoder_decoder else 0 if "inputs_embeds" in inputs else inputs["input_ids"].shape[1]
        new = out.sequences[:, skip:]
        rows = [_until_eos(r, self.eos_id) for r in new.tolist()]
        if not scores:
            return rows, None
        logp = lm.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        conf = [float(logp[i, : max(1, len(r) + 1)].float().mean().exp()) for i, r in enumerate(rows)]
        return rows, conf


def _left_padded(inputs: dict[str, torch.Tensor], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded prompts (ids or embeddings) moved to the right edge: a decoder-only LM continues from each
    row's end."""
    mask = inputs["attention_mask"]
    width = mask.shape[1]
    src = torch.arange(width, device=mask.device)[None] - (width - mask.sum(1))[:, None]
    valid = src >= 0
    out = {"attention_mask": valid.long()}
    if "input_ids" in inputs:
        out["input_ids"] = inputs["input_ids"].gather(1, src.clamp(min=0)).masked_fill(~valid, pad_id)
    else:
        e = inputs["inputs_embeds"]
        moved = e.gather(1, src.clamp(min=0)[..., None].expand(-1, -1, e.shape[-1]))
        out["inputs_embeds"] = moved * valid[..., None].to(e.dtype)
    return out


def _until_eos(row: list[int], eos: int) -> list[int]:
    return row[: row.index(eos)] if eos in row else row

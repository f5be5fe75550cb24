"""Experience replay: a buffer of past examples (token ids) replayed alongside every current batch.

Each step (or every `replay_every`-th step) draws `replay_batch_size` stored examples and mixes them with the
current batch: the loss is the mean cross-entropy over all examples of both, each replayed example scored by
its own task's head. Sparse replay as IDBR (every 10 steps) and MbPA++ (100 examples every 10,000) use it
takes a separate optimizer step on the replayed batch; here it joins that step's batch (the trainer owns
the step), a departure stated in `replay_every`.
The buffer is filled from the training stream (reservoir over everything seen, or per-task balanced).
"""

from __future__ import annotations

import torch
from pydantic import Field

from clsweep.approaches.base import OLD_HEADS_HELP, Approach, Batch, OldHeads, TaskEnv
from clsweep.approaches.buffer import BufferedApproach, Policy, replay_ce
from clsweep.schema import Strict


class ReplayParams(Strict):
    buffer_size: int = Field(200, ge=1, description="examples kept over all tasks")
    policy: Policy = "balanced"
    old_heads: OldHeads = Field("trainable", description=OLD_HEADS_HELP)
    replay_batch_size: int = Field(16, ge=1, description="replayed examples mixed into each replaying step")
    replay_every: int = Field(1, ge=1, description="replay on every k-th step of a task only (sparse replay: IDBR "
                              "10; those papers take a separate step on the replayed batch, here it is mixed in)")


class Replay(BufferedApproach):
    name = "replay"
    Params = ReplayParams
    scenarios = (*Approach.scenarios, "generative")  # nothing head-specific: it runs on a generative LM
    params: ReplayParams
    step = 0  # steps of the current task (training restarts only at task boundaries, so it needs no checkpoint)

    def before_task(self, task: str, env: TaskEnv) -> None:
        super().before_task(task, env)
        self.step = 0

    def loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        out = loss
        self.step += 1
        due = self.step % self.params.replay_every == 0
        rb = self.replay_batch(self.params.replay_batch_size) if due else None
        if rb is not None and self.env is not None:
            with self.env.autocast():
                replayed = replay_ce(self.model, rb)
            n = int(batch["input_ids"].shape[0])
            out = (n * loss + rb.size * replayed) / (n + rb.size)
        # Stored after use, so a batch never replays itself in the step it arrives.
        self.buffer.add_batch(task, batch)
        return out

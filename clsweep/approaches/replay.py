"""Experience replay: a buffer of past examples (token ids) replayed alongside every current batch.

Each step draws `replay_batch_size` stored examples and mixes them with the current batch: the loss is
the mean cross-entropy over all examples of both, each replayed example scored by its own task's head.
The buffer is filled from the training stream (reservoir over everything seen, or per-task balanced).
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

from clsweep.approaches.base import Approach, Batch, TaskEnv
from clsweep.approaches.buffer import Policy, ReplayBuffer, replay_ce
from clsweep.schema import Strict


class ReplayParams(Strict):
    buffer_size: int = Field(200, ge=1, description="examples kept over all tasks")
    policy: Policy = "balanced"
    replay_batch_size: int = Field(16, ge=1, description="replayed examples mixed into each step")


class Replay(Approach):
    name = "replay"
    Params = ReplayParams
    params: ReplayParams

    def __init__(self, params: Any, model: Any) -> None:
        super().__init__(params, model)
        self.buffer = ReplayBuffer(self.params.buffer_size, self.params.policy)
        self.env: TaskEnv | None = None

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.env = env
        self.buffer.begin_task(task)

    def loss(self, task: str, batch: Batch, logits: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        out = loss
        picked = self.buffer.sample(self.params.replay_batch_size)
        if picked and self.env is not None:
            rb = self.buffer.batch(picked, self.env.pad_id, self.env.device)
            with self.env.autocast():
                replayed = replay_ce(self.model, rb)
            n = int(batch["input_ids"].shape[0])
            out = (n * loss + rb.size * replayed) / (n + rb.size)
        # Stored after use, so a batch never replays itself in the step it arrives.
        self.buffer.add_batch(task, batch)
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.buffer.state_dict()

    def meta(self) -> dict[str, Any]:
        return self.buffer.meta()

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.buffer.load_state(tensors, meta)

    def memory(self) -> dict[str, int]:
        return {"buffer": self.buffer.memory()}

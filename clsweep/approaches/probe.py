"""Linear probing: a frozen backbone and trainable linear heads.

Only the heads learn, so the backbone cannot forget: compared with fine-tuning it separates forgetting in
the encoder from forgetting in the heads (and shows how much the encoder as initialised already knows).
With a head per task (task_il) nothing forgets; the one shared head of domain_il and class_il does. The
backbone's dropout stays on while the heads train (the trainer trains in train mode); evaluation has it off.
"""

from __future__ import annotations

from typing import Any

from clsweep.approaches.base import Approach, TaskEnv
from clsweep.models import CLModel


class Probe(Approach):
    name = "probe"

    def __init__(self, params: Any, model: CLModel) -> None:
        super().__init__(params, model)
        model.backbone.requires_grad_(False)

    def before_task(self, task: str, env: TaskEnv) -> None:
        self.model.backbone.requires_grad_(False)  # the trainer builds its optimizer from what requires grad

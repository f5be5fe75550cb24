"""Plain sequential fine-tuning: the lower bound every approach is compared against."""

from __future__ import annotations

from clsweep.approaches.base import Approach


class Finetune(Approach):
    name = "finetune"
    first_task_is_finetune = True
    scenarios = (*Approach.scenarios, "generative")  # nothing head-specific: it runs on a generative LM

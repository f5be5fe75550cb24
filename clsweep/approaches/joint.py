"""Joint multitask training on the union of the tasks seen so far: the upper bound.

After the k-th task the model has trained on tasks 1..k together, so row k of R holds the joint model
a*_k that intransigence is measured against. It continues from the previous row's weights rather than
restarting, which keeps the cost at sum_k k task-epochs instead of retraining from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence

from clsweep.approaches.base import Approach


class Joint(Approach):
    name = "joint"

    def training_tasks(self, seen: Sequence[str]) -> list[str]:
        return list(seen)

"""The Optuna define-by-run space: the approach first, then only that approach's own parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clsweep.config import Distribution
from clsweep.sweep.plan import SweepPlan


def suggest(trial: Any, key: str, dist: Distribution) -> Any:
    kind, v = dist.kind, getattr(dist, dist.kind)  # the one field that is set
    if kind in ("grid", "choice"):
        return trial.suggest_categorical(key, list(v))
    if kind == "uniform":
        return trial.suggest_float(key, *v)
    if kind == "loguniform":
        return trial.suggest_float(key, *v, log=True)
    if kind == "randint":
        low, high = v
        return trial.suggest_int(key, low, high - 1)  # Ray's randint excludes the upper bound
    low, high, q = v
    return trial.suggest_float(key, low, high, step=q)


class DefineByRun:
    """Picklable (Tune snapshots its searcher): a closure would break experiment checkpointing."""

    def __init__(self, plan: SweepPlan) -> None:
        self.approaches = list(plan.approaches)
        self.space = {name: dict(dims) for name, dims in plan.optuna_space.items()}

    def __call__(self, trial: Any) -> None:
        approaches = self.approaches
        name = trial.suggest_categorical("approach.name", approaches) if len(approaches) > 1 else approaches[0]
        for key, dist in self.space.get(name, {}).items():
            suggest(trial, key, dist)


def define_by_run(plan: SweepPlan) -> Callable[[Any], None]:
    return DefineByRun(plan)

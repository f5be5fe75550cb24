"""Before any trial starts: each task tokenized once per model and tasklist the trials use, and every trial's
longest sequence checked against its backbone's position table, so a sweep refuses what a trial would crash on."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from clsweep.config import Distribution, ExperimentConfig
from clsweep.errors import ConfigError, Sources
from clsweep.sweep.plan import SweepPlan
from clsweep.sweep.space import apply_overrides


def prepare_sweep(cfg: ExperimentConfig, plan: SweepPlan, sources: Sources | None, file: str,
                  log: Callable[[str], None]) -> None:
    from clsweep.training.positions import planned_table, positions_problem, targets
    from clsweep.training.run import prepare

    base = cfg.to_dict()
    prepared: dict[str, Any] = {}
    tables: dict[str, tuple[int | None, bool]] = {}
    for label, overrides in [("", {}), *trial_variants(plan)]:
        v = ExperimentConfig.model_validate(apply_overrides(base, overrides))
        key = json.dumps([v.model.model_dump(mode="json"), v.tasklist.model_dump(mode="json")], sort_keys=True)
        if key not in prepared:
            prepared[key] = prepare(v, sources, log)[1]
        tasks = prepared[key]
        table = json.dumps([key, sorted(v.task_order)])  # a tiny backbone fits the longest of the order's tasks
        if table not in tables:
            tables[table] = planned_table(v, tasks)
        limit, causal = tables[table]
        problem = positions_problem(v, limit, targets(causal, tasks, v.task_order))
        if problem is not None:
            raise _blame(problem, overrides, label, sources, file)


def trial_variants(plan: SweepPlan) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, overrides with the run's "order") for what the trials will train. Grid and random: every trial.
    Optuna samples as it goes: each approach with each dimension at each listed value or the end of its range
    that uses the most positions, one dimension at a time (a trial's start still checks its whole draw)."""
    if plan.algorithm != "optuna":
        pairs = [(t.config_id, t.overrides, r.order) for t in plan.trials for r in t.runs]
    else:
        orders = dict.fromkeys(r.order for r in plan.runs)
        pairs = [(label, overrides, o) for label, overrides in _optuna_configs(plan) for o in orders]
    seen: set[str] = set()
    for label, overrides, order in pairs:
        full = {**overrides, "order": list(order)}
        text = json.dumps(full, sort_keys=True, default=str)
        if text not in seen:
            seen.add(text)
            yield label, full


def _optuna_configs(plan: SweepPlan) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in plan.approaches:
        chosen = {"approach.name": name}
        yield name, chosen
        for key, dist in plan.optuna_space.get(name, {}).items():
            for value in _largest(dist):
                yield f"{name} {key.rsplit('.', 1)[-1]}={value}", {**chosen, key: value}


def _largest(dist: Distribution) -> list[Any]:
    """Values of a dimension to check: every listed one, else the top of its range (what a draw can reach)."""
    kind, v = dist.kind, getattr(dist, dist.kind)
    if kind in ("grid", "choice"):
        return list(v)
    if kind == "randint":
        return [v[1] - 1]  # Tune's randint excludes the high end
    if kind == "quniform":
        return [int(v[1] // v[2] * v[2]) if float(v[2]).is_integer() else v[1] // v[2] * v[2]]
    return [v[1]]


def _blame(problem: tuple[str, str], overrides: dict[str, Any], label: str, sources: Sources | None,
           file: str) -> ConfigError:
    """Point at the search dimension when a swept value is what does not fit, else at the config key."""
    key, why = problem
    if key in overrides:
        where = f"search.space.{key}"
        at = sources.locate(where) if sources else (file, where)
        return ConfigError.one(*at, f"the value {overrides[key]!r} (trial {label}): {why}")
    at = sources.locate(key) if sources else (file, key)
    return ConfigError.one(*at, why + (f" (in trial {label})" if label else ""))

"""Expand a config's `search:` section into a deterministic trial plan, without Ray."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from clsweep.config import ConfigError, Distribution, ExperimentConfig, apply_override
from clsweep.sweep.orderings import order_key, resolve_orderings
from clsweep.sweep.space import Dim, check_space, probe_approaches

# Random search draws from this fixed seed: the plan, and so `--dry-run`, is the same every time.
SAMPLE_SEED = 0
CONTINUOUS = ("uniform", "loguniform", "randint", "quniform")


@dataclass(frozen=True)
class RunSpec:
    """One training run of a configuration: a task order and a seed."""

    order_id: str
    order: tuple[str, ...]
    seed: int

    @property
    def run_id(self) -> str:
        return f"{self.order_id}_seed{self.seed}"


@dataclass(frozen=True)
class TrialSpec:
    """One Tune trial: a hyperparameter configuration and the runs it trains."""

    config_id: str
    overrides: dict[str, Any]
    runs: tuple[RunSpec, ...]

    @property
    def trial_id(self) -> str:
        return safe_name("__".join([self.config_id, *(r.run_id for r in self.runs)]))


@dataclass(frozen=True)
class SweepPlan:
    algorithm: str
    runs: tuple[RunSpec, ...]
    trials: tuple[TrialSpec, ...]
    optuna_space: dict[str, dict[str, Distribution]]
    approaches: tuple[str, ...]
    num_samples: int

    def __len__(self) -> int:
        return self.num_samples if self.algorithm == "optuna" else len(self.trials)

    def describe(self) -> str:
        orders = dict.fromkeys((r.order_id, r.order) for r in self.runs)
        seeds = list(dict.fromkeys(r.seed for r in self.runs))
        runs = f"{len(self.runs)} runs ({len(orders)} orderings x {len(seeds)} seeds)"
        if self.algorithm == "optuna":
            head = f"optuna: {self.num_samples} Optuna trials, each over {runs}"
        else:
            configs = list(dict.fromkeys(t.config_id for t in self.trials))
            head = f"{self.algorithm}: {len(configs)} configurations x {runs} = {len(self)} trials"
        lines = [head, "orderings:", *(f"  {oid}  {order_key(o)}" for oid, o in orders),
                 f"seeds: {', '.join(map(str, seeds))}"]
        return "\n".join(lines + self._describe_space())

    def _describe_space(self) -> list[str]:
        if self.algorithm != "optuna":
            return ["configurations:", *(f"  {c}" for c in dict.fromkeys(t.config_id for t in self.trials))]
        lines = ["search space:"]
        for name in self.approaches:
            dims = self.optuna_space.get(name, {})
            text = ", ".join(f"{k} {d.kind} {getattr(d, d.kind)}" for k, d in dims.items()) or "(fixed)"
            lines.append(f"  {name}: {text}")
        return lines


def make_plan(cfg: ExperimentConfig, file: str = "<config>") -> SweepPlan:
    """Orderings x seeds (the outer grid) and the hyperparameter configurations of `cfg.search`."""
    search = cfg.search
    runs = _runs(cfg, file)
    dims = check_space(cfg, file)
    approaches = probe_approaches(cfg, dims, file)
    common = dict(algorithm=search.algorithm, runs=runs, approaches=approaches, num_samples=search.num_samples)
    if search.algorithm == "optuna":
        return SweepPlan(trials=(), optuna_space=_optuna_space(dims, approaches), **common)  # type: ignore[arg-type]
    if search.algorithm == "grid":
        _refuse_continuous(dims, file)
        configs = list(_grid(dims, approaches))
    else:
        configs = list(_random(dims, approaches, search.num_samples))
    return SweepPlan(trials=_trials(configs, dims, runs), optuna_space={}, **common)  # type: ignore[arg-type]


def apply_overrides(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` (the `cfg.to_dict()` form) with the dotted `overrides` applied."""
    data = copy.deepcopy(base)
    for key, value in overrides.items():
        apply_override(data, key, copy.deepcopy(value))
    return data


def safe_name(text: str, max_len: int = 150) -> str:
    """Letters, digits and `._=+-` only; long names keep a hash so they stay distinct."""
    name = re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("_") or "_"
    if len(name) > max_len:
        name = name[: max_len - 9] + "_" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return name


# ------------------------------------------------------------------------------- expansion


def _runs(cfg: ExperimentConfig, file: str) -> tuple[RunSpec, ...]:
    # The same order listed twice (e.g. under two names) would only repeat identical training.
    orders = dict((tuple(order), oid) for oid, order in reversed(resolve_orderings(cfg, file)))
    ordered = sorted(orders.items(), key=lambda kv: _first_index(cfg, file, kv[1]))
    seeds = dict.fromkeys(cfg.search.seeds)
    return tuple(RunSpec(oid, order, seed) for order, oid in ordered for seed in seeds)


def _first_index(cfg: ExperimentConfig, file: str, oid: str) -> int:
    return [i for i, _ in resolve_orderings(cfg, file)].index(oid)


def _applicable(dims: list[Dim], approach: str) -> list[Dim]:
    return [d for d in dims if d.key != "approach.name" and d.approach in (None, approach)]


def _base(dims: list[Dim], approach: str) -> dict[str, Any]:
    return {"approach.name": approach} if any(d.key == "approach.name" for d in dims) else {}


def _grid(dims: list[Dim], approaches: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    # Per approach, so another approach's keys never multiply its configurations.
    for name in approaches:
        own = _applicable(dims, name)
        for values in itertools.product(*(d.values for d in own)):
            yield {**_base(dims, name), **{d.key: v for d, v in zip(own, values, strict=True)}}


def _random(dims: list[Dim], approaches: tuple[str, ...], num_samples: int) -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(SAMPLE_SEED)
    for name in approaches:
        own = _applicable(dims, name)
        outer = [d for d in own if d.dist.kind == "grid"]
        sampled = [d for d in own if d.dist.kind != "grid"]
        for values in itertools.product(*(d.values for d in outer)):
            fixed = {**_base(dims, name), **{d.key: v for d, v in zip(outer, values, strict=True)}}
            # Nothing sampled applies (e.g. finetune when only ewc's lambda is sampled): one trial, not N copies.
            for _ in range(num_samples if sampled else 1):
                yield {**fixed, **{d.key: sample(d.dist, rng) for d in sampled}}


def sample(dist: Distribution, rng: np.random.Generator) -> Any:
    """One draw with Ray Tune's semantics (randint excludes high; quniform rounds to multiples of q)."""
    kind = dist.kind
    if kind in ("choice", "grid"):
        values = getattr(dist, kind)
        return values[int(rng.integers(len(values)))]
    if kind == "uniform":
        return float(rng.uniform(*dist.uniform))  # type: ignore[misc]
    if kind == "loguniform":
        low, high = dist.loguniform  # type: ignore[misc]
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    if kind == "randint":
        return int(rng.integers(*dist.randint))  # type: ignore[misc]
    low, high, q = dist.quniform  # type: ignore[misc]
    steps = min(max(round(rng.uniform(low, high) / q), math.ceil(low / q)), math.floor(high / q))
    return float(round(steps * q, 12))  # round() drops float noise such as 0.30000000000000004


def _optuna_space(dims: list[Dim], approaches: tuple[str, ...]) -> dict[str, dict[str, Distribution]]:
    # OptunaSearch rejects tune.grid_search: grid values become a categorical choice.
    def categorical(d: Dim) -> Distribution:
        return Distribution(choice=list(d.values)) if d.dist.kind == "grid" else d.dist

    return {name: {d.key: categorical(d) for d in _applicable(dims, name)} for name in approaches}


def _refuse_continuous(dims: list[Dim], file: str) -> None:
    for d in dims:
        if d.dist.kind in CONTINUOUS:
            raise ConfigError.one(file, f"search.space.{d.key}",
                                  f"{d.dist.kind} is a continuous range, which grid search cannot enumerate; "
                                  "list values with grid/choice, or use algorithm: random or optuna")


# ------------------------------------------------------------------------------- trial ids


def _trials(configs: list[dict[str, Any]], dims: list[Dim], runs: tuple[RunSpec, ...]) -> tuple[TrialSpec, ...]:
    unique = list({_fingerprint(c): c for c in reversed(configs)}.values())[::-1]
    ids = _config_ids(unique, dims)
    return tuple(TrialSpec(cid, c, (run,)) for cid, c in zip(ids, unique, strict=True) for run in runs)


def _fingerprint(overrides: Mapping[str, Any]) -> str:
    return json.dumps(overrides, sort_keys=True, default=str)


def _config_ids(configs: list[dict[str, Any]], dims: list[Dim]) -> list[str]:
    short = {d.key: d.short for d in dims}
    seen_values: dict[str, set[str]] = {}
    for c in configs:
        for k, v in c.items():
            seen_values.setdefault(k, set()).add(_fingerprint({"v": v}))
    varying = sorted(k for k, vals in seen_values.items() if len(vals) > 1 and k != "approach.name")
    ids: list[str] = []
    taken: set[str] = set()
    for c in configs:
        parts = [str(c.get("approach.name", dims[0].base_approach if dims else ""))]
        parts += [f"{short[k]}={_fmt(c[k])}" for k in sorted(varying, key=lambda k: short[k]) if k in c]
        cid = " ".join(p for p in parts if p)
        # Values equal at 6 significant digits (or after safe_name) still get distinct ids.
        base, n = cid, 1
        while safe_name(cid) in taken:
            n += 1
            cid = f"{base} #{n}"
        taken.add(safe_name(cid))
        ids.append(cid)
    return ids


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)

"""Expand a config's `search:` section into a deterministic, printable trial plan, without Ray."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from clsweep.config import Distribution, ExperimentConfig
from clsweep.errors import ConfigError
from clsweep.sweep.orderings import order_key, resolve_orderings
from clsweep.sweep.space import Dim, apply_overrides, check_space, sample

# apply_overrides lives in clsweep.sweep.space (probing a dimension applies it); kept importable from here.
__all__ = ["CONTINUOUS", "SAMPLE_SEED", "RunSpec", "SweepPlan", "TrialSpec", "apply_overrides", "make_plan",
           "safe_name"]

# Random search draws from this fixed seed, so a plan (and `--dry-run`) is the same every time.
SAMPLE_SEED = 0
CONTINUOUS = ("uniform", "loguniform", "randint", "quniform")
Config = tuple[str, dict[str, Any]]  # (approach name, overrides)


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
    """Grid/random: one explicit trial per (configuration, run). Optuna: `num_samples` trials, each over all runs."""

    algorithm: str
    runs: tuple[RunSpec, ...]
    trials: tuple[TrialSpec, ...]
    optuna_space: dict[str, dict[str, Distribution]]
    approaches: tuple[str, ...]
    num_samples: int

    def __len__(self) -> int:
        return self.num_samples if self.algorithm == "optuna" else len(self.trials)

    def config_ids(self) -> list[str]:
        return list(dict.fromkeys(t.config_id for t in self.trials))

    def describe(self) -> str:
        orders = dict.fromkeys((r.order_id, r.order) for r in self.runs)
        seeds = list(dict.fromkeys(r.seed for r in self.runs))
        runs = f"{_n(len(self.runs), 'run')} ({_n(len(orders), 'ordering')} x {_n(len(seeds), 'seed')})"
        if self.algorithm == "optuna":
            head = f"optuna: {self.num_samples} Optuna trials, each over {runs}"
        else:
            configs = _n(len(self.config_ids()), "configuration")
            head = f"{self.algorithm}: {configs} x {runs} = {_n(len(self), 'trial')}"
        lines = [head, "orderings:", *(f"  {oid}  {order_key(o)}" for oid, o in orders),
                 f"seeds: {', '.join(map(str, seeds))}"]
        return "\n".join(lines + self._describe_space())

    def _describe_space(self) -> list[str]:
        if self.algorithm != "optuna":
            return ["configurations:", *(f"  {c}" for c in self.config_ids())]
        lines = ["search space:"]
        for name in self.approaches:
            dims = self.optuna_space.get(name, {})
            text = ", ".join(f"{k} {d.kind} {list(getattr(d, d.kind))}" for k, d in dims.items())
            lines.append(f"  {name}: {text or '(nothing to tune)'}")
        return lines


def make_plan(cfg: ExperimentConfig, file: str = "<config>") -> SweepPlan:
    """Orderings x seeds (the outer grid) crossed with the hyperparameter configurations of `cfg.search`."""
    search = cfg.search
    runs = _runs(cfg, file)
    dims, approaches = check_space(cfg, file)
    if search.algorithm == "optuna":
        space = {name: {d.key: d.categorical() for d in _applicable(dims, name)} for name in approaches}
        return SweepPlan(search.algorithm, runs, (), space, approaches, search.num_samples)
    if search.algorithm == "grid":
        _grid_only(cfg, dims, file)
        configs = list(_expand(dims, approaches, ("grid", "choice"), 1))
    else:
        configs = list(_expand(dims, approaches, ("grid",), search.num_samples))
    return SweepPlan(search.algorithm, runs, _trials(configs, dims, runs), {}, approaches, search.num_samples)


def safe_name(text: str, max_len: int = 150) -> str:
    """Letters, digits and `._=+-` only; an over-long name keeps a hash of itself so it stays distinct."""
    name = re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("_") or "_"
    if len(name) > max_len:
        name = name[: max_len - 9] + "_" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return name


# ------------------------------------------------------------------------------- expansion


def _runs(cfg: ExperimentConfig, file: str) -> tuple[RunSpec, ...]:
    first: dict[tuple[str, ...], str] = {}
    for oid, order in resolve_orderings(cfg, file):
        first.setdefault(tuple(order), oid)  # an order listed twice would only repeat identical training
    seeds = dict.fromkeys(cfg.search.seeds)
    if not seeds:
        raise ConfigError.one(file, "search.seeds", "list at least one seed")
    return tuple(RunSpec(oid, order, seed) for order, oid in first.items() for seed in seeds)


def _applicable(dims: list[Dim], approach: str) -> list[Dim]:
    return [d for d in dims if d.key != "approach.name" and d.approach in (None, approach)]


def _expand(dims: list[Dim], approaches: tuple[str, ...], outer_kinds: tuple[str, ...],
            num_samples: int) -> Iterator[Config]:
    """Per approach (so its keys never multiply another approach's configurations): the product of the
    `outer_kinds` dimensions, each point with `num_samples` draws of the others.

    `approach.name` always expands, even as a choice: the approach decides which keys exist at all.
    """
    rng = np.random.default_rng(SAMPLE_SEED)
    named = any(d.key == "approach.name" for d in dims)
    for name in approaches:
        own = _applicable(dims, name)
        outer = [d for d in own if d.dist.kind in outer_kinds]
        drawn = [d for d in own if d.dist.kind not in outer_kinds]
        for values in itertools.product(*(d.values for d in outer)):
            fixed = {d.key: v for d, v in zip(outer, values, strict=True)}
            # Nothing drawn applies (e.g. finetune when only ewc's lambda is sampled): one trial, not N copies.
            for _ in range(num_samples if drawn else 1):
                drawn_values = {d.key: sample(d.dist, rng) for d in drawn}
                yield name, {**({"approach.name": name} if named else {}), **fixed, **drawn_values}


def _grid_only(cfg: ExperimentConfig, dims: list[Dim], file: str) -> None:
    for d in dims:
        if d.dist.kind in CONTINUOUS:
            raise ConfigError.one(file, f"search.space.{d.key}",
                                  f"{d.dist.kind} is a continuous range, which grid search cannot enumerate; "
                                  "list values with grid or choice, or use algorithm: random or optuna")
    if cfg.search.num_samples > 1:
        raise ConfigError.one(file, "search.num_samples", "grid search runs each configuration once; repeat "
                              "runs with search.seeds, or sample with algorithm: random or optuna")


# ------------------------------------------------------------------------------- trial ids


def _trials(configs: list[Config], dims: list[Dim], runs: tuple[RunSpec, ...]) -> tuple[TrialSpec, ...]:
    unique = list({_json(c): (name, c) for name, c in reversed(configs)}.values())[::-1]
    ids = _config_ids(unique, dims)
    return tuple(TrialSpec(cid, c, (run,)) for cid, (_, c) in zip(ids, unique, strict=True) for run in runs)


def _config_ids(configs: list[Config], dims: list[Dim]) -> list[str]:
    """'<approach> key=value ...' over the keys whose value differs between configurations, by short key."""
    short = {d.key: d.short for d in dims}
    seen: dict[str, set[str]] = {}
    for _, c in configs:
        for k, v in c.items():
            seen.setdefault(k, set()).add(_json(v))
    varying = sorted((k for k, vs in seen.items() if len(vs) > 1 and k != "approach.name"), key=lambda k: short[k])
    ids: list[str] = []
    taken: set[str] = set()
    for name, c in configs:
        cid = base = " ".join([name, *(f"{short[k]}={_fmt(c[k])}" for k in varying if k in c)])
        n = 1
        while safe_name(cid) in taken:  # values equal to 6 digits, or equal once made filesystem safe
            n += 1
            cid = f"{base} #{n}"
        taken.add(safe_name(cid))
        ids.append(cid)
    return ids


def sampled_config_id(approach: str, overrides: Mapping[str, Any]) -> str:
    """A readable id for a configuration a searcher sampled: '<approach> lambda=1762 lr=0.001326'."""
    parts = [approach]
    for key, value in sorted(overrides.items(), key=lambda kv: kv[0].rsplit(".", 1)[-1]):
        if key != "approach.name":
            shown = f"{value:.4g}" if isinstance(value, float) else _fmt(value)
            parts.append(f"{key.rsplit('.', 1)[-1] if key.startswith('approach.') else key}={shown}")
    return " ".join(parts)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"

"""The search space: each `search.space` dimension checked against the config it changes, and sampled."""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from clsweep.approaches import APPROACHES
from clsweep.config import Distribution, ExperimentConfig
from clsweep.errors import ConfigError
from clsweep.loading import apply_override
from clsweep.registry import UnknownNameError


def apply_overrides(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` (the `cfg.to_dict()` form) with the dotted `overrides` applied."""
    data = copy.deepcopy(base)
    for key, value in overrides.items():
        apply_override(data, key, copy.deepcopy(value))
    return data


@dataclass(frozen=True)
class Dim:
    """One search dimension under its canonical key (approach parameters as users write them: `lambda`)."""

    key: str
    dist: Distribution
    approach: str | None = None  # set for `approach.<name>.<param>`: it applies to that approach only

    @property
    def values(self) -> list[Any]:
        return list(getattr(self.dist, self.dist.kind))

    @property
    def short(self) -> str:
        return self.key.rsplit(".", 1)[1] if self.approach else self.key

    def categorical(self) -> Distribution:
        # OptunaSearch rejects tune.grid_search: grid values become a categorical choice.
        return Distribution(choice=self.values) if self.dist.kind == "grid" else self.dist


def check_space(cfg: ExperimentConfig, file: str = "<config>") -> tuple[list[Dim], tuple[str, ...]]:
    """The space's dimensions, each checked against what it changes, and the approaches the sweep runs."""
    base = cfg.to_dict()
    dims: list[Dim] = []
    for key, dist in cfg.search.space.items():
        try:
            dim = _dim(key, dist)
            for value in _probes(dist):
                _probe(base, dim, value)
        except (ValueError, ConfigError) as e:  # pydantic's ValidationError is a ValueError
            raise ConfigError.one(file, f"search.space.{key}", _why(e)) from None
        if any(d.key == dim.key for d in dims):
            raise ConfigError.one(file, f"search.space.{key}", f"names {dim.key} a second time")
        dims.append(dim)
    named = next((d.values for d in dims if d.key == "approach.name"), [cfg.approach.name])
    approaches = tuple(dict.fromkeys(map(str, named)))
    for d in dims:
        if d.approach and d.approach not in approaches:
            raise ConfigError.one(file, f"search.space.{d.key}", f"applies to {d.approach}, which this sweep "
                                  f"does not run (approaches: {', '.join(approaches)}); add it to approach.name")
    return dims, approaches


def _dim(key: str, dist: Distribution) -> Dim:
    parts = key.split(".")
    if parts[0] != "approach" or key == "approach.name":
        return Dim(key, dist)
    if len(parts) != 3:
        raise ValueError("approach keys are approach.name or approach.<approach>.<parameter>, e.g. approach.ewc.lambda")
    name, param = parts[1:]
    if name not in APPROACHES:
        raise ValueError(str(UnknownNameError("approach", name, APPROACHES.names())))
    fields = APPROACHES.get(name).Params.model_fields
    # Either spelling is accepted; the alias is canonical, as `ExperimentConfig.to_dict()` writes it.
    spelled = {n: f.alias or n for n, f in fields.items()} | {f.alias: f.alias for f in fields.values() if f.alias}
    if not spelled:
        raise ValueError(f"{name} has no parameters")
    if param not in spelled:
        raise ValueError(str(UnknownNameError(f"{name} parameter", param, sorted(set(spelled.values())))))
    return Dim(f"approach.{name}.{spelled[param]}", dist, name)


def _probes(dist: Distribution) -> list[Any]:
    """Values a dimension can produce: every listed one, or a range's low end and an inner point.

    The inner point is no round number, so a float range on an integer field is caught here.
    """
    kind, v = dist.kind, getattr(dist, dist.kind)
    if kind in ("grid", "choice"):
        return list(v)
    if kind == "randint":
        return [v[0], v[1] - 1]
    if kind == "quniform":
        if math.ceil(v[0] / v[2]) > math.floor(v[1] / v[2]):
            raise ValueError(f"quniform {list(v)} holds no multiple of {v[2]}")
        return [math.ceil(v[0] / v[2]) * v[2]]
    if kind == "loguniform":
        return [v[0], v[0] * (v[1] / v[0]) ** 0.37]
    return [v[0], v[0] + 0.37 * (v[1] - v[0])]


def _probe(base: dict[str, Any], dim: Dim, value: Any) -> None:
    if dim.approach:
        APPROACHES.get(dim.approach).Params.model_validate({dim.short: value})
        return
    node: Any = base
    for i, part in enumerate(parts := dim.key.split(".")):
        if not isinstance(node, dict):
            raise ValueError(f"'{'.'.join(parts[:i])}' is a value, not a section")
        if part not in node:
            close = difflib.get_close_matches(part, list(node), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"'{'.'.join(parts[:i])}' has no key '{part}'{hint}; valid: {', '.join(sorted(node))}")
        node = node[part]
    ExperimentConfig.model_validate(apply_overrides(base, {dim.key: value}))


def _why(e: Exception) -> str:
    if isinstance(e, ConfigError):
        return "; ".join(i.message for i in e.issues)
    if isinstance(e, ValidationError):
        # A value_error's message already names the value; pydantic's own messages do not.
        return "; ".join(x["msg"].removeprefix("Value error, ") + ("" if x["type"] == "value_error"
                         else f" (got {x['input']!r})") for x in e.errors(include_url=False))
    return str(e)


def sample(dist: Distribution, rng: np.random.Generator) -> Any:
    """One draw with Ray Tune's semantics: randint excludes high, quniform rounds to multiples of q."""
    kind, v = dist.kind, getattr(dist, dist.kind)
    if kind in ("choice", "grid"):
        return v[int(rng.integers(len(v)))]
    if kind == "uniform":
        return float(rng.uniform(v[0], v[1]))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(v[0]), math.log(v[1]))))
    if kind == "randint":
        return int(rng.integers(v[0], v[1]))
    low, high, q = v
    steps = min(max(round(rng.uniform(low, high) / q), math.ceil(low / q)), math.floor(high / q))
    return float(round(steps * q, 12))  # round() drops float noise such as 0.30000000000000004

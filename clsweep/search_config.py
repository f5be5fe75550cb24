"""The `search:` and `resources:` sections of an experiment: what a sweep varies, and what each trial is given."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from clsweep.schema import Strict

# The objectives a sweep may select on besides dev/<task>: what every trial reports (clsweep.tune.reporter).
DEV_METRICS = ("dev_acc", "dev_avg_seen", "dev_forgetting")


class Distribution(Strict):
    """One search dimension: exactly one of the keys."""

    grid: list[Any] | None = None
    choice: list[Any] | None = None
    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    randint: tuple[int, int] | None = None
    quniform: tuple[float, float, float] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Distribution:
        set_keys = [k for k, v in self.__dict__.items() if v is not None]
        if len(set_keys) != 1:
            raise ValueError(f"give exactly one of {', '.join(type(self).model_fields)} (got {set_keys or 'none'})")
        for k in ("uniform", "loguniform", "randint", "quniform"):
            b = getattr(self, k)
            if b is not None and not b[0] < b[1]:
                raise ValueError(f"{k} needs low < high, got {list(b)}")
        if self.loguniform is not None and self.loguniform[0] <= 0:
            raise ValueError("loguniform needs low > 0")
        for k in ("grid", "choice"):
            if getattr(self, k) == []:
                raise ValueError(f"{k} needs at least one value")
        return self

    @property
    def kind(self) -> str:
        return next(k for k, v in self.__dict__.items() if v is not None)


class RandomOrderings(Strict):
    random: int = Field(ge=1)


Orderings = Literal["given", "all", "latin_square"] | RandomOrderings | list[list[str]] | list[str]


class SearchConfig(Strict):
    orderings: Orderings = "given"
    max_orderings: int = Field(120, ge=1, description="'all' above this many orders is refused unless force")
    force: bool = False
    seeds: list[int] = Field(default_factory=lambda: [0])
    space: dict[str, Distribution] = Field(default_factory=dict)
    algorithm: Literal["grid", "random", "optuna"] = "grid"
    num_samples: int = Field(1, ge=1)
    metric: str = Field("dev_acc", description="a reported key; dev_acc: mean dev score over seen tasks")
    mode: Literal["max", "min"] = "max"
    scheduler: Literal["fifo", "asha"] = "fifo"

    @field_validator("orderings")
    @classmethod
    def _some_orderings(cls, v: Orderings) -> Orderings:
        if isinstance(v, list) and not v:
            raise ValueError("list at least one ordering: task-name lists, or names of the tasklist's orders")
        return v

    @field_validator("seeds")
    @classmethod
    def _some_seeds(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("list at least one seed")
        return v

    @model_validator(mode="after")
    def _dev_metric(self) -> SearchConfig:
        # Selection uses dev, never test: a sweep that picks on test scores reports an optimistic number.
        known = DEV_METRICS
        if self.metric not in known and not self.metric.startswith("dev/"):
            hint = " (select on dev; test scores are for reporting)" if self.metric.startswith("test") else ""
            raise ValueError(f"search.metric '{self.metric}' is not a dev metric{hint}; "
                             f"valid: {', '.join(known)}, dev/<task>")
        if "forgetting" in self.metric and self.mode == "max":
            raise ValueError("search.metric dev_forgetting is minimised: set search.mode: min")
        return self

    @field_validator("space")
    @classmethod
    def _space_keys(cls, v: dict[str, Distribution]) -> dict[str, Distribution]:
        roots = ("model", "approach", "train", "eval")
        for key in v:
            if key.split(".")[0] not in roots:
                raise ValueError(f"space key '{key}' must start with one of {', '.join(roots)}")
        return v


class ResourcesConfig(Strict):
    cpu: float = Field(1.0, gt=0)
    gpu: float | Literal["auto"] = "auto"

    @field_validator("gpu")
    @classmethod
    def _nonneg(cls, v: float | str) -> float | str:
        if isinstance(v, float) and v < 0:
            raise ValueError("gpu must be >= 0 or 'auto'")
        return v

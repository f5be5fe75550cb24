"""Experiment configuration: the strict pydantic models an experiment YAML validates into."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from clsweep.backbones import TINY_LMS
from clsweep.config_checks import (
    approach_names,
    approach_scenarios,
    check_approach_params,
    check_approach_scenario,
    check_one_head,
    is_generative,
)
from clsweep.errors import ConfigError, Issue, Sources
from clsweep.registry import UnknownNameError
from clsweep.scenario import DESCRIPTIONS, SCENARIOS, SHARED_HEAD, Scenario
from clsweep.schema import Strict
from clsweep.tasks.spec import Tasklist, TaskSpec, check_order

# ConfigError, Issue and Sources live in clsweep.errors; they are re-exported for older imports.
__all__ = [
    "ApproachConfig",
    "ConfigError",
    "Distribution",
    "EvalConfig",
    "ExperimentConfig",
    "Issue",
    "ModelConfig",
    "ObserveConfig",
    "Orderings",
    "RandomOrderings",
    "ResourcesConfig",
    "RunConfig",
    "SearchConfig",
    "Sources",
    "TinyBackbone",
    "TinyPretrain",
    "TrainConfig",
]


class TinyBackbone(Strict):
    """Size of the built-in random-init BERT used by tests and the demo."""

    hidden_size: int = Field(64, ge=8)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(2, ge=1)
    intermediate_size: int = Field(128, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)


class TinyPretrain(Strict):
    """A short pre-training of a tiny generative LM (tiny-t5, tiny-gpt2) on unlabelled synthetic text: copying a
    sentence or continuing it. A function of these settings alone (initialised from `seed`, one thread), cached
    like the tokenization; every run starts from it."""

    steps: int = Field(400, ge=1)
    batch_size: int = Field(32, ge=1)
    # 1e-3: after 1000 steps the held-out loss of this objective is 3.14 (tiny-gpt2) and 4.48 (tiny-t5) against
    # 3.24 and 4.98 at 3e-3 (the default until 2026-12-02) and 4.16 and 4.89 at 3e-4.
    lr: float = Field(1e-3, gt=0)
    seed: int = Field(0, description="its own seed: like a released checkpoint, one pre-trained LM for all runs")


class ModelConfig(Strict):
    backbone: str = Field("tiny", description="'tiny' (BERT), 'tiny-t5' or 'tiny-gpt2' (for text2text tasks), "
                                               "a hub model id, or a local directory")
    revision: str | None = None
    trust_remote_code: bool = False
    pooling: Literal["cls", "mean"] = "cls"
    max_length: int = Field(64, ge=4)
    head_dropout: float = Field(0.1, ge=0, lt=1)
    tiny: TinyBackbone = TinyBackbone()
    pretrain: TinyPretrain | None = Field(None, description="tiny-t5 and tiny-gpt2 only: start from a short "
                                                           "pre-training on synthetic text instead of random weights")

    @model_validator(mode="after")
    def _pretrain_tiny_lm(self) -> ModelConfig:
        if self.pretrain is not None and self.backbone not in TINY_LMS:
            raise ValueError(f"pretrain is for the tiny generative LMs ({', '.join(TINY_LMS)}); backbone "
                             f"{self.backbone} comes pre-trained or not by itself")
        return self

    @field_validator("backbone")
    @classmethod
    def _local_folder(cls, v: str, info: ValidationInfo) -> str:
        # A path (./, ../, ~, /) is a local model folder relative to the experiment file; anything else a hub id.
        if not v.startswith(("./", "../", "~", "/")):
            return v
        base = (info.context or {}).get("config_dir")
        p = Path(v).expanduser()
        p = p if p.is_absolute() or base is None else Path(base) / p
        if base is not None and not p.is_dir():
            raise ValueError(f"model folder not found: {p}; give a local folder with config.json, a hub id, or tiny")
        return str(p)


class ApproachConfig(Strict):
    """`name` picks the approach; a block keyed by an approach's name holds that approach's Params."""

    name: str = "finetune"
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_blocks(cls, data: Any) -> Any:
        if isinstance(data, dict) and "params" not in data:
            blocks = {k: v for k, v in data.items() if k != "name"}
            return {"params": blocks, **({"name": data["name"]} if "name" in data else {})}
        return data

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        from clsweep.approaches import APPROACHES

        if v not in APPROACHES:
            raise ValueError(str(UnknownNameError("approach", v, APPROACHES.names())))
        return v

    @field_validator("params")
    @classmethod
    def _known_blocks(cls, v: dict[str, Any]) -> dict[str, Any]:
        from clsweep.approaches import APPROACHES

        for key, block in v.items():
            if key not in APPROACHES:
                valid = ["name", *APPROACHES.names()]
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValueError(f"unknown key '{key}'{hint}; valid keys: {', '.join(valid)} "
                                 "(a block named after an approach holds its parameters)")
            if not isinstance(block, BaseModel):
                v = {**v, key: APPROACHES.get(key).Params.model_validate(block or {})}
        return v

    def params_for(self, name: str | None = None) -> BaseModel:
        from clsweep.approaches import APPROACHES

        name = name or self.name
        block = self.params.get(name)
        return block if isinstance(block, BaseModel) else APPROACHES.get(name).Params()

    def model_dump_flat(self) -> dict[str, Any]:
        return {"name": self.name, **{k: v.model_dump(mode="json", by_alias=True) for k, v in self.params.items()}}


class TrainConfig(Strict):
    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = Field(5e-5, gt=0)
    head_lr: float | None = Field(None, gt=0, description="learning rate of the task heads; default: the task's lr. "
                                  "A new head starts from random weights and may need more than a pretrained encoder")
    weight_decay: float = Field(0.01, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1, description="sgd only")
    scheduler: Literal["constant", "linear", "cosine"] = "linear"
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    epochs: int = Field(1, ge=1)
    batch_size: int = Field(16, ge=1)
    group_by_length: bool = Field(False, description="batch training examples of similar length (less padding)")
    grad_clip: float | None = Field(1.0, gt=0)
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    num_threads: int | None = Field(None, ge=1, description="torch CPU threads; default: torch's choice")
    log_every: int = Field(20, ge=1, description="steps between loss log points")
    keep_epoch: Literal["last", "best_dev"] = Field(
        "last", description="best_dev: after every epoch of a task, score the tasks it trains on their dev split "
        "(mean primary metric) and keep the parameters of the best epoch (early stopping's choice, as Progressive "
        "Prompts' code makes it; never test); costs one dev evaluation per epoch")


class EvalConfig(Strict):
    split: Literal["test", "dev"] = Field("test", description="the split whose scores fill `matrix`")
    batch_size: int = Field(128, ge=1)
    cells: Literal["full", "needed"] = Field(
        "full", description="full: every task after every task (all of R); needed: only the cells a metric reads "
                            "(row b from the second task on, the lower triangle and the superdiagonal)")
    misclassified: int = Field(20, ge=0, description="misclassified records written per task and evaluation stage "
                               "(counts are always complete; 0 = counts only)")


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
        known = ("dev_acc", "dev_avg_seen", "dev_forgetting")
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


class RunConfig(Strict):
    name: str | None = Field(None, description="experiment name; default: the YAML file's stem")
    storage_path: str = Field("./runs", description="relative to the experiment file when written there; "
                              "the default is relative to the working directory")
    cache_dir: str | None = Field(None, description="tokenization cache; default $CLSWEEP_CACHE or ~/.cache/clsweep")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str | None) -> str | None:
        # The name becomes a folder below storage_path: nothing that could climb out of it.
        if v is not None and (not re.fullmatch(r"[A-Za-z0-9_=+-][A-Za-z0-9._=+-]*", v) or v in (".", "..")):
            raise ValueError(f"'{v}' is not a plain folder name; use letters, digits and '._=+-' "
                             "(no '/', no '..'), e.g. ewc_sweep")
        return v

    @field_validator("storage_path", "cache_dir")
    @classmethod
    def _relative_to_config(cls, v: str | None, info: ValidationInfo) -> str | None:
        # Like data paths: relative to the experiment file, so a study folder behaves the same from any cwd.
        base = (info.context or {}).get("config_dir")
        if v is None or base is None or "://" in v:
            return v
        p = Path(v).expanduser()
        return str(p if p.is_absolute() else Path(base) / p)
    max_concurrent_trials: int | None = Field(None, ge=1)
    max_failures: int = Field(2, ge=0)
    keep_checkpoints: int = Field(1, ge=1, description="task-boundary checkpoints kept per run")
    tensorboard: bool = Field(True, description="per-task TensorBoard curves in <run folder>/tb")
    reuse_workers: bool = Field(True, description="a Ray worker runs trial after trial (no process start and "
                                "imports per trial); false: a fresh worker for every trial")
    share_prefixes: bool = Field(True, description="train each task-training that several runs share (the same "
                                 "configuration, seed and first tasks; a first task that fine-tuning and EWC, L2 "
                                 "or LwF train alike) once; false: every run trains all its tasks")


class ObserveConfig(Strict):
    """What a run measures besides its scores; all of it is read-only and leaves training results unchanged."""

    resources: bool = Field(True, description="GPU memory/utilisation (NVML), RSS and CPU time per task and phase")
    gpu_interval_s: float = Field(0.5, gt=0, le=60, description="NVML sampling interval in seconds")
    misclassified: bool = Field(True, description="misclassified/<task>.jsonl after every evaluation stage")


class ExperimentConfig(Strict):
    tasklist: Tasklist
    order: list[str] | None = Field(None, description="training order by task name; default: tasklist order")
    model: ModelConfig = ModelConfig()
    approach: ApproachConfig = ApproachConfig()
    scenario: Scenario = Field("task_il", description="; ".join(DESCRIPTIONS.values()))
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    search: SearchConfig = SearchConfig()
    resources: ResourcesConfig = ResourcesConfig()
    run: RunConfig = RunConfig()
    observe: ObserveConfig = ObserveConfig()

    @field_validator("order")
    @classmethod
    def _order_tasks(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        tasklist = info.data.get("tasklist")  # validated first: it is declared before `order`
        if v is not None and tasklist is not None:
            check_order(v, list(tasklist.tasks))
        return v

    @field_validator("scenario")
    @classmethod
    def _scenario_fits(cls, v: Scenario, info: ValidationInfo) -> Scenario:
        approach, tasklist = info.data.get("approach"), info.data.get("tasklist")
        if approach is not None:
            check_approach_scenario(approach.name, v)
        if tasklist is not None and v not in ("task_il", "generative"):
            check_one_head(tasklist, v)
        if tasklist is not None and is_generative(tasklist) != (v == "generative"):
            raise ValueError("scenario generative is for text2text tasks, and text2text tasks run in it; valid here: "
                             + ("generative (or leave scenario unset)" if is_generative(tasklist) else
                                ", ".join(x for x in SCENARIOS if x != "generative")))
        return v

    @field_validator("model")
    @classmethod
    def _model_fits(cls, v: ModelConfig, info: ValidationInfo) -> ModelConfig:
        tasklist = info.data.get("tasklist")
        if tasklist is None:
            return v
        if is_generative(tasklist) and v.backbone == "tiny":
            raise ValueError("backbone tiny is an encoder without an LM head; text2text tasks need "
                             f"{' or '.join(TINY_LMS)}, or a seq2seq or causal LM (hub id or local folder)")
        if not is_generative(tasklist) and v.backbone in TINY_LMS:
            raise ValueError(f"backbone {v.backbone} is a generative LM for text2text tasks; this tasklist has "
                             "none: use tiny or an encoder for classification heads")
        return v

    @field_validator("approach")
    @classmethod
    def _approach_fits(cls, v: Any, info: ValidationInfo) -> Any:
        tasklist = info.data.get("tasklist")
        if tasklist is None:
            return v
        if is_generative(tasklist):
            check_approach_scenario(v.name, "generative", "text2text tasks")
        elif approach_scenarios(v.name) == ("generative",):
            raise ValueError(f"approach '{v.name}' is defined on generative LMs only: its tasks must be type "
                             "text2text (and the backbone a seq2seq or causal LM)")
        check_approach_params(v.name, v.params_for(), frozenset(s.type for s in tasklist.tasks.values()))
        return v

    @model_validator(mode="after")
    def _generative(self) -> ExperimentConfig:
        """A text2text tasklist runs in the generative scenario (checked where each key is validated)."""
        if is_generative(self.tasklist) and "scenario" not in self.model_fields_set:
            object.__setattr__(self, "scenario", "generative")
        return self

    @model_validator(mode="after")
    def _scenario_heads(self) -> ExperimentConfig:
        # domain_il and class_il put every task on one head; written into the tasklist so that config.json
        # and result.json say exactly what ran.
        if self.scenario not in ("task_il", "generative"):
            tasks = self.tasklist.tasks
            head = next((s.head for s in tasks.values() if s.head), SHARED_HEAD)
            space = "union" if self.scenario == "class_il" else "task"
            shared = {n: s.model_copy(update={"head": head, "label_space": space}) for n, s in tasks.items()}
            object.__setattr__(self, "tasklist", self.tasklist.model_copy(update={"tasks": shared}))
        names = self.search.space.get("approach.name")
        for name in (names.grid or names.choice or []) if names is not None else []:
            if str(name) in approach_names():
                check_approach_scenario(str(name), self.scenario, "search.space.approach.name")
        return self

    @model_validator(mode="after")
    def _order_known(self) -> ExperimentConfig:
        search = self.search.orderings
        if isinstance(search, list) and search and isinstance(search[0], list):
            for i, o in enumerate(search):
                check_order(o, list(self.tasklist.tasks), f"search.orderings[{i}]")
        elif isinstance(search, list):
            for name in map(str, search):
                if name not in self.tasklist.orders:
                    raise ValueError(str(UnknownNameError("tasklist order", name, sorted(self.tasklist.orders)))
                                     + " (search.orderings)")
        return self

    @property
    def task_order(self) -> list[str]:
        return list(self.order or self.tasklist.tasks)

    def task(self, name: str) -> TaskSpec:
        return self.tasklist.tasks[name]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-able dict that `ExperimentConfig.model_validate` turns back into this config."""
        data = self.model_dump(mode="json")
        data["approach"] = self.approach.model_dump_flat()
        return data


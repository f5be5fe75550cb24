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
from clsweep.model_config import ModelConfig, TinyBackbone, TinyPretrain
from clsweep.registry import UnknownNameError
from clsweep.scenario import DESCRIPTIONS, SCENARIOS, SHARED_HEAD, Scenario
from clsweep.schema import Strict
from clsweep.search_config import DEV_METRICS, Distribution, Orderings, RandomOrderings, ResourcesConfig, SearchConfig
from clsweep.tasks.spec import Tasklist, TaskSpec, check_order

# ConfigError, Issue and Sources live in clsweep.errors, the model section in clsweep.model_config and the
# search and resources sections in clsweep.search_config; all are re-exported here for older imports.
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

    @field_validator("search")
    @classmethod
    def _metric_task(cls, v: SearchConfig, info: ValidationInfo) -> SearchConfig:
        """A dev/<task> objective names a task every run trains: Tune stops a sweep whose reports lack it."""
        tasklist = info.data.get("tasklist")
        if tasklist is None or not v.metric.startswith("dev/"):
            return v
        task, order = v.metric.removeprefix("dev/"), info.data.get("order") or list(tasklist.tasks)
        if task not in order:
            valid = [*DEV_METRICS, *(f"dev/{t}" for t in order)]
            close = difflib.get_close_matches(v.metric, valid, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"search.metric '{v.metric}' names no task of the order{hint}; valid: {', '.join(valid)}")
        orderings = v.orderings if isinstance(v.orderings, list) else []
        for i, o in enumerate(orderings):
            tasks = o if isinstance(o, list) else tasklist.orders.get(str(o), [task])
            if task not in tasks:
                where = f"search.orderings[{i}]" + ("" if isinstance(o, list) else f" ('{o}')")
                raise ValueError(f"search.metric '{v.metric}' reads task {task}, which {where} does not train; "
                                 "every run must report it: select on dev_acc, or on a task every ordering holds")
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


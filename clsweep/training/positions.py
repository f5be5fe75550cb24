"""Whether a run's longest sequence fits its backbone's position table: checked before training, and for a
sweep before any trial starts (from the backbone's config, without building the model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from clsweep.approaches import APPROACHES
from clsweep.approaches.base import SoftPrefix
from clsweep.backbones import TINY_BACKBONES, TINY_LMS
from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError, Sources
from clsweep.tasks.task import Task
from clsweep.tasks.types import TASK_TYPES

_MIN_LENGTH = 4  # the least model.max_length and a task's max_length accept


def lengths(cfg: ExperimentConfig, tasks: Mapping[str, Task], order: Sequence[str]) -> dict[str, int]:
    """Positions each task needs: its max_length, plus the target for a decoder-only LM (one sequence)."""
    return {t: _input_length(cfg, t) + (tasks[t].max_new_tokens if tasks[t].type == "text2text" else 0)
            for t in order}


def built_model_config(cfg: ExperimentConfig, tasks: Mapping[str, Task]) -> Any:
    """The model config as built: a tiny backbone fits the longest task (a tasklist may ask for 256 tokens)."""
    if cfg.model.backbone not in TINY_BACKBONES:
        return cfg.model
    return cfg.model.model_copy(update={"max_length": max(lengths(cfg, tasks, cfg.task_order).values())})


def position_limit(backbone_config: Any) -> int | None:
    """The size of a backbone's position table; None for relative positions (T5), which set no limit."""
    limit = getattr(backbone_config, "max_position_embeddings", None)
    return limit if isinstance(limit, int) else None


def planned_table(cfg: ExperimentConfig, tasks: Mapping[str, Task]) -> tuple[int | None, bool]:
    """(position_limit, decoder-only generative) of the backbone `cfg` would build, read from its config alone."""
    from clsweep.models.tiny import tiny_positions

    generative = any(TASK_TYPES.get(tasks[t].type).head == "lm" for t in cfg.task_order)
    backbone = cfg.model.backbone
    if backbone == "tiny-t5":
        return None, False
    if backbone in TINY_BACKBONES:
        return tiny_positions(built_model_config(cfg, tasks).max_length), generative and backbone in TINY_LMS
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(backbone, revision=cfg.model.revision,
                                        trust_remote_code=cfg.model.trust_remote_code)
    return position_limit(config), generative and not config.is_encoder_decoder


def targets(causal: bool, tasks: Mapping[str, Task], order: Sequence[str]) -> dict[str, int]:
    """Target tokens after each task's input in one sequence: a decoder-only LM's (a seq2seq LM's decoder reads
    the target apart from the input; other tasks have none)."""
    return {t: tasks[t].max_new_tokens if causal and tasks[t].type == "text2text" else 0 for t in order}


def positions_problem(cfg: ExperimentConfig, limit: int | None, targets: Mapping[str, int]) -> tuple[str, str] | None:
    """(the key to blame, why and what fits) for the first task whose longest sequence exceeds `limit`, else None.

    A sequence longer than the position table crashes at the first batch that reaches it (behind progressive
    prompts, tasks into the run). Its positions are the approach's soft prefix at its longest, the input and the
    target (`targets`)."""
    if limit is None:
        return None  # relative positions (T5): no table to run past
    prefix = APPROACHES.get(cfg.approach.name).soft_prefix(cfg.approach.params_for(), len(cfg.task_order))
    # The longest first: its remedy fits every task (the prefix is the same for all, order-independent).
    for task in sorted(targets, key=lambda t: -(_input_length(cfg, t) + targets[t])):
        problem = _problem(cfg, task, targets[task], prefix, limit)
        if problem is not None:
            return problem
    return None


def check_positions(cfg: ExperimentConfig, limit: int | None, targets: Mapping[str, int],
                    sources: Sources | None) -> None:
    """Refuse, before training, a run whose longest sequence exceeds the position table (`positions_problem`)."""
    problem = positions_problem(cfg, limit, targets)
    if problem is not None:
        file, inner = sources.locate(problem[0]) if sources else ("<config>", problem[0])
        raise ConfigError.one(file, inner, problem[1])


def _input_length(cfg: ExperimentConfig, task: str) -> int:
    return cfg.task(task).max_length or cfg.model.max_length


def _length_key(cfg: ExperimentConfig, task: str) -> str:
    return f"tasklist.tasks.{task}.max_length" if cfg.task(task).max_length else "model.max_length"


def _problem(cfg: ExperimentConfig, task: str, target: int, prefix: SoftPrefix | None,
             limit: int) -> tuple[str, str] | None:
    length = _input_length(cfg, task)
    soft = prefix.positions if prefix else 0
    need = soft + length + target
    if need <= limit:
        return None
    if not soft and not target:
        return _length_key(cfg, task), f"{need} tokens exceed the backbone's {limit} positions; " \
                                       f"set max_length <= {limit}"
    parts = [f"{length} input"] + ([f"{target} target"] if target else [])
    if prefix:
        parts.insert(0, f"{prefix.count} task prompts x {prefix.length}" if prefix.count > 1 else f"{soft} prompt")
    key, remedy = _remedy(cfg, task, target, prefix, limit)
    return key, f"{' + '.join(parts)} = {need} tokens for task {task} exceed the backbone's {limit} positions; {remedy}"


def _remedy(cfg: ExperimentConfig, task: str, target: int, prefix: SoftPrefix | None,
            limit: int) -> tuple[str, str]:
    """The key to blame and what fits: the longest prompt the input leaves room for, else the longest input."""
    length_key = _length_key(cfg, task)
    length_fit = limit - target - (prefix.positions if prefix else 0)
    prefix_fit = (limit - target - _input_length(cfg, task)) // prefix.count if prefix else 0
    if prefix and prefix_fit >= 1:
        other = f" or {length_key} <= {length_fit}" if length_fit >= _MIN_LENGTH else ""
        return f"approach.{cfg.approach.name}.{prefix.key}", f"set {prefix.key} <= {prefix_fit}{other}"
    if length_fit >= _MIN_LENGTH:
        return length_key, f"set max_length <= {length_fit}"
    shorter = ([f"approach.{cfg.approach.name}.{prefix.key}"] if prefix else []) + \
        ([f"tasklist.tasks.{task}.max_target_length"] if target else [])
    return length_key, f"even {_MIN_LENGTH} input tokens do not fit; lower {' or '.join(shorter)} too"

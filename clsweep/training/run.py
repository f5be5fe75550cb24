"""One continual run end to end: data, model, approach, trainer, result.json. Ray-free; the sweep reuses it."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clsweep.approaches import APPROACHES
from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError, Sources
from clsweep.io import write_json_atomic
from clsweep.models import HeadSpec, build_model
from clsweep.models.backbone import load_tokenizer
from clsweep.observe.misclassified import MisclassifiedWriter
from clsweep.observe.resources import ResourceMonitor
from clsweep.result import build_result
from clsweep.tasks.cache import default_cache_dir
from clsweep.tasks.errors import first_line
from clsweep.tasks.task import Task, prepare_tasks
from clsweep.tasks.types import TASK_TYPES
from clsweep.training.callbacks import Callback, Progress
from clsweep.training.faults import FAULT_FILE, RunFault
from clsweep.training.positions import built_model_config, check_positions, position_limit, targets
from clsweep.training.state import RunState, latest_checkpoint, load_checkpoint
from clsweep.training.trainer import PHASE_KEYS, ContinualTrainer

CONFIG_FILE, RESULT_FILE, CHECKPOINTS = "config.json", "result.json", "checkpoints"
RESOURCES_FILE, MISCLASSIFIED = "resources.json", "misclassified"


def resolve_device(name: str, file: str = "<config>") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError.one(file, "train.device", "cuda requested but no CUDA device is available; "
                              "use device: cpu or auto")
    return torch.device(name)


def check_device(cfg: ExperimentConfig, file: str = "<config>") -> torch.device:
    """The training device, and a precision it supports."""
    device = resolve_device(cfg.train.device, file)
    if cfg.train.precision == "fp16" and device.type != "cuda":
        raise ConfigError.one(file, "train.precision", "fp16 needs a CUDA device; use bf16 or fp32 on CPU")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_resume(out: Path, cfg: ExperimentConfig) -> None:
    """Resuming with a different config would silently mix two experiments: refuse, naming the keys."""
    stored = json.loads((out / CONFIG_FILE).read_text())
    diffs = _diff(stored, cfg.to_dict())
    if diffs:
        raise ConfigError.one(out / CONFIG_FILE, diffs[0], "differs from the run being resumed "
                              f"({len(diffs)} key(s): {', '.join(diffs[:5])}); resume with the same config")


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _diff(a.get(k), b.get(k), f"{path}.{k}".lstrip("."))]
    return [] if a == b else [path]


def prepare(cfg: ExperimentConfig, sources: Sources | None = None, log: Callable[[str], None] = print,
            cache_only: bool = False) -> tuple[Any, dict[str, Task]]:
    """Tokenizer and tasks, before anything trains: data problems surface here as ConfigErrors."""
    try:
        tokenizer = load_tokenizer(cfg.model)
    except (OSError, ValueError) as e:  # transformers' words for a missing, private or offline model
        raise ConfigError.one(sources.experiment if sources else "<config>", "model.backbone",
                              f"cannot load '{cfg.model.backbone}': {first_line(e)} Valid: tiny, a local model "
                              "folder, or a hub model id (offline: one already in the Hugging Face cache)") from None
    tasks = prepare_tasks(cfg, tokenizer, sources, log=log, cache_only=cache_only)
    if not cache_only:
        _pretrain_once(cfg, tokenizer, tasks, log)
    return tokenizer, tasks


def _observers(cfg: ExperimentConfig, out: Path, tasks: dict[str, Task], primary: dict[str, str],
               device: torch.device, progress: bool) -> tuple[list[Callback], ResourceMonitor | None]:
    """The built-in observers: progress, resources (CPU/RSS, GPU via NVML), misclassified files, TensorBoard."""
    cbs: list[Callback] = [Progress(primary, split=cfg.eval.split)] if progress else []
    monitor = None
    if cfg.observe.resources:
        no_gpu = None if device.type == "cuda" else f"no GPU: the run uses the {device.type} device"
        monitor = ResourceMonitor(no_gpu, cfg.observe.gpu_interval_s, path=out / RESOURCES_FILE)
        cbs.append(monitor)
    if cfg.observe.misclassified:
        cbs.append(MisclassifiedWriter(out / MISCLASSIFIED))
    if cfg.run.tensorboard:
        from clsweep.observe.tensorboard import TensorBoardCallback

        stats = {t: tasks[t].stats for t in primary}
        cbs.append(TensorBoardCallback(out / "tb", primary, stats=stats, resources=monitor))
    return cbs, monitor


def _finish_timings(timings: dict[str, Any], tasks: dict[str, Task]) -> None:
    """Per-task data preparation, and the share of the phases spent evaluating (the row before training included).

    Phases, not `run_s`: after a resume they still cover every task, while `run_s` covers this process only.
    """
    for name, t in timings["tasks"].items():
        t["data_s"] = tasks[name].prepare_s
    per = timings["tasks"].values()
    initial = timings.get("initial_eval_s", 0.0)
    phases = initial + sum(t.get(k, 0.0) for t in per for k in PHASE_KEYS)
    timings["eval_share"] = (initial + sum(t.get("eval_s", 0.0) for t in per)) / max(phases, 1e-9)


def _cache_root(cfg: ExperimentConfig) -> Path:
    return default_cache_dir(cfg.run.cache_dir).absolute()


def _pretrain_once(cfg: ExperimentConfig, tokenizer: Any, tasks: dict[str, Task], log: Callable[[str], None]) -> None:
    """Pre-train a tiny LM here, before any run or trial starts, so that all of them read it from the cache."""
    if cfg.model.pretrain is None:
        return
    from clsweep.models.pretrain import load_or_pretrain, pretrained_path
    from clsweep.models.tiny import tiny_lm

    built = built_model_config(cfg, tasks)
    if not pretrained_path(built, tokenizer, _cache_root(cfg)).is_file():
        lm = tiny_lm(built.backbone, built.tiny, tokenizer, built.max_length)
        load_or_pretrain(lm, tokenizer, built, _cache_root(cfg), log)


def _own_classes(task: Task) -> tuple[int, ...] | None:
    return None if task.classes is None else tuple(task.classes)


@dataclass
class _Session:
    """What one process builds to train a run (or a node of a shared prefix) into `out`."""

    cfg: ExperimentConfig
    out: Path
    tasks: dict[str, Task]
    model: Any
    approach: Any
    trainer: ContinualTrainer
    monitor: ResourceMonitor | None
    callbacks: list[Callback]
    times: dict[str, float]


def _open(cfg: ExperimentConfig, out: Path, sources: Sources | None, callbacks: Sequence[Callback],
          log: Callable[[str], None], progress: bool, cache_only: bool) -> _Session:
    t_start = time.perf_counter()
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    device = check_device(cfg, sources.experiment if sources else "<config>")
    tokenizer, tasks = prepare(cfg, sources, log, cache_only)
    t_data = time.perf_counter()
    order = cfg.task_order
    seed_everything(cfg.train.seed)
    heads = {t: HeadSpec(t, tasks[t].head_name, TASK_TYPES.get(tasks[t].type).head, tasks[t].num_labels,
                         _own_classes(tasks[t])) for t in order}
    model, _ = build_model(built_model_config(cfg, tasks), heads, cfg.train.seed, tokenizer, _cache_root(cfg))
    causal = model.generative and not model.encoder_decoder
    check_positions(cfg, position_limit(getattr(model.backbone, "config", None)), targets(causal, tasks, order),
                    sources)
    model.to(device)
    approach = APPROACHES.get(cfg.approach.name)(cfg.approach.params_for(), model)
    approach.setup({t: tasks[t] for t in order}, tokenizer)
    primary = {t: tasks[t].metric_names[0] for t in order}
    cbs, monitor = _observers(cfg, out, tasks, primary, device, progress)
    # Any id works for padding (the attention mask hides it); some tokenizers (GPT-2) define none.
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    every = [*cbs, *callbacks]
    trainer = ContinualTrainer(cfg, tasks, model, approach, device, pad_id, every, checkpoint_dir=out / CHECKPOINTS)
    return _Session(cfg, out, tasks, model, approach, trainer, monitor, every,
                    {"start": t_start, "data": t_data})


def _train(s: _Session, state: RunState | None, annotations: dict[str, Any] | None, stop_after: int | None = None,
           defer_after_task: bool = False) -> RunState:
    s.times["train"] = time.perf_counter()
    cfg = s.cfg
    try:
        return s.trainer.run(cfg.task_order, state, stop_after, defer_after_task)
    except RunFault as fault:
        # Recorded next to the checkpoints of the tasks that did finish, saying whose run it is as result.json
        # would (analysis counts it against its configuration); the caller decides what ends.
        who = {"approach": cfg.approach.name, "order": cfg.task_order, "seed": cfg.train.seed, "sweep": annotations}
        write_json_atomic(s.out / FAULT_FILE, {**fault.to_json(), **who})
        raise
    finally:
        if s.monitor is not None:
            s.monitor.stop()


def _finish(s: _Session, state: RunState, annotations: dict[str, Any] | None) -> dict[str, Any]:
    times, now = s.times, time.perf_counter()
    state.timings.update({"data_s": times["data"] - times["start"], "setup_s": times["train"] - times["data"],
                          "run_s": now - times["train"], "total_s": now - times["start"],
                          "device": str(s.trainer.device)})
    _finish_timings(state.timings, s.tasks)
    result = build_result(s.cfg, state, s.tasks)
    result["approach_memory"] = s.approach.memory()  # bytes the approach keeps beyond the model, by kind
    result["resources"] = s.monitor.summary() if s.monitor else {"gpu": {"available": False,
                                                                         "reason": "observe.resources is off"}}
    result["gpu"] = result["resources"]["gpu"]
    if annotations:
        result["sweep"] = annotations
    write_json_atomic(s.out / RESULT_FILE, result)
    (s.out / FAULT_FILE).unlink(missing_ok=True)  # an earlier attempt's fault, now overcome
    for c in s.callbacks:
        c.on_run_end(result)
    return result


def run_experiment(cfg: ExperimentConfig, out: Path, *, resume: bool = False, sources: Sources | None = None,
                   callbacks: Sequence[Callback] = (), log: Callable[[str], None] = print,
                   progress: bool = True, cache_only: bool = False,
                   annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train `cfg.task_order` into `out`; `annotations` (e.g. the sweep's trial ids) go into result.json."""
    if resume:
        check_resume(out, cfg)
    s = _open(cfg, out, sources, callbacks, log, progress, cache_only)
    state: RunState | None = None
    ckpt = latest_checkpoint(out / CHECKPOINTS, log) if resume else None
    if ckpt is not None:
        state = load_checkpoint(ckpt, s.model, s.approach)
        log(f"resuming from {ckpt} ({state.completed}/{len(cfg.task_order)} tasks done)")
    elif not resume:
        write_json_atomic(out / CONFIG_FILE, cfg.to_dict())
    return _finish(s, _train(s, state, annotations), annotations)


def continue_prefix(cfg: ExperimentConfig, out: Path, parent: Path | None, stop_after: int, *,
                    defer_after_task: bool = False, callbacks: Sequence[Callback] = (),
                    log: Callable[[str], None] = print, cache_only: bool = False,
                    annotations: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Train `cfg`'s run from `parent` (a task-boundary checkpoint of any run that shares its first tasks,
    None: from the start) up to `stop_after` tasks, checkpointing into `out`. At the last task this is the
    run's end: result.json is written and returned, as `run_experiment` would; before it, None."""
    s = _open(cfg, out, None, callbacks, log, False, cache_only)
    state = load_checkpoint(parent, s.model, s.approach) if parent is not None else None
    write_json_atomic(out / CONFIG_FILE, cfg.to_dict())
    state = _train(s, state, annotations, stop_after, defer_after_task)
    if stop_after == len(cfg.task_order):
        return _finish(s, state, annotations)
    for c in s.callbacks:
        c.on_run_end({})  # this process ends at a boundary: observers close their files
    return None

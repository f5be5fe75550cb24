"""Run state at task boundaries and its checkpoints (weights via safetensors, approach state, RNG, R so far)."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from clsweep.errors import ConfigError
from clsweep.io import write_dir_atomic, write_json_atomic
from clsweep.training.manifest import verify_checkpoint, write_manifest

Scores = dict[str, dict[str, float]]  # task -> metric -> value


@dataclass
class Row:
    """Scores on every task, on dev and test, after training `task` (None for the row before training)."""

    task: str | None
    dev: Scores
    test: Scores


@dataclass
class RunState:
    order: list[str]
    initial: Row | None = None
    rows: list[Row] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=lambda: {"tasks": {}})
    misclassified: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # latest stage, eval split
    # Per task: complete misclassification counts of every stage, and the latest stage's correctness bitmask
    # (kept in checkpoints, so a resumed run still knows which examples are newly wrong).
    mistakes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    correct: dict[str, str] = field(default_factory=dict)
    # A task trained once for several approaches (a shared prefix) whose own after_task has not run yet.
    pending_after_task: str | None = None

    @property
    def completed(self) -> int:
        return len(self.rows)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        initial = Row(**data["initial"]) if data.get("initial") else None
        return cls(order=data["order"], initial=initial, rows=[Row(**r) for r in data["rows"]],
                   timings=data["timings"], misclassified=data.get("misclassified", {}),
                   mistakes=data.get("mistakes", {}), correct=data.get("correct", {}),
                   pending_after_task=data.get("pending_after_task"))


def _rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """RNG states as tensors (safetensors) and plain JSON: nothing that needs pickle to load."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    tensors = {"torch": torch.get_rng_state(), "numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64))}
    if torch.cuda.is_available():
        tensors.update({f"cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    meta = {"numpy": [kind, int(pos), int(has_gauss), float(cached)],
            "python": [version, list(internal), gauss_next]}
    return tensors, meta


def _set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"])
    kind, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, tensors["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss_next = meta["python"]
    random.setstate((version, tuple(internal), gauss_next))
    cuda = [tensors[f"cuda.{i}"] for i in range(sum(k.startswith("cuda.") for k in tensors))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _contiguous(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses shared or non-contiguous storage; clone to own memory.
    return {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}


def save_checkpoint(root: Path, state: RunState, model: torch.nn.Module, approach: Any, keep: int = 1) -> Path:
    """Write the boundary after `state.completed` tasks as `root/task-NN`, atomically; prune old ones."""

    def fill(d: Path) -> None:
        save_file(_contiguous(model.state_dict()), str(d / "model.safetensors"))
        save_file(_contiguous(approach.state_dict()), str(d / "approach.safetensors"))
        write_json_atomic(d / "approach.json", approach.meta())
        rng, rng_meta = _rng_state()
        save_file(rng, str(d / "rng.safetensors"))
        write_json_atomic(d / "rng.json", rng_meta, durable=False)
        write_json_atomic(d / "state.json", state.to_json(), durable=False)
        write_manifest(d)  # last: its presence marks completeness, its hashes let a resume verify the rest

    path = write_dir_atomic(root / f"task-{state.completed:02d}", fill)
    for old in sorted(root.glob("task-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def latest_checkpoint(root: Path, log: Callable[[str], None] = print) -> Path | None:
    """The newest checkpoint whose files match its manifest; a corrupt one is skipped for the one before.

    Checkpoints exist but none is intact: a ConfigError naming the problem, never a silent restart.
    """
    found = sorted((d for d in root.glob("task-*") if d.is_dir()), reverse=True)
    problems = []
    for d in found:
        problem = verify_checkpoint(d)
        if problem is None:
            return d
        problems.append(problem)
        log(f"warning: skipping checkpoint {d}: {problem}")
    if problems:
        raise ConfigError.one(found[0], "", f"no intact checkpoint to resume from ({problems[0]}); "
                              f"delete {root} to start the run again from the beginning")
    return None


def load_checkpoint(path: Path, model: torch.nn.Module, approach: Any) -> RunState:
    """Restore weights, approach state and RNG states; return the run state of that boundary."""
    model.load_state_dict(load_file(str(path / "model.safetensors")))
    approach.load_state(load_file(str(path / "approach.safetensors")),
                        json.loads((path / "approach.json").read_text()))
    _set_rng_state(load_file(str(path / "rng.safetensors")), json.loads((path / "rng.json").read_text()))
    return RunState.from_json(json.loads((path / "state.json").read_text()))

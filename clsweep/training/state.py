"""Run state at task boundaries and its checkpoints (weights via safetensors, approach state, RNG, R so far)."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from clsweep.io import write_dir_atomic, write_json_atomic

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
                   mistakes=data.get("mistakes", {}), correct=data.get("correct", {}))


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _contiguous(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses shared or non-contiguous storage; clone to own memory.
    return {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}


def save_checkpoint(root: Path, state: RunState, model: torch.nn.Module, approach: Any, keep: int = 1) -> Path:
    """Write the boundary after `state.completed` tasks as `root/task-NN`, atomically; prune old ones."""

    def fill(d: Path) -> None:
        save_file(_contiguous(model.state_dict()), str(d / "model.safetensors"))
        save_file(_contiguous(approach.state_dict()), str(d / "approach.safetensors"))
        write_json_atomic(d / "approach.json", approach.meta())
        torch.save(_rng_state(), d / "rng.pt")
        write_json_atomic(d / "state.json", state.to_json())  # last: its presence marks completeness

    path = write_dir_atomic(root / f"task-{state.completed:02d}", fill)
    for old in sorted(root.glob("task-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def latest_checkpoint(root: Path) -> Path | None:
    done = [d for d in sorted(root.glob("task-*")) if (d / "state.json").is_file()]
    return done[-1] if done else None


def load_checkpoint(path: Path, model: torch.nn.Module, approach: Any) -> RunState:
    """Restore weights, approach state and RNG states; return the run state of that boundary."""
    model.load_state_dict(load_file(str(path / "model.safetensors")))
    approach.load_state(load_file(str(path / "approach.safetensors")),
                        json.loads((path / "approach.json").read_text()))
    _set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    return RunState.from_json(json.loads((path / "state.json").read_text()))

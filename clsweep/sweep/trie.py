"""The ordering trie of a sweep: runs that agree on everything shaping training up to task k share that prefix.

A node is one task-training: the state after the first k tasks of some run (weights, approach state, RNG,
the rows of R so far). Two runs reach the same node when they have the same configuration, seed, task set
and first k tasks; at k = 1 configurations whose approaches train the first task exactly as fine-tuning
does (`Approach.first_task_is_finetune`) share it too, each applying its own `after_task` afterwards.
With `eval.cells: needed` a row also scores the next task (FWT reads R[k-1][k]), so the next task joins
the key. Pure planning: `--dry-run` prints the saving; nothing here trains.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from clsweep.approaches import APPROACHES
from clsweep.sweep.plan import RunSpec, TrialSpec


@dataclass(frozen=True)
class Node:
    """The state after training `prefix` (its last task is the one this node trains)."""

    key: str
    parent: str | None  # None: the first task, trained from the initial weights
    prefix: tuple[str, ...]
    runs: tuple[str, ...]  # "<trial id>/run-NN" of every run passing through this node


@dataclass(frozen=True)
class Trie:
    nodes: dict[str, Node]
    paths: dict[str, tuple[str, ...]]  # run name -> the keys of its nodes, depth 1 to T
    unshared: int  # task-trainings without sharing: every run trains all its tasks
    first_task_shared: tuple[str, ...]  # approaches whose first task is shared with fine-tuning's

    def groups(self) -> dict[str, list[str]]:
        """Run names by their first node: the runs one worker trains, sharing everything below it."""
        out: dict[str, list[str]] = {}
        for name, path in self.paths.items():
            out.setdefault(path[0], []).append(name)
        return out

    @property
    def shared(self) -> int:
        return len(self.nodes)

    def describe(self, sharing: bool = True) -> str:
        ratio = self.unshared / max(self.shared, 1)
        how = ("shared prefixes are trained once; run.share_prefixes: false trains every run alone" if sharing
               else "not shared here: run.share_prefixes is false or the scheduler is not fifo")
        text = f"ordering trie: {self.shared} task-trainings instead of {self.unshared} ({ratio:.2f}x fewer; {how})"
        if self.first_task_shared:
            text += f"; the first task is shared by {', '.join(self.first_task_shared)}"
        return text


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def shaping(trial: TrialSpec, base_approach: str, depth: int) -> dict[str, Any]:
    """What shapes a run's training up to `depth` tasks, beyond seed and tasks: the trial's overrides, less
    the approach's own settings at depth 1 when the approach trains its first task as fine-tuning does."""
    approach = str(trial.overrides.get("approach.name", base_approach))
    if depth == 1 and APPROACHES.get(approach).first_task_is_finetune:
        return {k: v for k, v in trial.overrides.items() if not k.startswith("approach.")}
    return {**trial.overrides, "approach.name": approach}


def _keys(trial: TrialSpec, run: RunSpec, base_approach: str, cells: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    tasks = sorted(run.order)
    for depth in range(1, len(run.order) + 1):
        prefix = run.order[:depth]
        # A `needed` row scores the next task too: runs part before that row, not after it.
        scored = run.order[: depth + 1] if cells == "needed" else prefix
        key = _digest([shaping(trial, base_approach, depth), run.seed, tasks, depth, list(scored)])
        yield key, prefix


def run_name(trial: TrialSpec, index: int) -> str:
    """A run's folder below the experiment, as the unshared sweep names it."""
    return f"{trial.trial_id}/run-{index:02d}"


def build_trie(trials: Sequence[TrialSpec], base_approach: str, cells: str = "full") -> Trie:
    """The trie over every run of the given trials of a grid or random plan (Optuna's are not known ahead)."""
    nodes: dict[str, Node] = {}
    paths: dict[str, tuple[str, ...]] = {}
    for trial in trials:
        for index, run in enumerate(trial.runs):
            parent = None
            name = run_name(trial, index)
            path = []
            for key, prefix in _keys(trial, run, base_approach, cells):
                old = nodes.get(key)
                nodes[key] = Node(key, parent, prefix, (*old.runs, name) if old else (name,))
                parent = key
                path.append(key)
            paths[name] = tuple(path)
    approaches = {str(t.overrides.get("approach.name", base_approach)) for t in trials}
    first = tuple(sorted(a for a in approaches if APPROACHES.get(a).first_task_is_finetune))
    return Trie(nodes, paths, sum(map(len, paths.values())), first if len(first) > 1 else ())

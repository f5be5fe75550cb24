"""Collect finished runs: find result.json files and flatten them into pandas tables (runs, per-task scores)."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from clsweep.metrics.matrix import forgetting_per_task

RESULT_NAME = "result.json"
CHECKPOINTS = "checkpoints"
METRICS = ("acc", "bwt", "fwt", "forgetting", "learning_accuracy", "avg_incremental_acc")
SPLITS = {"test": "", "dev": "_dev"}  # split -> column suffix
RUN_COLUMNS = ["path", "config_id", "approach", "order_id", "order", "seed", "T",
               *[f"{m}{suffix}" for suffix in SPLITS.values() for m in METRICS]]
TASK_COLUMNS = ["path", "config_id", "approach", "order_id", "order", "seed", "task", "position",
                "final", "learned", "best", "forgetting"]
_REQUIRED = ("tasks", "seed", "approach", "matrix", "matrix_dev", "metrics", "metrics_dev")

Source = str | Path | Iterable[str | Path]


def find_results(root: str | Path) -> list[Path]:
    """Every result.json below root, sorted; checkpoint folders hold snapshots, not finished runs."""
    root = Path(root)
    found = (p for p in root.rglob(RESULT_NAME) if p.is_file())
    return sorted(p for p in found if CHECKPOINTS not in p.relative_to(root).parts[:-1])


def _paths(source: Source) -> list[Path]:
    """A folder is searched, a file taken as is, an iterable of paths taken in its order."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        return [path] if path.is_file() else find_results(path)
    return [Path(p) for p in source]


def _read(path: Path) -> dict[str, Any] | None:
    """The parsed result, or None with a warning: one bad file must not hide a whole sweep."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        warnings.warn(f"skipping unreadable result {path}: {err}", stacklevel=3)
        return None
    missing = [k for k in _REQUIRED if k not in data] if isinstance(data, dict) else list(_REQUIRED)
    if missing:
        warnings.warn(f"skipping partial result {path}: missing {', '.join(missing)}", stacklevel=3)
        return None
    return data


def load_results(source: Source) -> list[tuple[Path, dict[str, Any]]]:
    """(path, parsed result.json) for every readable, complete result in source."""
    out = []
    for path in _paths(source):
        data = _read(path)
        if data is not None:
            out.append((path, data))
    return out


def identity(data: dict[str, Any]) -> dict[str, Any]:
    """Who a run is: sweep keys when a sweep wrote it, else the approach as config and the given order."""
    sweep = data.get("sweep") or {}
    tasks = [str(t) for t in data["tasks"]]
    return {
        "config_id": str(sweep.get("config_id", data["approach"])),
        "approach": data["approach"],
        # Plain `clsweep train` runs carry no sweep id: the order itself tells their orderings apart.
        "order_id": str(sweep.get("order_id", ">".join(tasks))),
        "order": ">".join(tasks),
        "seed": data["seed"],
        "trial_id": sweep.get("trial_id"),
        "overrides": dict(sweep.get("overrides") or {}),
    }


def _number(value: Any) -> float:
    # None marks a metric undefined for the run (bwt with one task); NaN keeps pandas means honest.
    return math.nan if value is None else float(value)


def _run_row(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    ident = identity(data)
    overrides = ident.pop("overrides")
    row: dict[str, Any] = {"path": str(path), **ident, "T": len(data["tasks"])}
    for suffix in SPLITS.values():
        stored = data["metrics" + suffix] or {}
        for m in METRICS:
            row[m + suffix] = _number(stored.get(m))
    for key, value in overrides.items():
        row.setdefault(key, value)  # never let an override shadow a run column
    return row


def load_runs(source: Source) -> pd.DataFrame:
    """One row per run: identity, test metrics (no suffix), dev metrics (_dev), one column per override key."""
    rows = [_run_row(path, data) for path, data in load_results(source)]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=[*RUN_COLUMNS, "trial_id"])
    first = [c for c in RUN_COLUMNS if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]]


def _task_rows(path: Path, data: dict[str, Any], split: str) -> list[dict[str, Any]]:
    """One row per task of a run, named by task: positions differ between orderings."""
    matrix = data["matrix" + SPLITS[split]]
    tasks = [str(t) for t in data["tasks"]]
    forgot = forgetting_per_task(matrix)  # validates the matrix shape too
    if len(matrix) != len(tasks):
        raise ValueError(f"matrix has {len(matrix)} rows for {len(tasks)} tasks")
    ident = identity(data)
    ident.pop("overrides")
    rows = []
    for j, task in enumerate(tasks):
        after = [float(matrix[i][j]) for i in range(j, len(tasks))]  # rows from learning j to the end
        rows.append({"path": str(path), **ident, "task": task, "position": j + 1, "final": after[-1],
                     "learned": after[0], "best": max(after),
                     "forgetting": forgot[j] if j < len(forgot) else math.nan})
    return rows


def load_task_scores(source: Source, split: str = "test") -> pd.DataFrame:
    """Long table, one row per (run, task): final, just-learned (diagonal) and best score, Chaudhry f_j."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    rows: list[dict[str, Any]] = []
    for path, data in load_results(source):
        try:
            rows.extend(_task_rows(path, data, split))
        except (ValueError, TypeError, IndexError) as err:
            warnings.warn(f"skipping malformed score matrix in {path}: {err}", stacklevel=2)
    if not rows:
        return pd.DataFrame(columns=[*TASK_COLUMNS, "trial_id"])
    df = pd.DataFrame(rows)
    return df[TASK_COLUMNS + [c for c in df.columns if c not in TASK_COLUMNS]]

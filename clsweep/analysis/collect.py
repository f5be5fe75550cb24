"""Collect finished runs: find result.json files (folders, files, globs) and flatten them into tidy pandas tables."""

from __future__ import annotations

import glob
import json
import math
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from clsweep.metrics.matrix import forgetting_per_task

RESULT_NAME = "result.json"
CHECKPOINTS = "checkpoints"
METRICS = ("acc", "bwt", "fwt", "forgetting", "learning_accuracy", "avg_incremental_acc")
SPLITS = {"test": "", "dev": "_dev"}  # split -> column suffix
IDENTITY = ["path", "source", "config_id", "approach", "order_id", "order", "seed"]
RUN_COLUMNS = [*IDENTITY, "T", *[f"{m}{suffix}" for suffix in SPLITS.values() for m in METRICS]]
TASK_COLUMNS = [*IDENTITY, "task", "position", "final", "learned", "best", "forgetting"]
CELL_COLUMNS = [*IDENTITY, "step", "after", "task", "position", "seen", "score"]
_REQUIRED = ("tasks", "seed", "approach", "matrix", "matrix_dev", "metrics", "metrics_dev")

Source = str | Path | Iterable[str | Path]
Loaded = list[tuple[Path, dict[str, Any]]]  # (result.json path, parsed content)


def find_results(root: str | Path) -> list[Path]:
    """Every result.json below root, sorted; checkpoint folders hold snapshots, not finished runs."""
    root = Path(root)
    found = (p for p in root.rglob(RESULT_NAME) if p.is_file())
    return sorted(p for p in found if CHECKPOINTS not in p.relative_to(root).parts[:-1])


def _expand(item: str | Path) -> list[tuple[str, Path]]:
    """(source label, result path) for a folder, a result file or a glob of either."""
    text = str(item)
    roots = [Path(p) for p in sorted(glob.glob(text))] if glob.has_magic(text) else [Path(text)]
    out = []
    for root in roots:
        paths = [root] if root.is_file() else find_results(root) if root.is_dir() else []
        out += [(str(root), p) for p in paths]
    return out


def _paths(source: Source) -> list[tuple[str, Path]]:
    """Every result under every item of source, in the order given, each file once."""
    items = [source] if isinstance(source, (str, Path)) else list(source)
    seen: set[Path] = set()
    out = []
    for item in items:
        for label, path in _expand(item):
            key = path.resolve()
            if key not in seen:  # overlapping globs must not count a run twice
                seen.add(key)
                out.append((label, path))
    return out


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


def load_results(source: Source) -> Loaded:
    """(path, parsed result.json) for every readable, complete result in source (folders, files, globs)."""
    out = []
    for label, path in _paths(source):
        data = _read(path)
        if data is not None:
            out.append((path, {**data, "_source": label}))
    return out


def identity(data: dict[str, Any]) -> dict[str, Any]:
    """Who a run is: sweep keys when a sweep wrote it, else the approach as config and the given order."""
    sweep = data.get("sweep") or {}
    tasks = [str(t) for t in data["tasks"]]
    return {
        "source": str(data.get("_source", "")),
        "config_id": str(sweep.get("config_id", data["approach"])),
        "approach": data["approach"],
        # Plain `clsweep train` runs carry no sweep id: the order itself tells their orderings apart.
        "order_id": str(sweep.get("order_id", ">".join(tasks))),
        "order": ">".join(tasks),
        "seed": data["seed"],
        "trial_id": sweep.get("trial_id"),
    }


def _number(value: Any) -> float:
    # None marks a metric undefined for the run (bwt with one task); NaN keeps pandas means honest.
    return math.nan if value is None else float(value)


def _run_row(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"path": str(path), **identity(data), "T": len(data["tasks"])}
    for suffix in SPLITS.values():
        stored = data["metrics" + suffix] or {}
        for m in METRICS:
            row[m + suffix] = _number(stored.get(m))
    overrides = (data.get("sweep") or {}).get("overrides") or {}
    for key, value in overrides.items():
        row.setdefault(key, value)  # never let an override shadow a run column
    return row


def _frame(rows: list[dict[str, Any]], first: Sequence[str]) -> pd.DataFrame:
    """rows as a table with `first` leading (and present even when there are no rows)."""
    if not rows:
        return pd.DataFrame(columns=[*first, "trial_id"])
    df = pd.DataFrame(rows)
    return df[list(first) + [c for c in df.columns if c not in first]]


def runs_table(results: Loaded) -> pd.DataFrame:
    """One row per run: identity, test metrics (no suffix), dev metrics (_dev), one column per swept override."""
    return _frame([_run_row(path, data) for path, data in results], RUN_COLUMNS)


def hyperparameters(runs: pd.DataFrame) -> list[str]:
    """The swept override columns of a runs table (e.g. approach.ewc.lambda), in table order."""
    fixed = {*RUN_COLUMNS, "trial_id"}
    return [c for c in runs.columns if c not in fixed]


def _matrix(path: Path, data: dict[str, Any], split: str) -> tuple[list[str], list[list[float]]]:
    """(tasks in training order, the split's T x T score matrix), validated."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    tasks = [str(t) for t in data["tasks"]]
    # None: a cell `eval.cells: needed` did not evaluate (NaN here; no metric reads it, plots leave it blank).
    matrix = [[math.nan if v is None else float(v) for v in row] for row in data["matrix" + SPLITS[split]]]
    if len(matrix) != len(tasks) or any(len(r) != len(tasks) for r in matrix):
        raise ValueError(f"matrix is not {len(tasks)} x {len(tasks)} for {len(tasks)} tasks")
    return tasks, matrix


def _task_rows(path: Path, data: dict[str, Any], split: str) -> list[dict[str, Any]]:
    """One row per task of a run, named by task: positions differ between orderings."""
    tasks, matrix = _matrix(path, data, split)
    forgot = forgetting_per_task([[None if math.isnan(v) else v for v in row] for row in matrix])
    ident = {"path": str(path), **identity(data)}
    rows = []
    for j, task in enumerate(tasks):
        after = [matrix[i][j] for i in range(j, len(tasks))]  # rows from learning j to the end
        rows.append({**ident, "task": task, "position": j + 1, "final": after[-1], "learned": after[0],
                     "best": max(after), "forgetting": forgot[j] if j < len(forgot) else math.nan})
    return rows


def _cell_rows(path: Path, data: dict[str, Any], split: str) -> list[dict[str, Any]]:
    """One row per cell R[k][j]: after step k (named by the task just learned), the score on task j."""
    tasks, matrix = _matrix(path, data, split)
    ident = {"path": str(path), **identity(data)}
    return [{**ident, "step": k + 1, "after": tasks[k], "task": task, "position": j + 1, "seen": j <= k,
             "score": matrix[k][j]} for k in range(len(tasks)) for j, task in enumerate(tasks)]


def _long(results: Loaded, split: str, rows_of: Any, first: Sequence[str]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for path, data in results:
        try:
            rows.extend(rows_of(path, data, split))
        except (TypeError, IndexError, ValueError) as err:
            if "split must be" in str(err):
                raise
            warnings.warn(f"skipping malformed score matrix in {path}: {err}", stacklevel=3)
    return _frame(rows, first)


def task_table(results: Loaded, split: str = "test") -> pd.DataFrame:
    """One row per (run, task): position in the order, just-learned (diagonal), best and final score, f_j."""
    return _long(results, split, _task_rows, TASK_COLUMNS)


def cell_table(results: Loaded, split: str = "test") -> pd.DataFrame:
    """One row per (run, step, task): every cell of every score matrix, tasks by name, `seen` when j <= k."""
    return _long(results, split, _cell_rows, CELL_COLUMNS)


def load_runs(source: Source) -> pd.DataFrame:
    """runs_table of every result in source."""
    return runs_table(load_results(source))


def load_task_scores(source: Source, split: str = "test") -> pd.DataFrame:
    """task_table of every result in source."""
    return task_table(load_results(source), split)

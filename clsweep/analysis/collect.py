"""Collect finished runs: find result.json files (folders, files, globs) and flatten them into tidy pandas tables."""

from __future__ import annotations

import glob
import json
import math
import warnings
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from clsweep.metrics.matrix import forgetting_per_task, intransigence_vs_joint

RESULT_NAME = "result.json"
CHECKPOINTS = "checkpoints"
METRICS = ("acc", "bwt", "fwt", "forgetting", "learning_accuracy", "avg_incremental_acc")
SPLITS = {"test": "", "dev": "_dev"}  # split -> column suffix
# Derived across runs (against a matching joint run), not stored in result.json.
DERIVED = ("intransigence",)
IDENTITY = ["path", "source", "config_id", "approach", "order_id", "order", "seed"]
RUN_COLUMNS = [*IDENTITY, "T", *[f"{m}{suffix}" for suffix in SPLITS.values() for m in (*METRICS, *DERIVED)]]
TASK_COLUMNS = [*IDENTITY, "task", "position", "final", "learned", "best", "forgetting", "intransigence"]
CELL_COLUMNS = [*IDENTITY, "step", "after", "task", "position", "seen", "score"]
_REQUIRED = ("tasks", "seed", "approach", "matrix", "matrix_dev", "metrics", "metrics_dev")
JOINT = "joint"
# train settings that do not change what a run learns: a joint reference need not share them
_RUNTIME_TRAIN_KEYS = frozenset({"seed", "device", "num_threads", "log_every"})

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
    return _on_test(path, data)


def _on_test(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    """The result with `matrix`, `initial` and `metrics` on the test split, whatever `eval.split` showed there:
    analysis selects on dev and must report test, never dev under test's name."""
    if "matrix_test" in data:
        return {**data, "eval_split": "test", "matrix": data["matrix_test"], "initial": data.get("initial_test"),
                "metrics": data["metrics_test"]}
    if data.get("eval_split", "test") == "test":
        return data  # written before matrix_test existed: `matrix` is the test split's
    warnings.warn(f"skipping {path}: it holds dev scores only in its matrix (eval.split: dev, written before "
                  "results kept the test matrix as well); rerun it to analyse it", stacklevel=4)
    return None


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


def _run_row(path: Path, data: dict[str, Any], intr: dict[str, list[float] | None]) -> dict[str, Any]:
    row: dict[str, Any] = {"path": str(path), **identity(data), "T": len(data["tasks"])}
    for split, suffix in SPLITS.items():
        stored = data["metrics" + suffix] or {}
        for m in METRICS:
            row[m + suffix] = _number(stored.get(m))
        per_task = intr[split]
        row["intransigence" + suffix] = math.fsum(per_task) / len(per_task) if per_task else math.nan
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
    """One row per run: identity, test metrics (no suffix), dev metrics (_dev), one column per swept override.

    intransigence (and _dev) is the mean I_k against the joint run of the same order, seed and settings, NaN
    where there is none (and for joint runs, the reference themselves).
    """
    intr = {split: intransigence_by_run(results, split) for split in SPLITS}
    return _frame([_run_row(path, data, {s: intr[s].get(str(path)) for s in SPLITS}) for path, data in results],
                  RUN_COLUMNS)


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


def _nullable(matrix: list[list[float]]) -> list[list[float | None]]:
    """NaN cells (not evaluated) back to None, the form the metric functions take for a skipped cell."""
    return [[None if math.isnan(v) else v for v in row] for row in matrix]


def _task_rows(path: Path, data: dict[str, Any], split: str,
               intr: dict[str, list[float]] | None = None) -> list[dict[str, Any]]:
    """One row per task of a run, named by task: positions differ between orderings."""
    tasks, matrix = _matrix(path, data, split)
    forgot = forgetting_per_task(_nullable(matrix))
    own = (intr or {}).get(str(path))
    ident = {"path": str(path), **identity(data)}
    rows = []
    for j, task in enumerate(tasks):
        after = [matrix[i][j] for i in range(j, len(tasks))]  # rows from learning j to the end
        rows.append({**ident, "task": task, "position": j + 1, "final": after[-1], "learned": after[0],
                     "best": max(after), "forgetting": forgot[j] if j < len(forgot) else math.nan,
                     "intransigence": own[j] if own else math.nan})
    return rows


def _cell_rows(path: Path, data: dict[str, Any], split: str) -> list[dict[str, Any]]:
    """One row per cell R[k][j]: after step k (named by the task just learned), the score on task j."""
    tasks, matrix = _matrix(path, data, split)
    ident = {"path": str(path), **identity(data)}
    return [{**ident, "step": k + 1, "after": tasks[k], "task": task, "position": j + 1, "seen": j <= k,
             "score": matrix[k][j]} for k in range(len(tasks)) for j, task in enumerate(tasks)]


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    """What a joint reference must share with a run besides order and seed, as far as the result records it:
    the data (tasklist), the model, the training settings and the split R was scored on."""
    out: dict[str, Any] = {}
    if data.get("eval_split") is not None:
        out["eval_split"] = data["eval_split"]
    cfg = data.get("config")
    if isinstance(cfg, dict):
        out["tasklist"], out["model"] = cfg.get("tasklist"), cfg.get("model")
        out["train"] = {k: v for k, v in (cfg.get("train") or {}).items() if k not in _RUNTIME_TRAIN_KEYS}
    return out


def _same_settings(a: dict[str, Any], b: dict[str, Any]) -> bool:
    # a setting one of the two results does not record cannot be compared; every one both record must agree
    return all(a[k] == b[k] for k in a.keys() & b.keys())


def joint_references(results: Loaded) -> dict[str, list[Path]]:
    """For each non-joint run (by path): the joint runs of the same order, seed and recorded settings."""
    joints = [(path, data, _settings(data)) for path, data in results if data["approach"] == JOINT]
    out: dict[str, list[Path]] = {}
    for path, data in results:
        if data["approach"] == JOINT:
            continue
        mine = _settings(data)
        out[str(path)] = [p for p, d, s in joints if [str(t) for t in d["tasks"]] == [str(t) for t in data["tasks"]]
                          and d["seed"] == data["seed"] and _same_settings(mine, s)]
    return out


def intransigence_by_run(results: Loaded, split: str = "test") -> dict[str, list[float] | None]:
    """Per non-joint run (by path): I_k (training order) on `split` against its joint reference, None without one.

    Several matching joint runs (the same cell run twice) are averaged; a run is never scored against a joint
    run of another order, seed or setting.
    """
    by_path = {str(p): d for p, d in results}
    out: dict[str, list[float] | None] = {}
    for path, refs in joint_references(results).items():
        out[path] = None
        if not refs:
            continue
        try:
            own = _nullable(_matrix(Path(path), by_path[path], split)[1])
            each = [intransigence_vs_joint(own, _nullable(_matrix(ref, by_path[str(ref)], split)[1])) for ref in refs]
        except (TypeError, IndexError, ValueError) as err:
            warnings.warn(f"no intransigence for {path}: {err}", stacklevel=2)
            continue
        out[path] = [math.fsum(v) / len(v) for v in zip(*each, strict=True)]
    return out


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
    """One row per (run, task): position in the order, just-learned (diagonal), best and final score, f_j, and
    I_k against the matching joint run (NaN without one)."""
    intr = {p: v for p, v in intransigence_by_run(results, split).items() if v is not None} if split in SPLITS else {}
    return _long(results, split, partial(_task_rows, intr=intr), TASK_COLUMNS)


def cell_table(results: Loaded, split: str = "test") -> pd.DataFrame:
    """One row per (run, step, task): every cell of every score matrix, tasks by name, `seen` when j <= k."""
    return _long(results, split, _cell_rows, CELL_COLUMNS)


def load_runs(source: Source) -> pd.DataFrame:
    """runs_table of every result in source."""
    return runs_table(load_results(source))


def load_task_scores(source: Source, split: str = "test") -> pd.DataFrame:
    """task_table of every result in source."""
    return task_table(load_results(source), split)

"""Faulted runs (a diverged loss, CUDA out of memory): read from their fault.json, listed and counted per config."""

from __future__ import annotations

import glob
import html
import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from clsweep.analysis.collect import CHECKPOINTS, RESULT_NAME, Source, identity

# clsweep.training.faults.FAULT_FILE, not imported: that module needs torch, analysis does not.
FAULT_NAME = "fault.json"
FAULTS_FILE = "faults.csv"
FAULT_COLUMNS = ["path", "source", "config_id", "approach", "order_id", "order", "seed", "trial_id", "fault", "task",
                 "phase", "reason"]


def find_faults(root: str | Path) -> list[Path]:
    """Every fault.json below root whose run has no result (a later attempt that finished removes it anyway)."""
    root = Path(root)
    found = (p for p in root.rglob(FAULT_NAME) if p.is_file() and not (p.parent / RESULT_NAME).is_file())
    return sorted(p for p in found if CHECKPOINTS not in p.relative_to(root).parts[:-1])


def _paths(source: Source) -> list[tuple[str, Path]]:
    """(source label, fault file) below every folder of source (result files given one by one hold none)."""
    items = [source] if isinstance(source, str | Path) else list(source)
    out: dict[Path, tuple[str, Path]] = {}
    for item in items:
        text = str(item)
        for root in [Path(p) for p in sorted(glob.glob(text))] if glob.has_magic(text) else [Path(text)]:
            for path in find_faults(root) if root.is_dir() else []:
                out.setdefault(path.resolve(), (str(root), path))
    return list(out.values())


def _who(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The run's approach, order and seed: in fault.json itself, or (older files) in the config.json beside it."""
    if "order" in data:
        return {"approach": data["approach"], "tasks": data["order"], "seed": data["seed"], "sweep": data.get("sweep")}
    cfg = json.loads((path.parent / "config.json").read_text(encoding="utf-8"))
    order = cfg.get("order") or list(cfg["tasklist"]["tasks"])
    return {"approach": cfg["approach"]["name"], "tasks": order, "seed": cfg["train"]["seed"], "sweep": None}


def _row(label: str, path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        who = _who(path, data)
    except (OSError, ValueError, KeyError, TypeError) as err:
        warnings.warn(f"skipping unreadable fault record {path}: {err}", stacklevel=3)
        return None
    return {"path": str(path), **identity({**who, "_source": label}),
            **{k: data.get(k) for k in ("fault", "task", "phase", "reason")}}


def load_faults(source: Source) -> pd.DataFrame:
    """One row per faulted run below source: who it is (as for finished runs), the fault, task, phase, reason."""
    rows = [r for label, path in _paths(source) if (r := _row(label, path)) is not None]
    return pd.DataFrame(rows, columns=[*FAULT_COLUMNS]) if rows else pd.DataFrame(columns=FAULT_COLUMNS)


def with_fault_counts(summary: pd.DataFrame, faults: pd.DataFrame) -> pd.DataFrame:
    """The summary with `faulted`: per configuration, the runs that stopped on a fault (not in its statistics)."""
    counts = faults.groupby("config_id").size() if len(faults) else pd.Series(dtype=int)
    return summary.assign(faulted=[int(counts.get(c, 0)) for c in summary["config_id"]])


def _one(r: Any) -> str:
    return (f"{r.config_id}, order {r.order}, seed {r.seed}: {r.fault} during {r.phase} of task '{r.task}': "
            f"{r.reason}")


def fault_lines(faults: pd.DataFrame) -> list[str]:
    """For the terminal: how many runs faulted per configuration, then each with its reason, task and phase."""
    if faults.empty:
        return []
    per = ", ".join(f"{c} {n}" for c, n in faults.groupby("config_id").size().items())
    return [f"faulted runs, not in the statistics above: {len(faults)} ({per})",
            *(f"  {_one(r)}" for r in faults.itertuples())]


def fault_html(faults: pd.DataFrame, finished: Iterable[str]) -> str:
    """The report's section on faulted runs (empty without any): counts per configuration beside its finished
    runs (`finished`: the config_id of every finished run), then every faulted run with its reason."""
    if faults.empty:
        return ""
    done = pd.Series(list(finished), dtype=object).value_counts()
    counts = faults.groupby("config_id").size()
    table = pd.DataFrame({"config_id": counts.index, "finished runs": [int(done.get(c, 0)) for c in counts.index],
                          "faulted runs": counts.to_numpy()})
    runs = faults[["config_id", "order", "seed", "fault", "task", "phase", "reason"]]
    return (f"<h2>Faulted runs</h2><p>{len(faults)} run(s) stopped on a fault (a diverged loss, CUDA out of memory) "
            "and are in none of the statistics below: a configuration that diverges on some orderings shows here. "
            f"Also in <code>{html.escape(FAULTS_FILE)}</code>.</p>"
            + table.to_html(index=False, border=0) + runs.to_html(index=False, border=0, na_rep="-"))

"""Download the hub datasets of a tasklist into a data_dir, one Parquet file per hub split, for offline use."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from clsweep.config import ExperimentConfig
from clsweep.errors import Sources
from clsweep.tasks.errors import TaskErrors
from clsweep.tasks.source_spec import HubSource
from clsweep.tasks.sources import load_hub_splits


def fetch_hub_data(cfg: ExperimentConfig, sources: Sources | None = None,
                   log: Callable[[str], None] = print) -> list[Path]:
    """Every hub split a task reads from its data_dir folder, written there (Parquet keeps ClassLabel names)."""
    written: list[Path] = []
    for spec in cfg.tasklist.tasks.values():
        src, local = spec.source, spec.local
        if not isinstance(src, HubSource) or local is None or local.dir is None:
            continue
        for theirs in src.splits.values():
            target = Path(local.dir) / f"{theirs.split('[', 1)[0]}.parquet"
            if target.exists():  # also a split_by family's shared folder, written by its first task
                log(f"task {spec.name}: {target} exists; kept")
                continue
            (ds,) = load_hub_splits(src, [target.stem], TaskErrors(sources, spec.name))
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            ds.to_parquet(str(tmp))
            os.replace(tmp, target)  # readers never see half a file
            written.append(target)
            log(f"task {spec.name}: {src.name} {target.stem} ({len(ds)} rows) -> {target}")
    return written


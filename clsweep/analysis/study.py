"""A study: the finished runs of one or more result folders, read once, with every table the analysis derives."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from clsweep.analysis.aggregate import (
    SELECT_ON,
    check_select_on,
    dev_selection,
    order_disparity_table,
    paired_table,
    position_table,
    summarize,
    variance_table,
)
from clsweep.analysis.collect import Loaded, cell_table, hyperparameters, load_results, runs_table, task_table
from clsweep.analysis.faults import FAULT_COLUMNS, load_faults, with_fault_counts


def resolve(path: str | Path, bases: Iterable[Path] = (Path(".."),)) -> Path:
    """A results folder or glob as given, else looked up from `bases` (Jupyter runs notebooks in analysis/)."""
    given = Path(path)
    if given.exists() or any(c in str(path) for c in "*?["):
        return given
    for base in bases:
        if (base / given).exists():
            return base / given
    raise FileNotFoundError(f"no folder {path}: run `clsweep run search_spaces/ewc.yaml` first, or set RESULTS")


@dataclass
class Study:
    """Runs, per-task scores and matrix cells (test split) of every finished run below `sources`."""

    sources: list[str]
    results: Loaded
    runs: pd.DataFrame
    tasks: pd.DataFrame
    cells: pd.DataFrame
    faults: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAULT_COLUMNS))  # runs that faulted
    # The dev column every ranking and selection reads (acc_dev; forgetting_dev ranks the least forgetting first).
    select_on: str = SELECT_ON
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_select_on(self.select_on)

    @classmethod
    def load(cls, *sources: str | Path, select_on: str = SELECT_ON) -> Study:
        """Read every result.json below the folders, files or globs given (several sweeps combine); rank and
        select on the dev column `select_on`."""
        results = load_results(sources)
        return cls(sources=[str(s) for s in sources], results=results, runs=runs_table(results),
                   tasks=task_table(results), cells=cell_table(results), faults=load_faults(sources),
                   select_on=select_on)

    def __len__(self) -> int:
        return len(self.runs)

    def summary(self) -> pd.DataFrame:
        """Per configuration: n and mean/std/sem/t-CI/bootstrap CI/min/max of every metric, plus AOPD and MOPD;
        the best mean of `select_on` (dev ACC by default) first."""
        if "summary" not in self._cache:
            opd = self.disparity()[["config_id", "aopd", "mopd"]]
            summary = summarize(self.runs, rank_by=self.select_on).merge(opd, on="config_id", how="left")
            self._cache["summary"] = with_fault_counts(summary, self.faults)
        return self._cache["summary"]

    def selection(self) -> pd.DataFrame:
        """Choose on dev, report on test: per approach, the configuration with the best mean of `select_on` (dev
        ACC by default) and its summary row (test numbers without suffix)."""
        if "selection" not in self._cache:
            self._cache["selection"] = dev_selection(self.runs, metric=self.select_on, summary=self.summary())
        return self._cache["selection"]

    def disparity(self) -> pd.DataFrame:
        """Per configuration: number of orderings, AOPD, MOPD (NaN with one ordering)."""
        if "disparity" not in self._cache:
            table = order_disparity_table(self.tasks)
            self._cache["disparity"] = table.assign(
                aopd=table["aopd"].where(table["n_orders"] > 1), mopd=table["mopd"].where(table["n_orders"] > 1))
        return self._cache["disparity"]

    def paired(self) -> pd.DataFrame:
        """Pairwise comparisons of configurations on shared (order, seed) runs, for ACC and forgetting."""
        if "paired" not in self._cache:
            self._cache["paired"] = paired_table(self.runs)
        return self._cache["paired"]

    def variance(self) -> pd.DataFrame:
        """Ordering's and seed's shares of the spread, for configurations where both vary."""
        if "variance" not in self._cache:
            self._cache["variance"] = variance_table(self.runs)
        return self._cache["variance"]

    def positions(self) -> pd.DataFrame:
        """Final score and forgetting by position in the order, per configuration."""
        if "positions" not in self._cache:
            self._cache["positions"] = position_table(self.tasks)
        return self._cache["positions"]

    def hyperparameters(self) -> list[str]:
        """The swept hyperparameter columns of the runs table."""
        return hyperparameters(self.runs)

    def configs(self) -> list[str]:
        """Configurations, the best mean of `select_on` first (ranked on dev, never on test)."""
        return [str(c) for c in self.summary()["config_id"]]

"""The end-of-sweep report: per-configuration table (and order disparity) printed and saved as CSV, plus plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clsweep.analysis.aggregate import format_table, order_disparity_table, summarize, write_summary
from clsweep.analysis.collect import load_runs, load_task_scores
from clsweep.analysis.ordering import family_ordering
from clsweep.analysis.plots import PLOTS_DIR, sweep_plots

SUMMARY_FILE = "summary.csv"


def sweep_summary(exp: str | Path) -> tuple[pd.DataFrame, str]:
    """(summary table, text to print) for every finished run below `exp`; writes exp/summary.csv and exp/plots/."""
    exp = Path(exp)
    runs = load_runs(exp)
    if runs.empty:
        return runs, "no finished runs to summarise"
    summary = summarize(runs)
    lines = [format_table(summary)]
    task_df = None
    if runs.groupby("config_id")["order_id"].nunique().max() > 1:
        # How much the order alone moves each task's final score (Yoon et al. 2020).
        task_df = load_task_scores(exp)
        opd = order_disparity_table(task_df)
        summary = summary.merge(opd[["config_id", "aopd", "mopd"]], on="config_id", how="left")
        lines.append("order disparity of final scores (AOPD mean / MOPD max over tasks): " + ", ".join(
            f"{r.config_id}: {r.aopd:.4f} / {r.mopd:.4f}" for r in opd.itertuples()))
    check = family_ordering(runs)
    if check is not None:
        lines.append(check.describe())
    write_summary(summary, exp / SUMMARY_FILE)
    lines.append(f"{len(runs)} run(s); summary written to {exp / SUMMARY_FILE}")
    lines.append(_write_plots(exp, runs, task_df))
    return summary, "\n".join(lines)


def _write_plots(exp: Path, runs: pd.DataFrame, task_df: pd.DataFrame | None) -> str:
    """One line naming the plots folder. A plotting error is reported, not raised: the table matters more."""
    try:
        paths = sweep_plots(exp, runs=runs, task_df=task_df)
    except Exception as err:  # matplotlib or disk trouble must not cost the summary of a finished sweep
        return f"plots not written to {exp / PLOTS_DIR}: {type(err).__name__}: {err}"
    names = ", ".join(p.name for p in paths[:4]) + (f", ... ({len(paths) - 4} more)" if len(paths) > 4 else "")
    return f"{len(paths)} plot(s) written to {exp / PLOTS_DIR}: {names}"

"""The end-of-sweep report: per-configuration table (and order disparity) printed and saved as CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clsweep.analysis.aggregate import format_table, order_disparity_table, summarize, write_summary
from clsweep.analysis.collect import load_runs, load_task_scores

SUMMARY_FILE = "summary.csv"


def sweep_summary(exp: str | Path) -> tuple[pd.DataFrame, str]:
    """(summary table, text to print) for every finished run below `exp`; writes exp/summary.csv."""
    exp = Path(exp)
    runs = load_runs(exp)
    if runs.empty:
        return runs, "no finished runs to summarise"
    summary = summarize(runs)
    lines = [format_table(summary)]
    if runs.groupby("config_id")["order_id"].nunique().max() > 1:
        # How much the order alone moves each task's final score (Yoon et al. 2020).
        opd = order_disparity_table(load_task_scores(exp))
        summary = summary.merge(opd[["config_id", "aopd", "mopd"]], on="config_id", how="left")
        lines.append("order disparity of final scores (AOPD mean / MOPD max over tasks): " + ", ".join(
            f"{r.config_id}: {r.aopd:.4f} / {r.mopd:.4f}" for r in opd.itertuples()))
    write_summary(summary, exp / SUMMARY_FILE)
    lines.append(f"{len(runs)} run(s); summary written to {exp / SUMMARY_FILE}")
    return summary, "\n".join(lines)

"""Read finished runs (result.json) into tables and aggregate them per configuration and ordering."""

from __future__ import annotations

from clsweep.analysis.aggregate import format_table, order_disparity_table, summarize, t_critical, write_summary
from clsweep.analysis.collect import find_results, load_results, load_runs, load_task_scores
from clsweep.analysis.plots import final_scores_table, plot_final_scores, plot_forgetting, plot_matrix, sweep_plots
from clsweep.analysis.report import sweep_summary

__all__ = [
    "final_scores_table",
    "find_results",
    "format_table",
    "load_results",
    "load_runs",
    "load_task_scores",
    "order_disparity_table",
    "plot_final_scores",
    "plot_forgetting",
    "plot_matrix",
    "summarize",
    "sweep_plots",
    "sweep_summary",
    "t_critical",
    "write_summary",
]

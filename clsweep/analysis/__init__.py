"""Analyse finished runs (result.json only): tables, statistics across orderings and seeds, figures, reports."""

from __future__ import annotations

from clsweep.analysis.aggregate import (
    describe_pair,
    format_table,
    order_disparity_table,
    paired_table,
    position_table,
    summarize,
    variance_table,
    write_summary,
)
from clsweep.analysis.collect import (
    cell_table,
    find_results,
    hyperparameters,
    load_results,
    load_runs,
    load_task_scores,
    runs_table,
    task_table,
)
from clsweep.analysis.notebook import (
    COMPARISON_FIGURES,
    FORGETTING_FIGURES,
    comparison_table,
    figures,
    forgetting_table,
    open_study,
    show,
    verdicts,
)
from clsweep.analysis.plots import final_scores_table, plot_final_scores, plot_forgetting, plot_matrix
from clsweep.analysis.report import Figure, analyze, console_text, sweep_summary, write_figures, write_tables
from clsweep.analysis.stats import bootstrap_ci, describe, holm, paired, t_critical, variance_shares
from clsweep.analysis.study import Study, resolve
from clsweep.analysis.trends import (
    identity_matrix,
    learning_curves,
    plot_by_position,
    plot_hyperparameter,
    plot_identity_matrix,
    plot_learning_curves,
)

__all__ = [
    "COMPARISON_FIGURES",
    "FORGETTING_FIGURES",
    "Figure",
    "Study",
    "analyze",
    "bootstrap_ci",
    "cell_table",
    "comparison_table",
    "console_text",
    "describe",
    "describe_pair",
    "figures",
    "final_scores_table",
    "find_results",
    "forgetting_table",
    "format_table",
    "holm",
    "hyperparameters",
    "identity_matrix",
    "learning_curves",
    "load_results",
    "load_runs",
    "load_task_scores",
    "open_study",
    "order_disparity_table",
    "paired",
    "paired_table",
    "plot_by_position",
    "plot_final_scores",
    "plot_forgetting",
    "plot_hyperparameter",
    "plot_identity_matrix",
    "plot_learning_curves",
    "plot_matrix",
    "position_table",
    "resolve",
    "runs_table",
    "show",
    "summarize",
    "sweep_summary",
    "t_critical",
    "task_table",
    "variance_shares",
    "variance_table",
    "verdicts",
    "write_figures",
    "write_summary",
    "write_tables",
]

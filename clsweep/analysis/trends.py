"""Plots of a study's trends: task-aligned mean matrix, learning curves, position effects, hyperparameters."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clsweep.analysis.aggregate import position_table
from clsweep.analysis.plots import METRIC_LABELS, _figure, _heatmap, _save
from clsweep.analysis.stats import t_halfwidth


def identity_matrix(cells: pd.DataFrame, config_id: str) -> pd.DataFrame:
    """Mean score by task identity: row a = right after learning task a (at any position), column b = task b."""
    rows = cells[cells["config_id"] == config_id]
    if rows.empty:
        raise ValueError(f"no scores for config {config_id!r}")
    table = rows.groupby(["after", "task"], sort=True)["score"].mean().unstack("task")
    table.index.name, table.columns.name = "after", "task"
    return table.reindex(index=list(table.columns))  # rows in the columns' order: the diagonal is "just learned"


def plot_identity_matrix(cells: pd.DataFrame, config_id: str, path: str | Path) -> Path:
    """Heatmap of identity_matrix: every ordering's R re-indexed by task name, then averaged."""
    from matplotlib.patches import Rectangle

    table = identity_matrix(cells, config_id)
    n_runs = cells.loc[cells["config_id"] == config_id, "path"].nunique()
    fig = _figure(2.5 + 0.9 * len(table.columns), 1.6 + 0.5 * len(table))
    ax = fig.add_subplot()
    _heatmap(ax, table.to_numpy(dtype=float).tolist(), [f"after {t}" for t in table.index], list(table.columns))
    for j in range(len(table.columns)):
        ax.add_patch(Rectangle((j - 0.5, j - 0.5), 1, 1, fill=False, edgecolor="tab:red", lw=1.5))
    ax.set_title(f"mean score by task: {config_id} ({n_runs} runs, tasks aligned by name)", fontsize=10)
    ax.set_xlabel("task scored; outlined: just learned", fontsize=9)
    return _save(fig, path)


def learning_curves(cells: pd.DataFrame) -> pd.DataFrame:
    """Per config and number of tasks seen k: mean over runs of A_k (mean score on tasks 1..k), with a 95% t band
    (over orderings when there are several: seeds of one ordering are averaged first)."""
    cols = ["config_id", "k", "n", "mean", "ci95"]
    seen = cells[cells["seen"].astype(bool)]
    if seen.empty:
        return pd.DataFrame(columns=cols)
    per_run = seen.groupby(["config_id", "path", "order", "step"], sort=True)["score"].mean().rename("a_k")
    per_run = per_run.reset_index()
    # seeds repeating an ordering are not independent orderings: the band is over per-ordering means then
    rows = [{"config_id": cid, "k": int(k), "n": len(g), "mean": float(g["a_k"].mean()),
             "ci95": t_halfwidth(g["a_k"].to_numpy(dtype=float),
                                 clusters=g["order"].tolist() if g["order"].nunique() > 1 else None)}
            for (cid, k), g in per_run.groupby(["config_id", "step"], sort=True)]
    return pd.DataFrame(rows, columns=cols)


def plot_learning_curves(cells: pd.DataFrame, path: str | Path, order: list[str] | None = None) -> Path:
    """Average score on the tasks seen so far after each task, per configuration, with a 95% band over runs."""
    curves = learning_curves(cells)
    fig = _figure(6.5, 4.2)
    ax = fig.add_subplot()
    for cid in order or sorted(curves["config_id"].unique()):
        c = curves[curves["config_id"] == cid]
        line = ax.plot(c["k"], c["mean"], marker="o", label=f"{cid} (n={c['n'].max()})")[0]
        band = c["ci95"].fillna(0.0)
        ax.fill_between(c["k"], c["mean"] - band, c["mean"] + band, color=line.get_color(), alpha=0.18, lw=0)
    ax.set_xlabel("tasks learned")
    ax.set_ylabel("average score on the tasks seen so far")
    ax.set_xticks(sorted(curves["k"].unique()))
    ax.set_title("learning curves: mean over runs, band = 95% t interval", fontsize=10)
    ax.legend(fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, path)


def plot_by_position(task_df: pd.DataFrame, path: str | Path, order: list[str] | None = None) -> Path:
    """Final score and forgetting of a task by its position in the order, per configuration (mean ± std)."""
    table = position_table(task_df)
    fig = _figure(10.0, 4.0)
    left, right = fig.subplots(1, 2)
    configs = order or sorted(table["config_id"].unique())
    width = 0.25 / max(1, len(configs))
    for i, cid in enumerate(configs):
        t = table[table["config_id"] == cid]
        x = t["position"] + (i - (len(configs) - 1) / 2) * width  # side by side, not on top of each other
        left.errorbar(x, t["final_mean"], yerr=t["final_std"].fillna(0), fmt="o-", capsize=3, label=cid)
        f = t.dropna(subset=["forgetting_mean"])
        shifted = f["position"] + (i - (len(configs) - 1) / 2) * width
        right.errorbar(shifted, f["forgetting_mean"], yerr=f["forgetting_std"].fillna(0), fmt="o-", capsize=3)
    forgot = table.dropna(subset=["forgetting_mean"])
    for ax, what, t in ((left, "final score", table), (right, METRIC_LABELS["forgetting"], forgot)):
        ax.set_xlabel("position of the task in the training order")
        ax.set_ylabel(what)
        ax.set_xticks(sorted(t["position"].unique()))
    right.axhline(0.0, color="grey", lw=0.8, zorder=0)
    left.set_title("final score by position (mean ± std over runs)", fontsize=10)
    right.set_title("forgetting by position (the last task cannot forget)", fontsize=10)
    left.legend(fontsize="small", frameon=False)
    return _save(fig, path)


def _numeric(values: pd.Series) -> pd.Series | None:
    """The values as floats when every one is a number (bools are categories), else None."""
    if values.map(lambda v: isinstance(v, bool)).any():
        return None
    out = pd.to_numeric(values, errors="coerce")
    return None if out.isna().any() else out.astype(float)


def plot_hyperparameter(runs: pd.DataFrame, column: str, path: str | Path,
                        metrics: tuple[str, ...] = ("acc", "forgetting")) -> Path:
    """Each metric against one swept hyperparameter: every run a point, the mean per value a line, per approach."""
    rows = runs.dropna(subset=[column])
    fig = _figure(5.0 * len(metrics), 4.0)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    x = _numeric(rows[column])
    labels = sorted(rows[column].astype(str).unique()) if x is None else []
    xs = rows[column].astype(str).map(labels.index).astype(float) if x is None else x
    for ax, metric in zip(axes, metrics, strict=True):
        for approach, g in rows.assign(_x=xs).groupby("approach", sort=True):
            y = pd.to_numeric(g[metric], errors="coerce")
            pts = ax.scatter(g["_x"], y, s=16, alpha=0.6, label=str(approach))
            means = y.groupby(g["_x"]).mean()
            ax.plot(means.index, means.to_numpy(), color=pts.get_facecolor()[0], lw=1.5)
        if x is not None and (x > 0).all() and x.max() / x.min() >= 20:
            ax.set_xscale("log")  # swept over decades, as regularisation strengths are
        if labels:
            ax.set_xticks(range(len(labels)), labels=labels)
        ax.set_xlabel(column)
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    axes[0].legend(fontsize="small", frameon=False)
    fig.suptitle(f"{', '.join(metrics)} vs {column} ({len(rows)} runs; line: mean per value)", fontsize=10)
    return _save(fig, path)


def varied_hyperparameters(runs: pd.DataFrame, columns: list[str]) -> list[str]:
    """The hyperparameter columns that take more than one value."""
    return [c for c in columns if runs[c].dropna().astype(str).nunique() > 1]


def median_run(runs: pd.DataFrame, config_id: str, metric: str = "acc_dev") -> str:
    """Path of the run whose metric (dev ACC: picking reads dev) is closest to the configuration's median: a
    typical trial to show."""
    g = runs[runs["config_id"] == config_id].assign(_v=lambda d: pd.to_numeric(d[metric], errors="coerce"))
    g = g.dropna(subset=["_v"])
    if g.empty:
        raise ValueError(f"no {metric} for config {config_id!r}")
    distance = (g["_v"] - g["_v"].median()).abs()
    return str(g.loc[distance.sort_values(kind="stable").index[0], "path"])


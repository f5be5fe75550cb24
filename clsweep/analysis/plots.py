"""Plots of finished runs: one run's score matrix, final scores per ordering, metric spread per configuration."""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from clsweep.analysis.aggregate import SELECT_ON, summarize
from clsweep.metrics.matrix import summarize as matrix_metrics

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PLOTS_DIR = "plots"
CMAP = "viridis"
# y-axis labels that name the exact definition (see clsweep.metrics.matrix.DEFINITIONS)
METRIC_LABELS = {
    "acc": "ACC: final average score (GEM)",
    "bwt": "BWT: backward transfer (GEM paper, 1/(T-1))",
    "fwt": "FWT: forward transfer (GEM paper)",
    "forgetting": "Chaudhry forgetting (max-based)",
    "learning_accuracy": "learning accuracy (mean of the diagonal)",
    "avg_incremental_acc": "average incremental accuracy (iCaRL)",
}


# ------------------------------------------------------------------------------------------- figure plumbing


def _figure(width: float, height: float) -> Figure:
    """A figure on an Agg canvas: no pyplot, so no display, no global backend switch, no figure registry."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _write(fig: Figure, path: Path, fmt: str) -> None:
    """Write to a temp file beside `path`, then rename: a reader never sees half an image."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{fmt}", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt, dpi=110)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save(fig: Figure, path: str | Path) -> Path:
    """The figure as PNG at `path` (for reports and notebooks) and as SVG beside it (for papers); the PNG path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(fig, path, "png")
    _write(fig, path.with_suffix(".svg"), "svg")
    return path


def _fmt(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):.3f}"


def _heatmap(ax: Axes, values: list[list[float]], rows: Sequence[str], cols: Sequence[str]) -> None:
    """Annotated heatmap on a fixed 0..1 scale, so colours compare across runs and configurations."""
    import numpy as np
    from matplotlib import colormaps

    data = np.array(values, dtype=float)
    cmap = colormaps[CMAP].with_extremes(bad="lightgrey")  # grey: a task an ordering never trained
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    for (i, j), v in np.ndenumerate(data):
        if not math.isnan(v):
            # viridis is dark below about 0.5: white text there, black on the light end
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=9, color="white" if v < 0.5 else "black")
    ax.set_xticks(range(len(cols)), labels=list(cols))
    ax.set_yticks(range(len(rows)), labels=list(rows))
    ax.tick_params(top=True, bottom=False, labeltop=True, labelbottom=False)
    ax.figure.colorbar(im, ax=ax, shrink=0.9)


# ------------------------------------------------------------------------------------------- one run


def _square(matrix: Any, n: int, what: str) -> list[list[float]]:
    """A float copy of the n x n matrix (the caller's result dict is never touched)."""
    rows = [[math.nan if v is None else float(v) for v in row] for row in matrix]  # None: a cell not evaluated
    if len(rows) != n or any(len(r) != n for r in rows):
        raise ValueError(f"{what} must be {n} x {n} for {n} tasks, got {[len(r) for r in rows]}")
    return rows


def plot_matrix(result: dict[str, Any], path: str | Path) -> Path:
    """Heatmap of one run's R: a 'before' row (b) on top, then one row after each task; columns in training order."""
    from matplotlib.patches import Rectangle

    tasks = [str(t) for t in (result.get("order") or result["tasks"])]
    matrix = _square(result["matrix"], len(tasks), "matrix")
    initial = result.get("initial")
    before = [] if initial is None else [[math.nan if v is None else float(v) for v in initial]]
    if before and len(before[0]) != len(tasks):
        raise ValueError(f"initial has {len(before[0])} scores for {len(tasks)} tasks")
    rows = ["before"] * len(before) + [f"after {t}" for t in tasks]
    primary = result.get("primary_metric") or {}
    cols = [f"{t}\n{primary[t]}" if t in primary else t for t in tasks]

    fig = _figure(2.5 + 0.9 * len(tasks), 1.4 + 0.5 * len(rows))
    ax = fig.add_subplot()
    _heatmap(ax, before + matrix, rows, cols)
    for j in range(len(tasks)):  # outline the diagonal: each task's score just after learning it
        ax.add_patch(Rectangle((j - 0.5, j + len(before) - 0.5), 1, 1, fill=False, edgecolor="tab:red", lw=1.5))
    if before:
        ax.axhline(0.5, color="white", lw=3)  # b is not a training step
    m = result.get("metrics") or matrix_metrics(matrix, before[0] if before else None)
    split = result.get("eval_split", "test")
    ax.set_title(f"{result.get('approach', '?')} ({split}): ACC {_fmt(m.get('acc'))}, BWT {_fmt(m.get('bwt'))}, "
                 f"forgetting {_fmt(m.get('forgetting'))}", fontsize=10)
    ax.set_xlabel("task (training order); outlined: just learned", fontsize=9)
    return _save(fig, path)


# ------------------------------------------------------------------------------------------- orderings


def final_scores_table(task_df: pd.DataFrame, config_id: str) -> pd.DataFrame:
    """Orderings (rows, 'a>b>c') x tasks by name (columns): final score, seeds averaged."""
    rows = task_df[task_df["config_id"] == config_id]
    if rows.empty:
        raise ValueError(f"no task scores for config {config_id!r}")
    finals = pd.to_numeric(rows["final"], errors="coerce")
    # Keyed by the order itself, not order_id: `clsweep train` runs all carry order_id 'given'.
    table = finals.groupby([rows["order"], rows["task"]], sort=True).mean().unstack("task")
    seq = rows[["order_id", "order"]].drop_duplicates("order").sort_values(["order_id", "order"])["order"]
    table = table.reindex(list(seq))
    table.columns.name = "task"
    return table


def plot_final_scores(task_df: pd.DataFrame, config_id: str, path: str | Path) -> Path:
    """Heatmap of final_scores_table: how the order alone moves each task's final score."""
    table = final_scores_table(task_df, config_id)
    spread = table.max() - table.min()  # per-task order disparity (OPD, Yoon et al. 2020)
    cols = [f"{t}\nOPD {_fmt(spread[t])}" for t in table.columns]
    rows = [str(o).replace(">", " → ") for o in table.index]
    # Room for the ordering labels on the left, and for "OPD 0.000" under each task name.
    label_in = 0.07 * max((len(r) for r in rows), default=10)
    fig = _figure(1.5 + label_in + 1.1 * len(cols), 1.4 + 0.45 * len(rows))
    ax = fig.add_subplot()
    _heatmap(ax, table.to_numpy(dtype=float).tolist(), rows, cols)
    ax.set_title(f"final score by ordering: {config_id} (seeds averaged)\n"
                 f"AOPD {_fmt(spread.mean())}, MOPD {_fmt(spread.max())}", fontsize=10)
    ax.set_ylabel("ordering")
    return _save(fig, path)


# ------------------------------------------------------------------------------------------- per configuration


def config_order(runs_df: pd.DataFrame, select_on: str = SELECT_ON) -> list[str]:
    """Configurations in the summary's order (best mean of the dev column `select_on` first), else by name."""
    if select_on not in runs_df.columns:
        return sorted(runs_df["config_id"].astype(str).unique())
    return [str(c) for c in summarize(runs_df, metrics=(select_on,), rank_by=select_on)["config_id"]]


def _jitter(n: int, width: float = 0.36) -> list[float]:
    """Evenly spread x offsets: deterministic, so the same runs always give the same picture."""
    return [0.0] if n == 1 else [-width / 2 + width * k / (n - 1) for k in range(n)]


def plot_forgetting(runs_df: pd.DataFrame, path: str | Path, metric: str = "forgetting",
                    select_on: str = SELECT_ON) -> Path:
    """Per configuration (in the order of `select_on`): box plot of `metric` over orderings and seeds, every run
    as a point, mean as a diamond."""
    if metric not in runs_df.columns:
        raise ValueError(f"no column {metric!r} in the runs table")
    configs = config_order(runs_df, select_on)
    orders = sorted(runs_df["order_id"].astype(str).unique())
    fig = _figure(max(5.0, 2.5 + 1.2 * len(configs)), 4.5)
    ax = fig.add_subplot()
    for x, cid in enumerate(configs, start=1):
        _config_points(ax, runs_df[runs_df["config_id"] == cid], metric, x, orders)
    tilt = len(configs) > 3 or any(len(c) > 14 for c in configs)  # long config ids would overlap
    ax.set_xticks(range(1, len(configs) + 1), labels=configs, rotation=20 if tilt else 0,
                  ha="right" if tilt else "center")
    ax.set_xlim(0.4, len(configs) + 0.6)
    base = metric.removesuffix("_dev")
    ax.set_ylabel(METRIC_LABELS.get(base, metric) + (" (dev)" if base != metric else ""))
    if base in ("forgetting", "bwt", "fwt"):
        ax.axhline(0.0, color="grey", lw=0.8, zorder=0)  # the sign is the point of these metrics
    ax.set_title(f"{metric} per configuration: {len(runs_df)} runs (orderings x seeds)", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    if handles and len(orders) <= 12:  # beyond that a legend hides the data
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False,
                  title="ordering")
    return _save(fig, path)


def _config_points(ax: Axes, group: pd.DataFrame, metric: str, x: int, orders: list[str]) -> None:
    """One configuration's box, its runs as points coloured by ordering, and its mean."""
    from matplotlib import colormaps

    group = group.assign(_v=pd.to_numeric(group[metric], errors="coerce")).dropna(subset=["_v"])
    if group.empty:  # e.g. forgetting of one-task runs: undefined, leave the slot empty
        return
    group = group.sort_values(["order_id", "seed"], kind="stable").reset_index(drop=True)
    ax.boxplot([group["_v"].to_numpy()], positions=[x], widths=0.55, showfliers=False,
               medianprops={"color": "black"}, boxprops={"color": "grey"}, whiskerprops={"color": "grey"},
               capprops={"color": "grey"})
    palette = colormaps["tab20" if len(orders) > 10 else "tab10"]
    offsets = _jitter(len(group))
    seen = set(ax.get_legend_handles_labels()[1])  # one legend entry per ordering across all configs
    for order_id, pts in group.groupby(group["order_id"].astype(str), sort=True):
        ax.scatter([x + offsets[i] for i in pts.index], pts["_v"], s=18, zorder=3,
                   color=palette(orders.index(str(order_id)) % palette.N),
                   label=None if order_id in seen else str(order_id))
    mean = float(group["_v"].mean())
    ax.scatter(x, mean, marker="D", s=45, facecolor="white", edgecolor="black", zorder=4,
               label=None if "mean" in seen else "mean")
    ax.text(x + 0.3, mean, f"{mean:.3f}", va="center", fontsize=8)  # just right of the box, clear of its lines


# ------------------------------------------------------------------------------------------- file names


def _safe(config_id: str) -> str:
    # The same character set as sweep trial folders; the planner keeps config ids distinct once made safe.
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", config_id).strip("_") or "_"

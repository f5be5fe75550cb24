"""Aggregate runs per configuration: mean, std, 95% CI, order disparity, and printable/CSV summaries."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pandas as pd

from clsweep.io import write_text_atomic
from clsweep.metrics.matrix import order_disparity


def _t_two_sided(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with integer df, in closed form (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for k in range(2, df, 2):  # 1 + 1/2 c^2 + 1*3/(2*4) c^4 + ...
            term *= c2 * (k - 1) / k
            total += term
        return math.sin(theta) * total
    if df == 1:
        return 2 * theta / math.pi
    term, total = 1.0, 1.0
    for k in range(3, df - 1, 2):  # 1 + 2/3 c^2 + 2*4/(3*5) c^4 + ...
        term *= c2 * (k - 1) / k
        total += term
    return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)


@lru_cache(maxsize=256)
def t_critical(df: int, level: float = 0.95) -> float:
    """Two-sided Student t critical value, by bisection on the exact CDF (scipy is not a dependency)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    lo, hi = 0.0, 1e4  # df = 1 at 99.99% is about 6366; the bracket covers any sane level
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_two_sided(mid, df) < level else (lo, mid)
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def _ci95(values: pd.Series) -> float:
    """Half-width of the 95% Student-t interval of the mean; NaN with fewer than two values."""
    v = values.dropna()
    if len(v) < 2:
        return math.nan
    return t_critical(len(v) - 1) * float(v.std(ddof=1)) / math.sqrt(len(v))


def summarize(df: pd.DataFrame, metrics: Sequence[str] = ("acc", "bwt", "forgetting"),
              by: Sequence[str] = ("config_id",)) -> pd.DataFrame:
    """Per group: n, then <metric>_mean/_std/_ci95 per metric, then acc_min/acc_max; best acc_mean first."""
    keys, metrics = list(by), list(metrics)
    missing = [c for c in [*keys, *metrics] if c not in df.columns]
    if missing:
        raise ValueError(f"cannot summarize: no column(s) {', '.join(missing)} in the runs table")
    if df.empty:
        cols = [*keys, "n", *[f"{m}_{s}" for m in metrics for s in ("mean", "std", "ci95")]]
        return pd.DataFrame(columns=cols + (["acc_min", "acc_max"] if "acc" in df.columns else []))
    rows = []
    for key, group in df.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row["n"] = len(group)
        for m in metrics:
            values = pd.to_numeric(group[m], errors="coerce")
            # pandas std is ddof=1 and gives NaN for a single run, which is what an unknown spread is.
            row.update({f"{m}_mean": values.mean(), f"{m}_std": values.std(ddof=1), f"{m}_ci95": _ci95(values)})
        if "acc" in group.columns:
            acc = pd.to_numeric(group["acc"], errors="coerce")
            row.update({"acc_min": acc.min(), "acc_max": acc.max()})
        rows.append(row)
    out = pd.DataFrame(rows)
    # best first; the sort key falls back to the first metric when acc is not in the table
    sort_by = "acc_mean" if "acc_mean" in out.columns else f"{metrics[0]}_mean" if metrics else keys[0]
    return out.sort_values(sort_by, ascending=False, kind="stable", na_position="last").reset_index(drop=True)


def order_disparity_table(task_df: pd.DataFrame) -> pd.DataFrame:
    """Per config_id: number of orderings, AOPD and MOPD of final scores (seeds averaged first, tasks by name)."""
    cols = ["config_id", "n_orders", "aopd", "mopd"]
    if task_df.empty:
        return pd.DataFrame(columns=cols)
    # Seeds are averaged per (ordering, task) first so that OPD measures the ordering, not seed noise.
    means = task_df.groupby(["config_id", "order_id", "task"], sort=True)["final"].mean()
    rows = []
    for config_id, per_config in means.groupby(level="config_id", sort=True):
        finals = {str(o): dict(s.droplevel(["config_id", "order_id"]).items())
                  for o, s in per_config.groupby(level="order_id", sort=True)}
        try:
            opd = order_disparity(finals)
            aopd, mopd = opd["aopd"], opd["mopd"]
        except ValueError as err:  # orderings of one config that cover different tasks
            warnings.warn(f"no order disparity for config {config_id}: {err}", stacklevel=2)
            aopd = mopd = math.nan
        rows.append({"config_id": config_id, "n_orders": len(finals), "aopd": aopd, "mopd": mopd})
    return pd.DataFrame(rows, columns=cols)


def _mean_std(mean: float, std: float) -> str:
    if pd.isna(mean):
        return "-"
    return f"{mean:.4f}" if pd.isna(std) else f"{mean:.4f}±{std:.4f}"


def format_table(summary: pd.DataFrame, metrics: Sequence[str] = ("acc", "bwt", "forgetting")) -> str:
    """Fixed-width text: the group columns, n, and mean±std of each metric that summary holds."""
    if summary.empty:
        return "(no runs)"
    keys = list(summary.columns[: list(summary.columns).index("n")]) if "n" in summary.columns else []
    shown = [m for m in metrics if f"{m}_mean" in summary.columns]
    header = [*keys, "n", *shown]
    body = [[*(str(r[k]) for k in keys), str(r["n"]), *(_mean_std(r[f"{m}_mean"], r[f"{m}_std"]) for m in shown)]
            for _, r in summary.iterrows()]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        # group names read best left-aligned, numbers right-aligned so the decimal points line up
        return "  ".join(c.ljust(w) if i < len(keys) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in body)])


def write_summary(summary: pd.DataFrame, path: str | Path) -> None:
    """The summary as CSV, written atomically so a reader never sees half a file."""
    write_text_atomic(path, summary.to_csv(index=False))


"""Aggregate runs per configuration: mean, std, 95% CI, order disparity, and printable/CSV summaries."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from clsweep.analysis.stats import describe, holm, paired, variance_shares
from clsweep.io import write_text_atomic
from clsweep.metrics.matrix import order_disparity

BASE_METRICS = ("acc", "bwt", "fwt", "forgetting", "learning_accuracy", "intransigence")
SUMMARY_METRICS = (*BASE_METRICS, *(f"{m}_dev" for m in BASE_METRICS))
STATS = ("mean", "std", "sem", "ci95", "ci_low", "ci_high", "min", "max")
ALPHA = 0.05
# Choose on dev, report on test: every ranking, "best" and selection reads this dev column, never a test one.
SELECT_ON = "acc_dev"
LOWER_IS_BETTER = ("forgetting", "intransigence")  # metric names (either split) where less is better
CLUSTER = "order"  # seeds repeat orderings: intervals resample orderings, not runs


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of metric (acc, acc_dev, forgetting_dev, ...) is better."""
    return metric.removesuffix("_dev") not in LOWER_IS_BETTER


def _check_dev(metric: str) -> None:
    if not metric.endswith("_dev"):
        raise ValueError(f"rank and select on a dev metric (e.g. {SELECT_ON}), not {metric!r}: choose on dev, "
                         "report on test")


SELECTABLE = tuple(m for m in SUMMARY_METRICS if m.endswith("_dev"))  # the dev columns a study can select on
# A sweep's search.metric (clsweep.search_config.DEV_METRICS) and the runs-table column it ends a run at (ACC ==
# the average over all tasks seen).
SEARCH_METRIC_COLUMNS = {"dev_acc": "acc_dev", "dev_avg_seen": "acc_dev", "dev_forgetting": "forgetting_dev"}


def check_select_on(metric: str) -> None:
    """`metric` is a dev column of the runs table: choose on dev, report on test."""
    _check_dev(metric)
    if metric not in SELECTABLE:
        raise ValueError(f"cannot select on {metric!r}: valid: {', '.join(SELECTABLE)}")


def rank_on_dev(summary: pd.DataFrame, metric: str = SELECT_ON) -> pd.DataFrame:
    """summary with the best mean of the dev metric first (NaN last, ties in the given order)."""
    _check_dev(metric)
    column = f"{metric}_mean"
    if column not in summary.columns:
        return summary.reset_index(drop=True)
    return summary.sort_values(column, ascending=not higher_is_better(metric), kind="stable",
                               na_position="last").reset_index(drop=True)


def _clusters(group: pd.DataFrame) -> list[object] | None:
    """The ordering of each run when the group spans several orderings; None with one (nothing to resample)."""
    if CLUSTER not in group.columns or group[CLUSTER].nunique() < 2:
        return None
    return group[CLUSTER].astype(str).tolist()


def summarize(df: pd.DataFrame, metrics: Sequence[str] = SUMMARY_METRICS,
              by: Sequence[str] = ("config_id",), rank_by: str = SELECT_ON) -> pd.DataFrame:
    """Per group: n, n_orders, then for each metric its mean, std, sem, ci95 (t half-width), bootstrap
    ci_low/ci_high, min and max as <metric>_<stat>; the best mean of the dev metric `rank_by` first.

    Where a group spans several orderings, sem, ci95 and the bootstrap interval are over orderings (seeds of
    one ordering averaged, orderings resampled), so repeating seeds cannot narrow them; with one ordering
    they are over its runs (seeds), conditional on that ordering.
    """
    _check_dev(rank_by)
    keys, metrics = list(by), [m for m in metrics if m in df.columns or m not in SUMMARY_METRICS]
    missing = [c for c in [*keys, *metrics] if c not in df.columns]
    if missing:
        raise ValueError(f"cannot summarize: no column(s) {', '.join(missing)} in the runs table")
    cols = [*keys, "n", "n_orders", *[f"{m}_{s}" for m in metrics for s in STATS]]
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for key, group in df.groupby(keys, sort=True, dropna=False):
        row: dict[str, object] = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row["n"] = len(group)
        row["n_orders"] = group[CLUSTER].nunique() if CLUSTER in group.columns else math.nan
        clusters = _clusters(group)
        for m in metrics:
            stats = describe(pd.to_numeric(group[m], errors="coerce").to_numpy(dtype=float), clusters=clusters)
            row.update({f"{m}_{s}": stats[s] for s in STATS})
        rows.append(row)
    return rank_on_dev(pd.DataFrame(rows, columns=cols), rank_by)


def dev_selection(runs: pd.DataFrame, by: str = "approach", metric: str = SELECT_ON,
                  summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Choose on dev, report on test: per `by` group (approach), the configuration with the best mean of the
    dev `metric` among its configurations, with that configuration's full summary row (its test numbers).

    Columns: by, config_id (the one chosen), n_configs (the candidates), selected_on (the metric), then the
    summary columns. Groups where no configuration has a dev score choose nothing; best dev score first.
    """
    _check_dev(metric)
    summary = summarize(runs, rank_by=metric) if summary is None else rank_on_dev(summary, metric)
    if runs.empty or summary.empty:
        rest = [c for c in summary.columns if c != "config_id"]
        return pd.DataFrame(columns=[by, "config_id", "n_configs", "selected_on", *rest])
    groups = runs.groupby(runs["config_id"].astype(str))[by].first()
    ranked = summary.assign(**{by: summary["config_id"].astype(str).map(groups)})
    ranked = ranked.dropna(subset=[f"{metric}_mean"]) if f"{metric}_mean" in ranked.columns else ranked.iloc[:0]
    counts = runs.groupby(by)["config_id"].nunique()
    chosen = ranked.groupby(by, sort=False).head(1)  # ranked best-on-dev first, so the first of each group
    out = chosen.assign(n_configs=chosen[by].map(counts).astype(int), selected_on=metric)
    lead = [by, "config_id", "n_configs", "selected_on"]
    return out[lead + [c for c in out.columns if c not in lead]].reset_index(drop=True)


def selected_runs(runs: pd.DataFrame, selection: pd.DataFrame | None = None, by: str = "approach",
                  metric: str = SELECT_ON) -> pd.DataFrame:
    """The runs of the configurations dev_selection chooses (one configuration per approach)."""
    chosen = set((dev_selection(runs, by, metric) if selection is None else selection)["config_id"].astype(str))
    return runs[runs["config_id"].astype(str).isin(chosen)]


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


def position_table(task_df: pd.DataFrame) -> pd.DataFrame:
    """Per (config_id, position): n and mean/std of the final score and of forgetting at that position."""
    cols = ["config_id", "position", "n", "final_mean", "final_std", "forgetting_mean", "forgetting_std"]
    if task_df.empty:
        return pd.DataFrame(columns=cols)
    grouped = task_df.groupby(["config_id", "position"], sort=True)
    out = grouped.agg(n=("final", "size"), final_mean=("final", "mean"), final_std=("final", "std"),
                      forgetting_mean=("forgetting", "mean"), forgetting_std=("forgetting", "std"))
    return out.reset_index()[cols]


def variance_table(runs: pd.DataFrame, metrics: Sequence[str] = ("acc", "forgetting")) -> pd.DataFrame:
    """Per config and metric, when both orderings and seeds vary: the ordering's and the seed's share of the spread."""
    cols = ["config_id", "metric", "n_orders", "n_seeds", "order_share", "seed_share", "residual_share"]
    rows = []
    for config_id, group in runs.groupby("config_id", sort=True):
        if group["order"].nunique() < 2 or group["seed"].nunique() < 2:
            continue
        for m in metrics:
            # seeds repeated within one (ordering, seed) cell, e.g. two sweeps, are averaged first
            cells = group.groupby(["order", "seed"])[m].mean().dropna()
            shares = variance_shares({(str(o), int(s)): float(v) for (o, s), v in cells.items()})
            rows.append({"config_id": config_id, "metric": m, **{c: shares[c] for c in cols[2:]}})
    return pd.DataFrame(rows, columns=cols)


def paired_table(runs: pd.DataFrame, metrics: Sequence[str] = ("acc", "forgetting"),
                 alpha: float = ALPHA) -> pd.DataFrame:
    """Every pair of configurations compared on the runs they share (same order and seed), per metric.

    mean_diff is a - b; p_holm is the Wilcoxon p over the (order, seed) pairs adjusted (Holm) over all pairs of
    the same metric, min_p_holm the smallest value p_holm could take with these numbers of pairs; the
    bootstrap CI resamples orderings (all seeds of a drawn ordering together), so it is as wide as the number
    of orderings warrants. A difference is `distinguishable` from noise when p_holm < alpha and that CI
    excludes 0.
    """
    cols = ["metric", "a", "b", "n", "n_orders", "mean_diff", "ci_low", "ci_high", "a_higher", "a_lower", "ties",
            "sign_p", "wilcoxon_p", "min_p", "p_holm", "min_p_holm", "distinguishable"]
    configs = sorted(runs["config_id"].astype(str).unique()) if not runs.empty else []
    rows = []
    for m in metrics:
        # one value per (config, order, seed): repeated runs of the same cell are averaged
        cell = runs.groupby(["config_id", "order", "seed"])[m].mean()
        block = []
        for a, b in itertools.combinations(configs, 2):
            both = pd.concat([cell.loc[a].rename("a"), cell.loc[b].rename("b")], axis=1, join="inner").dropna()
            if both.empty:
                continue  # never run on a shared ordering and seed: nothing to pair
            orders = both.index.get_level_values("order").astype(str).tolist()
            # one shared ordering: the seeds are all the replication there is (conditional on that ordering)
            clusters = orders if len(set(orders)) > 1 else None
            result = asdict(paired(both["a"].tolist(), both["b"].tolist(), clusters=clusters))
            result.pop("clusters")  # the pairs' clusters are the orderings: n_orders, counted with one too
            result["n_orders"] = len(set(orders))
            block.append({"metric": m, "a": a, "b": b, **result})
        # Holm is monotone in every p: adjusting the smallest attainable p of each pair bounds what the pair's
        # adjusted p can ever reach with this many pairs and comparisons
        floors = holm([r["min_p"] for r in block])
        for row, p, floor in zip(block, holm([r["wilcoxon_p"] for r in block]), floors, strict=True):
            row["p_holm"], row["min_p_holm"] = p, floor
            excludes_zero = row["ci_low"] > 0 or row["ci_high"] < 0
            row["distinguishable"] = bool(p < alpha and excludes_zero)
        rows += block
    return pd.DataFrame(rows, columns=cols)


def describe_pair(row: pd.Series, alpha: float = ALPHA) -> str:
    """One sentence for a paired_table row, saying whether the difference stands out from noise."""
    what = (f"{row['metric']}: {row['a']} - {row['b']} = {row['mean_diff']:+.4f} "
            f"(95% CI over {row['n_orders']} ordering(s) {row['ci_low']:+.4f} .. {row['ci_high']:+.4f}; "
            f"a higher in {row['a_higher']}, lower in "
            f"{row['a_lower']}, tied in {row['ties']} of {row['n']} paired runs; "
            f"Wilcoxon p {row['wilcoxon_p']:.3g}, Holm {row['p_holm']:.3g})")
    if row["distinguishable"]:
        return f"{what}: distinguishable from noise"
    if row["min_p"] >= alpha:
        return f"{what}: too few pairs to tell (the smallest attainable p is {row['min_p']:.3g})"
    if row.get("min_p_holm", row["min_p"]) >= alpha:
        return (f"{what}: too few pairs to tell after Holm (the smallest attainable adjusted p is "
                f"{row['min_p_holm']:.3g}: more orderings or seeds, or fewer comparisons)")
    return f"{what}: not distinguishable from noise"


def _mean_std(mean: float, std: float) -> str:
    if pd.isna(mean):
        return "-"
    return f"{mean:.4f}" if pd.isna(std) else f"{mean:.4f}±{std:.4f}"


def format_table(summary: pd.DataFrame,
                 metrics: Sequence[str] = ("acc_dev", "acc", "bwt", "forgetting", "intransigence")) -> str:
    """Fixed-width text: the group columns, n, and mean±std of each metric that summary holds (a metric with
    no value at all, e.g. intransigence without joint runs, is left out)."""
    if summary.empty:
        return "(no runs)"
    keys = list(summary.columns[: list(summary.columns).index("n")]) if "n" in summary.columns else []
    shown = [m for m in metrics if f"{m}_mean" in summary.columns and summary[f"{m}_mean"].notna().any()]
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


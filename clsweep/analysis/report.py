"""The analysis of a study written out: CSV tables, figures (PNG + SVG) and one self-contained HTML report."""

from __future__ import annotations

import base64
import html
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

import clsweep
from clsweep.analysis.aggregate import SELECT_ON, describe_pair, format_table, selected_runs, write_summary
from clsweep.analysis.collect import SPLITS
from clsweep.analysis.faults import FAULTS_FILE, fault_html, fault_lines
from clsweep.analysis.ordering import family_ordering
from clsweep.analysis.plots import PLOTS_DIR, _safe, plot_final_scores, plot_forgetting, plot_matrix
from clsweep.analysis.study import Study
from clsweep.analysis.trends import (
    median_run,
    plot_by_position,
    plot_hyperparameter,
    plot_identity_matrix,
    plot_learning_curves,
    varied_hyperparameters,
)
from clsweep.io import write_text_atomic
from clsweep.metrics.matrix import DEFINITIONS, INTRANSIGENCE_DEFINITION

SUMMARY_FILE = "summary.csv"
REPORT_FILE = "report.html"
SELECTED_FILE = "selected.csv"
TABLES = {SELECTED_FILE: "selection", "tasks.csv": "tasks", "positions.csv": "positions", "paired.csv": "paired",
          "variance.csv": "variance", "order_disparity.csv": "disparity"}
RULE = "choose on dev, report on test"


@dataclass(frozen=True)
class Figure:
    """A written plot: its PNG (an SVG lies beside it), a title and what to read from it."""

    path: Path
    title: str
    caption: str


def _identity(study: Study, cid: str, path: Path) -> Path:
    return plot_identity_matrix(study.cells, cid, path)


def _one_run(run: dict[str, Any], path: Path) -> Path:
    return plot_matrix(run, path)


def _final(study: Study, cid: str, path: Path) -> Path:
    return plot_final_scores(study.tasks, cid, path)


def _hp(study: Study, column: str, path: Path) -> Path:
    return plot_hyperparameter(study.runs, column, path)


def _figure_plan(study: Study, out: Path) -> list[tuple[str, str, Callable[[Path], Path], Path]]:
    """(title, caption, draw, png path) for every figure the study supports."""
    configs = study.configs()
    plan: list[tuple[str, str, Callable[[Path], Path], Path]] = [
        ("Forgetting per configuration", "Every run a point coloured by ordering; box over orderings and seeds; "
         "diamond: mean.", lambda p: plot_forgetting(study.runs, p, select_on=study.select_on), out / "forgetting.png"),
        ("ACC per configuration", "Final average score of every run.",
         lambda p: plot_forgetting(study.runs, p, metric="acc", select_on=study.select_on), out / "acc.png"),
        ("Learning curves", "Average score on the tasks seen so far after each task; band: 95% t interval over runs.",
         lambda p: plot_learning_curves(study.cells, p, configs), out / "learning_curves.png"),
        ("Final score and forgetting by position", "Where in the order a task comes, and what it costs it.",
         lambda p: plot_by_position(study.tasks, p, configs), out / "by_position.png"),
    ]
    n_orders = study.runs.groupby("config_id")["order"].nunique()
    by_path = {str(path): data for path, data in study.results}
    for cid in configs:
        safe = _safe(cid)
        plan.append((f"Mean score matrix by task: {cid}", "R of every run re-indexed by task name and averaged: row "
                     "'after a' is the state right after learning a, wherever a came in the order.",
                     partial(_identity, study, cid), out / f"identity_matrix_{safe}.png"))
        run = by_path[median_run(study.runs, cid)]
        plan.append((f"One run's score matrix: {cid}", f"The run closest to the median dev ACC (order "
                     f"{' > '.join(run['tasks'])}, seed {run['seed']}).", partial(_one_run, run),
                     out / f"matrix_{safe}.png"))
        if n_orders.get(cid, 0) > 1:
            plan.append((f"Final score by ordering: {cid}", "How the order alone moves each task's final score "
                         "(seeds averaged); OPD under each task.",
                         partial(_final, study, cid), out / f"final_scores_{safe}.png"))
    # approach.name is the configuration itself, already on every per-configuration figure
    for col in varied_hyperparameters(study.runs, [h for h in study.hyperparameters() if h != "approach.name"]):
        plan.append((f"Metrics vs {col}", "Every run a point; line: mean per value.",
                     partial(_hp, study, col), out / f"hp_{_safe(col)}.png"))
    return plan


def write_figures(study: Study, out: Path, warn: Callable[[str], None] = print,
                  only: tuple[str, ...] | None = None) -> list[Figure]:
    """Every figure of the study under out/ (or those whose file name starts with one of `only`); one that
    fails is reported and skipped, the rest still drawn."""
    written = []
    for title, caption, draw, path in _figure_plan(study, out):
        if only is not None and not path.name.startswith(only):
            continue
        try:
            written.append(Figure(draw(path), title, caption))
        except Exception as err:  # one bad figure must not cost the report of a finished sweep
            warn(f"figure {path.name} not written: {type(err).__name__}: {err}")
    return written


def remove_stale_figures(folder: Path, figures: list[Figure]) -> None:
    """Images in `folder` that this analysis did not draw (e.g. of a configuration since removed) go, so plots/
    holds what report.html shows."""
    keep = {name for f in figures for name in (f.path.name, f.path.with_suffix(".svg").name)}
    for path in folder.glob("*"):
        if path.suffix in (".png", ".svg") and path.is_file() and path.name not in keep:
            path.unlink()


def write_tables(study: Study, out: Path) -> list[Path]:
    """summary.csv and the other tables as CSV, each written atomically."""
    write_summary(study.summary(), out / SUMMARY_FILE)
    paths = [out / SUMMARY_FILE]
    for name, attr in TABLES.items():
        table = study.tasks if attr == "tasks" else getattr(study, attr)()
        write_text_atomic(out / name, table.to_csv(index=False))
        paths.append(out / name)
    write_text_atomic(out / FAULTS_FILE, study.faults.to_csv(index=False))
    return [*paths, out / FAULTS_FILE]


def _with_ci(row: pd.Series, metric: str) -> str:
    mean, low, high = row.get(f"{metric}_mean"), row.get(f"{metric}_ci_low"), row.get(f"{metric}_ci_high")
    if mean is None or pd.isna(mean):
        return "-"
    return f"{mean:.4f}" if pd.isna(low) else f"{mean:.4f} [{low:.4f}, {high:.4f}]"


def selection_lines(selection: pd.DataFrame) -> list[str]:
    """Per approach: the configuration chosen on dev and its test numbers with their 95% bootstrap CIs."""
    if selection.empty:
        return []
    lines = [f"{RULE}: per approach, the configuration with the best mean {selection['selected_on'].iloc[0]}, "
             "and its test numbers "
             "(mean [95% bootstrap CI over orderings]):"]
    for _, r in selection.iterrows():
        shown = ", ".join(f"{name} {_with_ci(r, m)}" for name, m in
                          (("ACC", "acc"), ("forgetting", "forgetting"), ("BWT", "bwt"),
                           ("intransigence", "intransigence")) if pd.notna(r.get(f"{m}_mean")))
        lines.append(f"  {r['approach']}: {r['config_id']} (best of {r['n_configs']} on {r['selected_on']} "
                     f"{r[r['selected_on'] + '_mean']:.4f}); test: {shown}")
    return lines


def console_text(study: Study) -> str:
    """What a terminal shows: the summary table (ranked on dev), the dev-selected configurations with their test
    numbers, order disparity and the paired verdicts."""
    lines = [format_table(study.summary())]
    lines += selection_lines(study.selection())
    opd = study.disparity().dropna(subset=["aopd"])
    if not opd.empty:
        lines.append("order disparity of final scores (AOPD mean / MOPD max over tasks): " + ", ".join(
            f"{r.config_id}: {r.aopd:.4f} / {r.mopd:.4f}" for r in opd.itertuples()))
    check = family_ordering(selected_runs(study.runs, study.selection()))  # each approach: its dev choice
    if check is not None:
        lines.append(check.describe())
    pairs = study.paired()
    if not pairs.empty:
        lines.append("paired comparisons (same orderings and seeds):")
        lines += [f"  {describe_pair(row)}" for _, row in pairs.iterrows()]
    return "\n".join(lines)


def analyze(sources: list[str | Path], out: str | Path, warn: Callable[[str], None] = print,
            select_on: str = SELECT_ON) -> tuple[Study, str]:
    """Load the runs below sources and write tables, figures and report.html to out, ranking and selecting on
    the dev column `select_on`; (study, text to print)."""
    out = Path(out)
    study = Study.load(*sources, select_on=select_on)
    if not len(study):
        return study, "\n".join(["no finished runs to analyse", *fault_lines(study.faults)])
    write_tables(study, out)
    figures = write_figures(study, out / PLOTS_DIR, warn)
    remove_stale_figures(out / PLOTS_DIR, figures)
    write_text_atomic(out / REPORT_FILE, render_html(study, figures))
    text = "\n".join([console_text(study), *fault_lines(study.faults)])
    return study, (f"{text}\n{len(study)} run(s) from {', '.join(study.sources)}; summary in {out / SUMMARY_FILE}, "
                   f"{len(figures)} figure(s) in {out / PLOTS_DIR}, report in {out / REPORT_FILE}")


def sweep_summary(exp: str | Path, select_on: str = SELECT_ON) -> tuple[pd.DataFrame, str]:
    """The end-of-sweep analysis, written into the sweep folder itself; (summary table, text to print)."""
    try:
        study, text = analyze([exp], exp, select_on=select_on)
    except Exception as err:  # the sweep finished: a failing report must not look like a failed sweep
        return pd.DataFrame(), f"analysis failed: {type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"
    return (study.summary() if len(study) else study.runs), text


# ------------------------------------------------------------------------------------------- HTML


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 7px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}
img{max-width:100%}figcaption{font-size:13px;color:#555}.yes{color:#070;font-weight:600}code{background:#f3f3f3}"""


def _table(df: pd.DataFrame, columns: list[str] | None = None) -> str:
    shown = df[[c for c in columns if c in df.columns]] if columns else df
    return shown.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="-", border=0)


def _mean_ci(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as readable cells: mean ± std [bootstrap CI] for the headline metrics."""
    cells = summary[["config_id", "n", "n_orders"]].copy()
    for m in ("acc_dev", "acc", "bwt", "fwt", "forgetting", "learning_accuracy", "intransigence", "forgetting_dev"):
        if f"{m}_mean" in summary.columns:
            if summary[f"{m}_mean"].isna().all():
                continue  # e.g. intransigence without a joint run to measure it against
            cells[m] = [f"{r[m + '_mean']:.4f} ± {r[m + '_std']:.4f} [{r[m + '_ci_low']:.3f}, {r[m + '_ci_high']:.3f}]"
                        if pd.notna(r[m + "_std"]) and pd.notna(r[m + "_ci_low"])
                        else "-" if pd.isna(r[m + "_mean"]) else f"{r[m + '_mean']:.4f}" for _, r in summary.iterrows()]
    for m in ("aopd", "mopd"):
        cells[m] = summary[m]
    return cells


def _selected(selection: pd.DataFrame) -> pd.DataFrame:
    """The dev-selected configurations as readable cells: the dev score chosen on, then test mean [CI]."""
    if selection.empty:
        return pd.DataFrame(columns=["approach", "config_id"])
    cells = selection[["approach", "config_id", "n_configs", "n", "n_orders"]].copy()
    cells["chosen on"] = [f"{r['selected_on']} {r[r['selected_on'] + '_mean']:.4f}" for _, r in selection.iterrows()]
    for m in ("acc", "forgetting", "bwt", "learning_accuracy", "intransigence"):
        if f"{m}_mean" in selection.columns and selection[f"{m}_mean"].notna().any():
            cells[f"test {m}"] = [_with_ci(r, m) for _, r in selection.iterrows()]
    return cells


def _img(fig: Figure) -> str:
    data = base64.b64encode(fig.path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(fig.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption><b>{html.escape(fig.title)}.</b> {html.escape(fig.caption)} "
            f"(<code>{html.escape(fig.path.name)}</code>, SVG beside it)</figcaption></figure>")


def render_html(study: Study, figures: list[Figure]) -> str:
    """One HTML file with every table and figure embedded: it can be mailed as is."""
    pairs = study.paired()
    verdicts = "".join(f"<li{' class=yes' if r['distinguishable'] else ''}>{html.escape(describe_pair(r))}</li>"
                       for _, r in pairs.iterrows()) or "<li>no two configurations share an ordering and seed</li>"
    variance = study.variance()
    parts = [
        f"<!doctype html><html><head><meta charset=utf-8><title>clsweep report</title><style>{_CSS}</style></head>"
        "<body><h1>Continual learning report</h1>",
        fault_html(study.faults, study.runs["config_id"].astype(str)),
        f"<p>{len(study)} runs, {study.runs['config_id'].nunique()} configurations, "
        f"{study.runs['order'].nunique()} orderings, seeds {sorted(study.runs['seed'].unique().tolist())}. Sources: "
        f"{html.escape(', '.join(study.sources))}. Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by clsweep "
        f"{clsweep.__version__}.</p>",
        f"<h2>Chosen on dev, reported on test</h2><p>Configurations are ranked and chosen on the dev split only "
        f"({html.escape(RULE)}): per approach, the configuration with the best mean <code>{study.select_on}</code> "
        f"among its <code>n_configs</code>, then its test numbers (no suffix) with 95% bootstrap CIs over orderings. "
        f"Table in <code>{SELECTED_FILE}</code>.</p>",
        _table(_selected(study.selection())),
        "<h2>Summary per configuration</h2><p>mean ± std over orderings and seeds [95% bootstrap CI of the mean, "
        f"resampling orderings with all their seeds], test split unless marked _dev; best mean {study.select_on} "
        f"first. Full statistics in <code>{SUMMARY_FILE}</code>.</p>",
        _table(_mean_ci(study.summary())),
        "<h2>Paired comparisons</h2><p>Configurations compared on the runs they share (same ordering and seed): "
        "mean difference a − b with a bootstrap CI, the sign test and the Wilcoxon signed-rank test, Holm-adjusted "
        "over the pairs of each metric. <i>Distinguishable</i>: adjusted p &lt; 0.05 and a CI that excludes 0.</p>",
        f"<ul>{verdicts}</ul>",
        "<h2>Order sensitivity</h2><p>AOPD/MOPD: mean/max over tasks of the spread of a task's final score across "
        "orderings (Yoon et al. 2020).</p>", _table(study.disparity()),
    ]
    if not variance.empty:
        parts += ["<p>Shares of the sum of squares: ordering vs seed (balanced grids; residual = interaction).</p>",
                  _table(variance)]
    parts += ["<h3>By position in the order</h3>", _table(study.positions()), "<h2>Figures</h2>",
              *(_img(f) for f in figures), "<h2>Metric definitions</h2><ul>",
              *(f"<li><code>{k}</code>: {html.escape(v)}</li>" for k, v in
                {**DEFINITIONS, "intransigence": INTRANSIGENCE_DEFINITION}.items()),
              f"</ul><p>Splits: {', '.join(SPLITS)}. Forgetting is Chaudhry's max-based definition.</p></body></html>"]
    return "\n".join(parts)

"""What the analysis notebooks call: open a study, pick its tables and figures, show them inline or as paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from clsweep.analysis.aggregate import describe_pair
from clsweep.analysis.plots import PLOTS_DIR
from clsweep.analysis.report import Figure, write_figures
from clsweep.analysis.study import Study, resolve

FORGETTING_FIGURES = ("forgetting", "by_position", "final_scores_", "identity_matrix_", "learning_curves")
COMPARISON_FIGURES = ("acc", "forgetting", "learning_curves", "hp_", "matrix_")


def open_study(results: str | Path, figures: str | Path | None = None) -> tuple[Study, Path]:
    """(the study below `results`, the folder for its figures: `figures`, else <results>/plots)."""
    path = resolve(results)
    study = Study.load(path)
    if not len(study):
        raise FileNotFoundError(f"no finished runs (result.json) below {path}")
    folder = Path(figures) if figures else (path if path.is_dir() else Path(".")) / PLOTS_DIR
    print(f"{len(study)} runs, {study.runs['config_id'].nunique()} configurations, "
          f"{study.runs['order'].nunique()} orderings from {path}; figures go to {folder}")
    return study, folder


def _columns(study: Study, metrics: tuple[str, ...], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    stats = ("mean", "std", "ci_low", "ci_high", "min", "max")
    summary = study.summary()
    cols = ["config_id", "n", *(f"{m}_{s}" for m in metrics for s in stats), *extra]
    return summary[[c for c in cols if c in summary.columns]]


def forgetting_table(study: Study) -> pd.DataFrame:
    """Forgetting and BWT per configuration across orderings and seeds, with the order disparity."""
    return _columns(study, ("forgetting", "bwt"), ("aopd", "mopd"))


def comparison_table(study: Study) -> pd.DataFrame:
    """ACC, forgetting and learning accuracy per configuration, best mean dev ACC first (ranked on dev)."""
    return _columns(study, ("acc_dev", "acc", "forgetting", "learning_accuracy", "intransigence"))


def verdicts(study: Study) -> str:
    """One line per paired comparison, saying whether its difference stands out from noise."""
    pairs = study.paired()
    if pairs.empty:
        return "no two configurations share an ordering and seed: nothing to pair"
    return "\n".join(describe_pair(row) for _, row in pairs.iterrows())


def figures(study: Study, folder: Path, kinds: tuple[str, ...]) -> list[Figure]:
    """Write the study's figures of the given kinds (file-name prefixes) to folder."""
    return write_figures(study, folder, only=kinds)


def show(items: Iterable[Figure | Path]) -> list[Path]:
    """Display each figure's PNG (Jupyter) or print its path (plain Python); the PNG paths."""
    paths = [item.path if isinstance(item, Figure) else Path(item) for item in items]
    show_one = _displayer() or print
    for path in paths:
        show_one(path)
    return paths


def _displayer() -> Callable[[Path], None] | None:
    try:
        from IPython.display import Image, display
    except ImportError:  # plain Python: the paths are enough
        return None
    return lambda path: display(Image(filename=str(path)))

"""Choose on dev, report on test: every ranking, 'best' and selection in the analysis reads dev columns only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from results_factory import write_results  # tests/analysis is on sys.path (no __init__.py)

from clsweep.analysis import Study, console_text, dev_selection, load_runs, summarize
from clsweep.analysis.collect import DERIVED, METRICS
from clsweep.analysis.ordering import family_ordering
from clsweep.analysis.plots import config_order
from clsweep.analysis.trends import median_run

ORDERS = {"o1": ["a", "b", "c"], "o2": ["b", "c", "a"], "o3": ["c", "a", "b"]}
# Every column that holds a test number (no suffix); the _dev twins are what rankings may read.
TEST_COLUMNS = [*METRICS, *DERIVED]


def flat(x: float) -> list[list[float]]:
    """A matrix whose ACC and learning accuracy are x and whose forgetting is 0."""
    return [[x, 0.1, 0.1], [x, x, 0.1], [x, x, x]]


# Mean ACC by configuration: dev and test disagree on every place of the ranking.
DEV = {"ewc lambda=1": 0.65, "ewc lambda=2": 0.85, "finetune": 0.55}  # dev:  lambda=2 > lambda=1 > finetune
TEST = {"ewc lambda=1": 0.80, "ewc lambda=2": 0.60, "finetune": 0.70}  # test: lambda=1 > finetune > lambda=2
SHIFT = {"o1": 0.0, "o2": 0.03, "o3": -0.03}  # orderings differ a little, the same way on both splits
DEV_ORDER = ["ewc lambda=2", "ewc lambda=1", "finetune"]
TEST_ORDER = ["ewc lambda=1", "finetune", "ewc lambda=2"]


def write_disagreeing(root: Path, reverse_test: bool = False) -> Path:
    """3 configurations x 3 orderings x 3 seeds where test ranks the configurations unlike dev.

    reverse_test writes 1 - score as the test matrix: every test ordering reversed, dev unchanged.
    """
    test = {(c, o): flat(1 - (x + SHIFT[o]) if reverse_test else x + SHIFT[o]) for c, x in TEST.items() for o in ORDERS}
    dev = {(c, o): flat(x + SHIFT[o]) for c, x in DEV.items() for o in ORDERS}
    return write_results(root, ORDERS, test, dev=dev, seeds=(0, 1, 2), bump=0.01)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_disagreeing(tmp_path / "sweep")


def test_rankings_follow_dev_when_test_disagrees(root: Path) -> None:
    runs = load_runs(root)
    assert list(summarize(runs)["config_id"]) == DEV_ORDER
    assert Study.load(root).configs() == DEV_ORDER
    assert config_order(runs) == DEV_ORDER  # the order of the configurations in every figure
    # the summary still reports test: the dev-best configuration is not the test-best one
    s = summarize(runs).set_index("config_id")
    assert s.loc["ewc lambda=2", "acc_mean"] == pytest.approx(0.61)  # .60 + the mean seed bump .01
    assert s.loc["ewc lambda=2", "acc_dev_mean"] == pytest.approx(0.86)


def test_dev_selection_picks_on_dev_and_reports_test(root: Path) -> None:
    chosen = dev_selection(load_runs(root)).set_index("approach")
    assert list(chosen.index) == ["ewc", "finetune"]  # best dev score first
    ewc = chosen.loc["ewc"]
    assert (ewc["config_id"], ewc["n_configs"], ewc["selected_on"]) == ("ewc lambda=2", 2, "acc_dev")
    # chosen on dev (.86), so the test number shown is lambda=2's .61, not the test-best lambda=1's .81
    assert ewc["acc_dev_mean"] == pytest.approx(0.86)
    assert ewc["acc_mean"] == pytest.approx(0.61)
    assert (ewc["n"], ewc["n_orders"]) == (9, 3)
    assert chosen.loc["finetune", "config_id"] == "finetune" and chosen.loc["finetune", "n_configs"] == 1
    with pytest.raises(ValueError, match="choose on dev"):
        dev_selection(load_runs(root), metric="acc")
    with pytest.raises(ValueError, match="choose on dev"):
        summarize(load_runs(root), rank_by="acc")


def test_the_printed_report_names_the_dev_choice_and_its_test_numbers(root: Path) -> None:
    text = console_text(Study.load(root))
    assert "choose on dev, report on test" in text
    ewc_line = next(line for line in text.splitlines() if line.startswith("  ewc: "))
    assert ewc_line.startswith("  ewc: ewc lambda=2 (best of 2 on acc_dev 0.8600); test: ACC 0.6100 [")
    table = text.splitlines()[:5]
    assert [line.split()[0] for line in table[2:]] == ["ewc", "ewc", "finetune"]
    assert table[2].split()[1] == "lambda=2"


def test_median_run_is_picked_on_dev() -> None:
    runs = pd.DataFrame({"config_id": ["c"] * 5, "path": [f"r{i}" for i in range(5)],
                         "acc_dev": [0.1, 0.2, 0.3, 0.4, 0.5], "acc": [0.5, 0.4, 0.1, 0.2, 0.3]})
    assert median_run(runs, "c") == "r2"  # dev median .3; on test the median .3 is run r4
    assert median_run(runs.assign(acc=np.nan), "c") == "r2"


def _rankings(study: Study) -> dict[str, object]:
    """Everything the analysis ranks, picks or calls best, for one study."""
    selection = study.selection()
    family = family_ordering(study.runs[study.runs["config_id"].isin(selection["config_id"])])
    return {
        "configs": study.configs(),
        "figure order": config_order(study.runs),
        "selected": selection[["approach", "config_id"]].to_dict("records"),
        "median runs": {c: Path(median_run(study.runs, c)).parent.name for c in study.configs()},
        "family": None if family is None else list(family.means),
    }


def _poisoned(study: Study, how: str) -> Study:
    runs = study.runs.copy()
    for column in TEST_COLUMNS:
        values = pd.to_numeric(runs[column], errors="coerce")
        runs[column] = {"nan": np.nan * values, "negated": -values, "reversed": values.to_numpy()[::-1]}[how]
    return Study(sources=study.sources, results=study.results, runs=runs, tasks=study.tasks, cells=study.cells)


@pytest.mark.parametrize("how", ["nan", "negated", "reversed"])
def test_poisoned_test_columns_change_no_ranking(root: Path, how: str) -> None:
    study = Study.load(root)
    before = _rankings(study)
    assert before["configs"] == DEV_ORDER
    assert _rankings(_poisoned(study, how)) == before


def test_reversed_test_matrices_on_disk_change_no_ranking(tmp_path: Path) -> None:
    plain = Study.load(write_disagreeing(tmp_path / "plain"))
    flipped = Study.load(write_disagreeing(tmp_path / "flipped", reverse_test=True))
    by_test = {name: list(s.summary().sort_values("acc_mean")["config_id"]) for name, s in
               (("plain", plain), ("flipped", flipped))}
    assert by_test["flipped"] == by_test["plain"][::-1]  # the test ranking did flip
    assert _rankings(flipped) == _rankings(plain)
    # the same dev choice, reported with its own (flipped) test numbers: 1 - .60 + the mean seed bump .01
    assert flipped.selection().set_index("approach").loc["ewc", "acc_mean"] == pytest.approx(0.41)


def test_family_check_compares_dev_selected_configurations(tmp_path: Path) -> None:
    # replay's dev-best configuration is its test-worst: the check must report that one, not the test-best
    test = {("joint", "o1"): flat(0.9), ("replay big", "o1"): flat(0.85), ("replay small", "o1"): flat(0.4),
            ("finetune", "o1"): flat(0.5)}
    dev = {("joint", "o1"): flat(0.9), ("replay big", "o1"): flat(0.6), ("replay small", "o1"): flat(0.8),
           ("finetune", "o1"): flat(0.5)}
    study = Study.load(write_results(tmp_path / "s", ORDERS, test, dev=dev, seeds=(0,)))
    assert study.selection().set_index("approach").loc["replay", "config_id"] == "replay small"
    text = console_text(study)
    assert "does NOT hold (replay < finetune)" in text and "replay 0.4000" in text


# Two EWC configurations on dev: lambda=1 the higher ACC (.633) but forgetting .40; lambda=2 ACC .600, forgetting .05.
FORGETFUL = [[0.9, 0.1, 0.1], [0.5, 0.9, 0.1], [0.5, 0.5, 0.9]]
STEADY = [[0.7, 0.1, 0.1], [0.7, 0.6, 0.1], [0.6, 0.6, 0.6]]


def test_selecting_on_forgetting_chooses_the_least_forgetting_configuration(tmp_path: Path) -> None:
    dev = {("ewc lambda=1", o): FORGETFUL for o in ORDERS} | {("ewc lambda=2", o): STEADY for o in ORDERS}
    test = {key: flat(0.5) for key in dev}  # test cannot tell them apart, and is never read to choose
    root = write_results(tmp_path / "sweep", ORDERS, test, dev=dev, seeds=(0,), bump=0.0)
    by_acc = Study.load(root).selection().set_index("approach").loc["ewc"]
    assert (by_acc["config_id"], by_acc["selected_on"]) == ("ewc lambda=1", "acc_dev")
    study = Study.load(root, select_on="forgetting_dev")
    chosen = study.selection().set_index("approach").loc["ewc"]
    assert (chosen["config_id"], chosen["selected_on"]) == ("ewc lambda=2", "forgetting_dev")
    assert chosen["forgetting_dev_mean"] == pytest.approx(0.05)
    assert study.configs() == ["ewc lambda=2", "ewc lambda=1"]  # least forgetting first
    assert config_order(study.runs, "forgetting_dev") == study.configs()  # and so are the figures
    assert config_order(study.runs) == ["ewc lambda=1", "ewc lambda=2"]
    assert "the configuration with the best mean forgetting_dev" in console_text(study)
    for wrong in ("forgetting", "acc_devv"):
        with pytest.raises(ValueError, match=r"choose on dev|cannot select on"):
            Study.load(root, select_on=wrong)


def test_clsweep_analyze_selects_on_the_column_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from clsweep.cli import main

    dev = {("ewc lambda=1", o): FORGETFUL for o in ORDERS} | {("ewc lambda=2", o): STEADY for o in ORDERS}
    root = write_results(tmp_path / "sweep", ORDERS, {k: flat(0.5) for k in dev}, dev=dev, seeds=(0,), bump=0.0)
    assert main(["analyze", str(root), "--select-on", "forgetting_dev"]) == 0
    selected = pd.read_csv(root / "selected.csv")
    assert selected[["config_id", "selected_on"]].values.tolist() == [["ewc lambda=2", "forgetting_dev"]]
    assert "ewc: ewc lambda=2 (best of 2 on forgetting_dev 0.0500)" in capsys.readouterr().out
    assert main(["analyze", str(root), "--select-on", "forgetting"]) == 2  # a test column: refused
    assert capsys.readouterr().err.startswith("error: --select-on: rank and select on a dev metric")


def test_every_search_metric_a_sweep_accepts_names_a_selectable_dev_column() -> None:
    """search.metric is validated against DEV_METRICS and selected on through SEARCH_METRIC_COLUMNS: a metric
    added to one and not the other would end a sweep with no selection."""
    from clsweep.analysis.aggregate import SEARCH_METRIC_COLUMNS, SELECTABLE
    from clsweep.search_config import DEV_METRICS

    assert set(SEARCH_METRIC_COLUMNS) == set(DEV_METRICS)
    assert all(col in SELECTABLE and col.endswith("_dev") for col in SEARCH_METRIC_COLUMNS.values())

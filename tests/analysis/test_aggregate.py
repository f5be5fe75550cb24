"""Tests for clsweep.analysis.aggregate: per-config statistics, order disparity, text and CSV summaries."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from results_factory import write_sweep  # tests/analysis is on sys.path (no __init__.py)

from clsweep.analysis import (
    describe_pair,
    format_table,
    load_runs,
    load_task_scores,
    order_disparity_table,
    paired_table,
    position_table,
    summarize,
    variance_table,
    write_summary,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_sweep(tmp_path / "sweep")
    return tmp_path / "sweep"


def test_summarize_hand_computed(root: Path) -> None:
    s = summarize(load_runs(root))
    assert list(s["config_id"]) == ["ewc", "ft"]  # best acc_dev_mean first (the factory's dev equals test)
    assert list(s["n"]) == [6, 6] and list(s["n_orders"]) == [3, 3]
    ft = s.set_index("config_id").loc["ft"]
    # ft acc per run: .60 .62 .70 .72 .50 .52 -> mean .61, squared deviations sum to .0406
    std = math.sqrt(0.0406 / 5)
    assert ft["acc_mean"] == pytest.approx(0.61)
    assert ft["acc_std"] == pytest.approx(std)
    # two seeds per ordering: sem and the t interval are over the 3 ordering means .61 .71 .51 (sd .1, df 2)
    assert ft["acc_ci95"] == pytest.approx(4.3027 * 0.1 / math.sqrt(3), rel=1e-4)
    assert (ft["acc_min"], ft["acc_max"]) == pytest.approx((0.5, 0.72))
    assert ft["bwt_mean"] == pytest.approx(-0.4)
    assert ft["bwt_std"] == pytest.approx(math.sqrt(4 * 0.15**2 / 5))  # two runs each at -.4, -.25, -.55
    assert ft["forgetting_mean"] == pytest.approx(0.4)
    ewc = s.set_index("config_id").loc["ewc"]
    assert ewc["acc_mean"] == pytest.approx(0.81)
    assert ewc["acc_std"] == pytest.approx(math.sqrt(6 * 0.01**2 / 5))
    assert ewc["forgetting_mean"] == pytest.approx(0.7 / 6)
    assert ft["acc_sem"] == pytest.approx(0.1 / math.sqrt(3))
    # the bootstrap resamples orderings, both seeds of a drawn ordering together: numpy, the same RNG draws
    draws = np.random.default_rng(0).integers(0, 3, size=(10_000, 3))
    expected = np.quantile(np.array([0.61, 0.71, 0.51])[draws].mean(axis=1), [0.025, 0.975])
    assert (ft["acc_ci_low"], ft["acc_ci_high"]) == pytest.approx(tuple(expected))
    # learning accuracy: ft diagonals .9 .8 .9 (o1), .8 .9 .9 (o2), .9 .9 .8 (o3), +.01 for the seed average
    assert ft["learning_accuracy_mean"] == pytest.approx((2.6 + 2.6 + 2.6) / 9 + 0.01)
    # fwt with b = .1: ft o1 (R[1][2] - b, R[2][3] - b) = (0, 0); o2 (.1, 0); o3 (0, .1); seed 1 adds .02 to R only
    assert ft["fwt_mean"] == pytest.approx((0 + 0.05 + 0.05) / 3 + 0.01)
    assert ft["acc_dev_mean"] == pytest.approx(ft["acc_mean"])  # the factory writes the same matrix for dev
    for m in ("acc", "bwt", "fwt", "forgetting", "learning_accuracy", "acc_dev", "forgetting_dev"):
        for stat in ("mean", "std", "sem", "ci95", "ci_low", "ci_high", "min", "max"):
            assert f"{m}_{stat}" in s.columns


def test_summarize_single_run_has_nan_spread(root: Path) -> None:
    s = summarize(load_runs(root), by=("config_id", "order_id", "seed"))
    assert len(s) == 12 and set(s["n"]) == {1}
    assert s["acc_std"].isna().all() and s["acc_ci95"].isna().all() and s["acc_ci_low"].isna().all()
    assert s["acc_mean"].iloc[0] == pytest.approx(0.82)  # an ewc run with seed 1
    with pytest.raises(ValueError, match="no column"):
        summarize(load_runs(root), metrics=("nope",))


def test_order_disparity_hand_computed(root: Path) -> None:
    table = order_disparity_table(load_task_scores(root)).set_index("config_id")
    # ft finals by order: a .3/.9/.5, b .6/.4/.8, c .9/.9/.2 -> OPD a .6, b .4, c .7
    assert table.loc["ft", "n_orders"] == 3
    assert table.loc["ft", "aopd"] == pytest.approx((0.6 + 0.4 + 0.7) / 3)
    assert table.loc["ft", "mopd"] == pytest.approx(0.7)
    # ewc finals: a .8/.9/.9, b .7/.7/.9, c .9/.8/.6 -> OPD a .1, b .2, c .3
    assert table.loc["ewc", "aopd"] == pytest.approx(0.2)
    assert table.loc["ewc", "mopd"] == pytest.approx(0.3)


def test_format_table_lines(root: Path) -> None:
    text = format_table(summarize(load_runs(root)))
    lines = text.splitlines()
    assert lines[0].split() == ["config_id", "n", "acc_dev", "acc", "bwt", "forgetting"]  # ranked on acc_dev
    assert lines[2].split()[:3] == ["ewc", "6", "0.8100±0.0110"]
    assert lines[3].split()[:3] == ["ft", "6", "0.6100±0.0901"]
    assert len({len(line) for line in lines[1:]}) == 1  # fixed width
    assert format_table(summarize(load_runs(root / "missing"))) == "(no runs)"


def test_write_summary_round_trip(root: Path, tmp_path: Path) -> None:
    s = summarize(load_runs(root))
    out = tmp_path / "out" / "summary.csv"
    write_summary(s, out)
    back = pd.read_csv(out)
    assert list(back.columns) == list(s.columns)
    pd.testing.assert_frame_equal(back, s, check_dtype=False)


def test_sweep_summary_writes_csv_with_order_disparity(root: Path) -> None:
    from clsweep.analysis import sweep_summary

    summary, text = sweep_summary(root)
    saved = pd.read_csv(root / "summary.csv")
    assert list(saved["config_id"]) == ["ewc", "ft"]
    opd = order_disparity_table(load_task_scores(root)).set_index("config_id")
    assert saved.set_index("config_id")["aopd"].to_dict() == pytest.approx(opd["aopd"].to_dict())
    assert "order disparity" in text and "12 run(s)" in text
    assert list(summary.columns) == list(saved.columns)


def test_position_table_hand_computed(root: Path) -> None:
    table = position_table(load_task_scores(root)).set_index(["config_id", "position"])
    # ft first tasks end at .3 (o1), .4 (o2), .2 (o3), seed 1 adds .02: mean .31
    assert table.loc[("ft", 1), "final_mean"] == pytest.approx(0.31)
    assert table.loc[("ft", 1), "n"] == 6
    # forgetting of the first task: .9 - .3, .8 - .4, .9 - .2 (the seed shift cancels)
    assert table.loc[("ft", 1), "forgetting_mean"] == pytest.approx((0.6 + 0.4 + 0.7) / 3)
    assert math.isnan(table.loc[("ft", 3), "forgetting_mean"])  # the last task cannot forget


def test_variance_table_hand_computed(root: Path) -> None:
    table = variance_table(load_runs(root)).set_index(["config_id", "metric"])
    ft = table.loc[("ft", "acc")]
    # ft acc .60 .62 .70 .72 .50 .52: total SS .0406; orderings .61 .71 .51 -> SS .04; seeds .60 .62 -> .0006
    assert (ft["n_orders"], ft["n_seeds"]) == (3, 2)
    assert ft["order_share"] == pytest.approx(0.04 / 0.0406)
    assert ft["seed_share"] == pytest.approx(0.0006 / 0.0406)
    assert ft["residual_share"] == pytest.approx(0.0, abs=1e-9)  # the seed shift is additive
    one_seed = load_runs(root).query("seed == 0")
    assert variance_table(one_seed).empty  # only orderings vary: nothing to split


def test_paired_table_on_shared_orderings_and_seeds(root: Path) -> None:
    runs = load_runs(root)
    table = paired_table(runs).set_index("metric")
    acc = table.loc["acc"]
    assert (acc["a"], acc["b"], acc["n"]) == ("ewc", "ft", 6)
    # ewc - ft by (order, seed): .2 .2 .1 .1 .3 .3 -> mean .2, ewc higher in all six
    assert acc["mean_diff"] == pytest.approx(0.2)
    assert (acc["a_higher"], acc["a_lower"], acc["ties"]) == (6, 0, 0)
    assert acc["sign_p"] == pytest.approx(2 / 64)
    assert acc["wilcoxon_p"] == pytest.approx(2 / 64)  # all six signs positive: the most extreme of 64 patterns
    assert acc["p_holm"] == pytest.approx(2 / 64) and bool(acc["distinguishable"])
    forgetting = table.loc["forgetting"]
    assert forgetting["mean_diff"] == pytest.approx(0.7 / 6 - 0.4)
    # runs of one config alone, or on orderings the other never ran, are not paired
    shifted = runs.assign(order=runs["order"].where(runs["config_id"] == "ft", "x>y>z"))
    assert paired_table(shifted).empty


def test_paired_table_holm_over_three_configs(root: Path) -> None:
    runs = load_runs(root)
    third = runs[runs["config_id"] == "ft"].assign(config_id="ft2", acc=lambda d: d["acc"] + 0.001)
    table = paired_table(pd.concat([runs, third]), metrics=("acc",))
    assert [(r.a, r.b) for r in table.itertuples()] == [("ewc", "ft"), ("ewc", "ft2"), ("ft", "ft2")]
    raw = table["wilcoxon_p"].tolist()
    assert table["p_holm"].tolist() == pytest.approx([3 * raw[0], 3 * raw[0], 3 * raw[0]])
    assert not table["distinguishable"].any()  # 6 pairs cannot survive a threefold correction
    # ewc beats ft in all 6 pairs (the most extreme outcome): the verdict is "cannot tell", not "noise"
    assert table["min_p_holm"].tolist() == pytest.approx([3 * 2 / 64] * 3)
    sentence = describe_pair(table.iloc[0])
    assert sentence.endswith("too few pairs to tell after Holm (the smallest attainable adjusted p is 0.0938: "
                             "more orderings or seeds, or fewer comparisons)")
    assert "not distinguishable" not in sentence


def _numpy_bootstrap(values: list[float]) -> tuple[float, float]:
    draws = np.random.default_rng(0).integers(0, len(values), size=(10_000, len(values)))
    low, high = np.quantile(np.asarray(values)[draws].mean(axis=1), [0.025, 0.975])
    return float(low), float(high)


def test_paired_table_ci_resamples_orderings(root: Path) -> None:
    table = paired_table(load_runs(root))
    acc = table[table["metric"] == "acc"].iloc[0]
    # ewc - ft: o1 (a>b>c) .2 .2, o2 (b>c>a) .1 .1, o3 (c>a>b) .3 .3: the CI of the 3 ordering means
    assert (acc["n"], acc["n_orders"]) == (6, 3)
    assert (acc["ci_low"], acc["ci_high"]) == pytest.approx(_numpy_bootstrap([0.2, 0.1, 0.3]))
    assert "95% CI over 3 ordering(s)" in describe_pair(acc)


def test_more_seeds_of_the_same_orderings_do_not_narrow_summary_intervals(root: Path) -> None:
    runs = load_runs(root)
    again = runs.assign(seed=runs["seed"] + 10, path=runs["path"] + "-again")  # every run repeated, new seeds
    once, twice = (summarize(r).set_index("config_id") for r in (runs, pd.concat([runs, again])))
    assert list(twice["n"]) == [12, 12] and list(twice["n_orders"]) == [3, 3]
    for column in ("acc_ci_low", "acc_ci_high", "acc_ci95", "acc_sem", "forgetting_ci_low", "forgetting_ci_high"):
        assert twice[column].tolist() == pytest.approx(once[column].tolist()), column
    # one ordering: its seeds are all the replication there is, so the interval is over them
    one = summarize(runs[runs["order_id"] == "o1"]).set_index("config_id").loc["ft"]
    assert one["n_orders"] == 1 and (one["acc_ci_low"], one["acc_ci_high"]) == pytest.approx(
        _numpy_bootstrap([0.6, 0.62]))

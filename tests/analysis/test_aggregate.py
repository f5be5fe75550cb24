"""Tests for clsweep.analysis.aggregate: per-config statistics, order disparity, text and CSV summaries."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from results_factory import write_results  # tests/analysis is on sys.path (no __init__.py)

from clsweep.analysis import (
    format_table,
    load_runs,
    load_task_scores,
    order_disparity_table,
    summarize,
    t_critical,
    write_summary,
)

ORDERS = {"o1": ["a", "b", "c"], "o2": ["b", "c", "a"], "o3": ["c", "a", "b"]}
# Seed-0 test matrices in training order; seed 1 adds 0.02 to every score.
MATRICES = {
    ("ft", "o1"): [[0.9, 0.1, 0.2], [0.6, 0.8, 0.1], [0.3, 0.6, 0.9]],  # acc .6, bwt -.4, F .4
    ("ft", "o2"): [[0.8, 0.2, 0.1], [0.5, 0.9, 0.1], [0.4, 0.8, 0.9]],  # acc .7, bwt -.25, F .25
    ("ft", "o3"): [[0.9, 0.1, 0.1], [0.3, 0.9, 0.2], [0.2, 0.5, 0.8]],  # acc .5, bwt -.55, F .55
    ("ewc", "o1"): [[0.9, 0.1, 0.1], [0.8, 0.8, 0.1], [0.8, 0.7, 0.9]],  # acc .8, bwt -.1, F .1
    ("ewc", "o2"): [[0.8, 0.1, 0.1], [0.8, 0.9, 0.1], [0.7, 0.8, 0.9]],  # acc .8, bwt -.1, F .1
    ("ewc", "o3"): [[0.9, 0.1, 0.1], [0.9, 0.9, 0.1], [0.6, 0.9, 0.9]],  # acc .8, bwt -.15, F .15
}


def write_sweep(root: Path) -> Path:
    return write_results(root, ORDERS, MATRICES)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_sweep(tmp_path / "sweep")
    return tmp_path / "sweep"


def test_t_critical_matches_table() -> None:
    table = {1: 12.7062, 2: 4.3027, 3: 3.1824, 5: 2.5706, 10: 2.2281, 30: 2.0423, 120: 1.9799}
    for df, t in table.items():
        assert t_critical(df) == pytest.approx(t, abs=1e-4)
    with pytest.raises(ValueError):
        t_critical(0)


def test_summarize_hand_computed(root: Path) -> None:
    s = summarize(load_runs(root))
    assert list(s["config_id"]) == ["ewc", "ft"]  # best acc_mean first
    assert list(s["n"]) == [6, 6]
    ft = s.set_index("config_id").loc["ft"]
    # ft acc per run: .60 .62 .70 .72 .50 .52 -> mean .61, squared deviations sum to .0406
    std = math.sqrt(0.0406 / 5)
    assert ft["acc_mean"] == pytest.approx(0.61)
    assert ft["acc_std"] == pytest.approx(std)
    assert ft["acc_ci95"] == pytest.approx(2.5706 * std / math.sqrt(6), rel=1e-4)
    assert (ft["acc_min"], ft["acc_max"]) == pytest.approx((0.5, 0.72))
    assert ft["bwt_mean"] == pytest.approx(-0.4)
    assert ft["bwt_std"] == pytest.approx(math.sqrt(4 * 0.15**2 / 5))  # two runs each at -.4, -.25, -.55
    assert ft["forgetting_mean"] == pytest.approx(0.4)
    ewc = s.set_index("config_id").loc["ewc"]
    assert ewc["acc_mean"] == pytest.approx(0.81)
    assert ewc["acc_std"] == pytest.approx(math.sqrt(6 * 0.01**2 / 5))
    assert ewc["forgetting_mean"] == pytest.approx(0.7 / 6)
    for col in ("acc_mean", "acc_std", "acc_ci95", "bwt_ci95", "forgetting_std", "acc_min", "acc_max", "n"):
        assert col in s.columns


def test_summarize_single_run_has_nan_spread(root: Path) -> None:
    s = summarize(load_runs(root), by=("config_id", "order_id", "seed"))
    assert len(s) == 12 and set(s["n"]) == {1}
    assert s["acc_std"].isna().all() and s["acc_ci95"].isna().all()
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
    assert lines[0].split() == ["config_id", "n", "acc", "bwt", "forgetting"]
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

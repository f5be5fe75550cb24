"""Tests for clsweep.analysis.plots: tables behind the plots, valid PNG + SVG files, no mutated inputs."""

from __future__ import annotations

import copy
import struct
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from results_factory import make_result as factory_result
from results_factory import write_results  # tests/analysis is on sys.path (no __init__.py)

from clsweep.analysis import (
    final_scores_table,
    load_runs,
    load_task_scores,
    plot_final_scores,
    plot_forgetting,
    plot_matrix,
)
from clsweep.cli import _plot_run

EWC = "ewc lambda=500"  # a space and '=': the file name must be made safe
ORDERS = {"o1": ["a", "b", "c"], "o2": ["c", "a", "b"], "o3": ["b", "c", "a"]}
# Seed-0 test matrices in training order; seed 1 adds 0.04 to every score, so seed means are seed 0 + 0.02.
MATRICES = {
    ("ft", "o1"): [[0.9, 0.1, 0.1], [0.5, 0.8, 0.1], [0.3, 0.6, 0.9]],  # final a .3, b .6, c .9
    ("ft", "o2"): [[0.8, 0.1, 0.1], [0.4, 0.9, 0.2], [0.2, 0.5, 0.7]],  # final c .2, a .5, b .7
    ("ft", "o3"): [[0.9, 0.2, 0.1], [0.6, 0.8, 0.1], [0.4, 0.3, 0.9]],  # final b .4, c .3, a .9
    (EWC, "o1"): [[0.9, 0.1, 0.1], [0.8, 0.8, 0.1], [0.7, 0.7, 0.9]],  # final a .7, b .7, c .9
    (EWC, "o2"): [[0.8, 0.1, 0.1], [0.7, 0.9, 0.1], [0.6, 0.8, 0.8]],  # final c .6, a .8, b .8
    (EWC, "o3"): [[0.9, 0.1, 0.1], [0.8, 0.9, 0.1], [0.8, 0.8, 0.9]],  # final b .8, c .8, a .9
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_result(config: str, order_id: str, seed: int, sweep: bool = True) -> dict[str, Any]:
    return factory_result(ORDERS[order_id], MATRICES[config, order_id], seed, config, order_id, 0.04, sweep)


def write_runs(root: Path, orders: tuple[str, ...] = ("o1", "o2", "o3"), sweep: bool = True,
               configs: tuple[str, ...] = ("ft", EWC)) -> Path:
    chosen = {(c, o): MATRICES[c, o] for c in configs for o in orders}
    return write_results(root, ORDERS, chosen, bump=0.04, sweep=sweep)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_runs(tmp_path / "sweep")


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk always comes first
    assert 200 <= width <= 4000 and 150 <= height <= 4000, (width, height)
    assert 2_000 < len(data) < 2_000_000
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left behind
    svg = path.with_suffix(".svg").read_text(encoding="utf-8")  # the vector twin, for papers
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


# ------------------------------------------------------------------------------------------- tables


def test_final_scores_table_by_task_name(root: Path) -> None:
    table = final_scores_table(load_task_scores(root), "ft")
    expected = pd.DataFrame(
        {"a": [0.32, 0.52, 0.92], "b": [0.62, 0.72, 0.42], "c": [0.92, 0.22, 0.32]},
        index=pd.Index(["a>b>c", "c>a>b", "b>c>a"], name="order"),  # rows in order_id order
    )
    expected.columns.name = "task"
    pd.testing.assert_frame_equal(table, expected)
    assert final_scores_table(load_task_scores(root), EWC).loc["b>c>a"].tolist() == pytest.approx([0.92, 0.82, 0.82])
    with pytest.raises(ValueError, match="no task scores"):
        final_scores_table(load_task_scores(root), "nope")


def test_train_runs_are_told_apart_by_order(tmp_path: Path) -> None:
    """`clsweep train` runs all carry order_id 'given'; their orderings must still not be averaged together."""
    folder = write_runs(tmp_path / "train", orders=("o1", "o2"), sweep=False, configs=("ft",))
    table = final_scores_table(load_task_scores(folder), "ft")
    assert list(table.index) == ["a>b>c", "c>a>b"]
    assert table.loc["c>a>b", "c"] == pytest.approx(0.22)
    assert_png(plot_final_scores(load_task_scores(folder), "ft", tmp_path / "final.png"))


# ------------------------------------------------------------------------------------------- single plots


def test_plot_matrix_writes_png_and_leaves_result_alone(tmp_path: Path) -> None:
    result = make_result("ft", "o2", 1)
    before = copy.deepcopy(result)
    out = plot_matrix(result, tmp_path / "run" / "matrix.png")
    assert out == tmp_path / "run" / "matrix.png"
    assert_png(out)
    assert result == before
    del result["initial"], result["primary_metric"], result["metrics"]  # older or hand-made results
    assert_png(plot_matrix(result, tmp_path / "bare.png"))


def test_plot_matrix_rejects_a_wrong_shape(tmp_path: Path) -> None:
    result = make_result("ft", "o1", 0)
    result["matrix"] = result["matrix"][:2]
    with pytest.raises(ValueError, match="3 x 3"):
        plot_matrix(result, tmp_path / "m.png")
    assert not list(tmp_path.iterdir())


def test_plot_forgetting_and_acc_leave_runs_alone(root: Path, tmp_path: Path) -> None:
    runs = load_runs(root)
    before = runs.copy(deep=True)
    for metric in ("forgetting", "bwt_dev"):
        assert_png(plot_forgetting(runs, tmp_path / f"{metric}.png", metric=metric))
    pd.testing.assert_frame_equal(runs, before)
    with pytest.raises(ValueError, match="no column"):
        plot_forgetting(runs, tmp_path / "x.png", metric="nope")


def test_plot_forgetting_with_undefined_values(root: Path, tmp_path: Path) -> None:
    runs = load_runs(root)
    runs.loc[runs["config_id"] == "ft", "forgetting"] = float("nan")  # one-task runs have no forgetting
    assert_png(plot_forgetting(runs, tmp_path / "f.png"))


def test_plot_final_scores(root: Path, tmp_path: Path) -> None:
    tasks = load_task_scores(root)
    before = tasks.copy(deep=True)
    assert_png(plot_final_scores(tasks, EWC, tmp_path / "final.png"))
    pd.testing.assert_frame_equal(tasks, before)


# ------------------------------------------------------------------------------------------- command line


def test_train_plot_hook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _plot_run(make_result("ft", "o1", 0), tmp_path)
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'matrix.png'}"
    assert_png(tmp_path / "matrix.png")
    _plot_run({"order": ["a"], "matrix": [[0.1, 0.2]]}, tmp_path / "bad")  # warns, never fails a finished run
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("warning: no matrix plot: ValueError")

"""Tests for the study, its trend plots, the written report and `clsweep analyze`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from results_factory import write_sweep  # tests/analysis is on sys.path (no __init__.py)

from clsweep.analysis import Study, analyze, identity_matrix, learning_curves, load_runs, plot_hyperparameter
from clsweep.analysis import report as report_module
from clsweep.cli import main

FIGURES = ["forgetting.png", "acc.png", "learning_curves.png", "by_position.png",
           "identity_matrix_ewc.png", "matrix_ewc.png", "final_scores_ewc.png",
           "identity_matrix_ft.png", "matrix_ft.png", "final_scores_ft.png"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_sweep(tmp_path / "sweep")


def test_identity_matrix_aligns_orderings_by_task_name(root: Path) -> None:
    table = identity_matrix(Study.load(root).cells, "ewc")
    assert list(table.index) == ["a", "b", "c"] and list(table.columns) == ["a", "b", "c"]
    # a is learned 1st in o1 (R[0][0] .9), 3rd in o2 (R[2][2] .9), 2nd in o3 (R[1][1] .9); seed 1 adds .02
    assert table.loc["a", "a"] == pytest.approx(0.91)
    # right after a, task b scores .1 (o1: not yet seen), .7 (o2: learned first), .1 (o3: next)
    assert table.loc["a", "b"] == pytest.approx((0.1 + 0.7 + 0.1) / 3 + 0.01)
    with pytest.raises(ValueError, match="no scores"):
        identity_matrix(Study.load(root).cells, "nope")


def test_learning_curves_hand_computed(root: Path) -> None:
    curves = learning_curves(Study.load(root).cells).set_index(["config_id", "k"])
    # ft: A_1 is the first diagonal, .9 .8 .9; A_3 is ACC, .6 .7 .5; seed 1 adds .02
    assert curves.loc[("ft", 1), "mean"] == pytest.approx(2.6 / 3 + 0.01)
    assert curves.loc[("ft", 3), "mean"] == pytest.approx(0.61)
    # A_2 = mean of R[2][1], R[2][2]: o1 (.6 + .8)/2, o2 (.5 + .9)/2, o3 (.3 + .9)/2
    assert curves.loc[("ft", 2), "mean"] == pytest.approx((0.7 + 0.7 + 0.6) / 3 + 0.01)
    assert curves.loc[("ft", 2), "n"] == 6 and curves.loc[("ft", 2), "ci95"] > 0
    # the band is over orderings (two seeds each): A_3 = ACC, ordering means .61 .71 .51, sd .1, df 2
    assert curves.loc[("ft", 3), "ci95"] == pytest.approx(4.3027 * 0.1 / 3**0.5, rel=1e-4)


def test_study_summary_carries_order_disparity(root: Path) -> None:
    study = Study.load(root)
    assert len(study) == 12 and study.configs() == ["ewc", "ft"]
    s = study.summary().set_index("config_id")
    assert s.loc["ft", "aopd"] == pytest.approx((0.6 + 0.4 + 0.7) / 3)  # a .3/.9/.5, b .6/.4/.8, c .9/.9/.2
    one = Study.load(*sorted(root.glob("*-o1-*")))
    assert one.summary()["aopd"].isna().all()  # one ordering: no disparity to speak of


def test_analyze_writes_tables_figures_and_a_self_contained_report(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    study, text = analyze([root], out)
    assert len(study) == 12
    for name in ("summary.csv", "tasks.csv", "positions.csv", "paired.csv", "variance.csv", "order_disparity.csv"):
        assert (out / name).is_file(), name
    assert len(pd.read_csv(out / "tasks.csv")) == 36
    assert sorted(p.name for p in (out / "plots").glob("*.png")) == sorted(FIGURES)
    assert sorted(p.name for p in (out / "plots").glob("*.svg")) == sorted(f.replace(".png", ".svg") for f in FIGURES)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(FIGURES)
    assert not re.findall(r'src="(?!data:)', html)  # nothing to fetch: it can be mailed as is
    assert "<li class=yes>acc: ewc - ft = +0.2000" in html  # the verdict, highlighted
    assert "Chaudhry" in html and "AOPD" in html
    assert text.splitlines()[0].split() == ["config_id", "n", "acc_dev", "acc", "bwt", "forgetting"]
    assert "paired comparisons" in text and "12 run(s)" in text


def test_a_failing_figure_leaves_the_rest(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(report_module, "plot_learning_curves", broken)
    warnings: list[str] = []
    analyze([root], tmp_path / "out", warn=warnings.append)
    assert warnings == ["figure learning_curves.png not written: OSError: disk full"]
    assert (tmp_path / "out" / "report.html").is_file() and (tmp_path / "out" / "plots" / "acc.png").is_file()


def test_sweep_summary_never_raises(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "write_tables", lambda *a: (_ for _ in ()).throw(OSError("read-only")))
    summary, text = report_module.sweep_summary(root)
    assert summary.empty and text.startswith("analysis failed: OSError: read-only")


@pytest.mark.parametrize("values", [[1.0, 10.0, 100.0, 1000.0], ["mean", "sum", "mean", "sum"]])
def test_hyperparameter_plot(tmp_path: Path, values: list[Any]) -> None:
    runs = pd.DataFrame({"approach": ["ewc"] * 4, "acc": [0.5, 0.6, 0.7, 0.65], "forgetting": [0.3, 0.2, 0.1, 0.1],
                         "approach.ewc.lambda": values})
    path = plot_hyperparameter(runs, "approach.ewc.lambda", tmp_path / "hp.png")
    assert path.stat().st_size > 2000 and path.with_suffix(".svg").is_file()


def test_cli_analyze_two_sweeps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_sweep(tmp_path / "a")
    write_sweep(tmp_path / "b")
    (tmp_path / "b" / "broken").mkdir()
    (tmp_path / "b" / "broken" / "result.json").write_text("{not json")
    assert main(["analyze", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "both")]) == 0
    out, err = capsys.readouterr()
    assert "24 run(s)" in out and (tmp_path / "both" / "report.html").is_file()
    assert err.startswith("warning: skipping unreadable result") and "Traceback" not in err
    assert len(load_runs(tmp_path / "a")) == 12  # the report folder holds no result.json of its own


def test_cli_analyze_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["analyze", str(tmp_path / "empty")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == f"error: {tmp_path / 'empty'}: no finished runs (no readable result.json)"
    assert not (tmp_path / "empty" / "plots").exists()
    assert main(["analyze", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'missing'}: no such folder or file"
    assert main(["analyze", str(tmp_path / "empty"), str(tmp_path / "empty")]) == 2
    assert "--out" in capsys.readouterr().err

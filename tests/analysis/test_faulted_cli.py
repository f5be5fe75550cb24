"""Faulted runs where results are read: `clsweep analyze` lists them (reason, task, phase) in its output, report.html
and faults.csv, and counts them per configuration in summary.csv; plots/ keeps only this analysis's figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from clsweep.cli import main

SRC = {"kind": "synthetic", "train_size": 32, "dev_size": 8, "test_size": 8}  # two steps of 16


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two `clsweep train` runs of finetune into runs/: one finishes, one (another order, a huge lr on 'sentiment')
    diverges in its second task."""
    root = tmp_path_factory.mktemp("faulted")
    exp = root / "exp.yaml"
    exp.write_text(yaml.safe_dump({
        "tasklist": {"tasks": {"topic": {"source": {**SRC, "task": "topic"}},
                               "sentiment": {"source": {**SRC, "task": "sentiment"}}}},
        "model": {"backbone": "tiny", "max_length": 32, "tiny": {"hidden_size": 32, "intermediate_size": 64}},
        "train": {"epochs": 1, "batch_size": 16, "device": "cpu", "log_every": 1},
        "run": {"cache_dir": str(root / "cache"), "tensorboard": False},
        "observe": {"resources": False, "misclassified": 0}}))
    assert main(["train", str(exp), "--out", str(root / "runs" / "ok"), "--quiet"]) == 0
    diverge = ["--order", "topic,sentiment", "--set", "tasklist.tasks.sentiment.lr=1e30"]
    assert main(["train", str(exp), "--out", str(root / "runs" / "nan"), "--quiet", *diverge]) == 1
    return root / "runs"


def test_analyze_lists_faulted_runs_and_counts_them_per_configuration(
        runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["analyze", str(runs)]) == 0
    out = capsys.readouterr().out
    fault = json.loads((runs / "nan" / "fault.json").read_text())
    assert fault["approach"] == "finetune" and fault["order"] == ["topic", "sentiment"] and fault["seed"] == 0
    assert "faulted runs, not in the statistics above: 1 (finetune 1)" in out
    assert ("  finetune, order topic>sentiment, seed 0: NonFiniteLoss during train of task 'sentiment': the "
            "training loss became non-finite") in out
    summary = pd.read_csv(runs / "summary.csv")
    assert summary[["config_id", "n", "faulted"]].to_dict("records") == [{"config_id": "finetune", "n": 1,
                                                                         "faulted": 1}]
    table = pd.read_csv(runs / "faults.csv")
    assert table[["config_id", "order", "seed", "fault", "task", "phase"]].to_dict("records") == [
        {"config_id": "finetune", "order": "topic>sentiment", "seed": 0, "fault": "NonFiniteLoss",
         "task": "sentiment", "phase": "train"}]
    report = (runs / "report.html").read_text()
    assert "<h2>Faulted runs</h2>" in report and "became non-finite" in report and "NonFiniteLoss" in report


def test_only_faulted_runs_are_an_error_that_still_lists_them(
        runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(runs / "nan", tmp_path / "nan")
    capsys.readouterr()
    assert main(["analyze", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no finished runs" in err and "NonFiniteLoss during train of task 'sentiment'" in err


def test_a_second_analysis_removes_figures_it_did_not_draw(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["analyze", str(runs), "--out", str(out)]) == 0
    stale = [out / "plots" / "matrix_ewc.png", out / "plots" / "matrix_ewc.svg"]  # as if ewc had been analysed
    for path in stale:
        path.write_bytes(b"old")
    drawn = sorted(p.name for p in (out / "plots").iterdir() if p not in stale)
    assert main(["analyze", str(runs), "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "plots").iterdir()) == drawn
    assert "matrix_finetune.png" in drawn

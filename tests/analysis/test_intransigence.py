"""Intransigence in the analysis: each run against the joint run of its own order, seed and settings, or none."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from results_factory import write_results  # tests/analysis is on sys.path (no __init__.py)

from clsweep.analysis import Study, console_text, joint_references, load_results, load_runs, load_task_scores

ORDERS = {"o1": ["a", "b", "c"], "o2": ["b", "c", "a"]}
FT = {"o1": [[0.9, 0.1, 0.2], [0.6, 0.8, 0.1], [0.3, 0.6, 0.9]],  # diagonal .9 .8 .9
      "o2": [[0.8, 0.2, 0.1], [0.5, 0.9, 0.1], [0.4, 0.8, 0.7]]}  # diagonal .8 .9 .7
JOINT_O1_S0 = [[0.9, 0.1, 0.1], [0.85, 0.95, 0.1], [0.8, 0.9, 0.95]]  # diagonal .9 .95 .95
JOINT_O1_S1 = [[0.7, 0.1, 0.1], [0.5, 0.9, 0.1], [0.5, 0.5, 0.8]]  # diagonal .7 .9 .8
JOINT_O2_S0 = [[0.9, 0.1, 0.1], [0.9, 0.9, 0.1], [0.9, 0.9, 0.9]]  # diagonal .9 .9 .9


def settings(lr: float = 0.002, device: str = "auto") -> dict[str, Any]:
    return {"tasklist": {"tasks": ["a", "b", "c"]}, "model": {"backbone": "tiny"},
            "train": {"lr": lr, "epochs": 3, "seed": 0, "device": device, "log_every": 20}}


def shifted(matrix: list[list[float]], by: float) -> list[list[float]]:
    return [[v + by for v in row] for row in matrix]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """finetune on o1 and o2, seeds 0 and 1 (dev = test - .1); joint runs for some of those cells only."""
    root = tmp_path / "sweep"
    ft = {("finetune", o): m for o, m in FT.items()}
    write_results(root, ORDERS, ft, dev={k: shifted(m, -0.1) for k, m in ft.items()}, settings=settings())
    # seed 1 of the joint o1 run is another matrix; bump 0 keeps every joint score as written
    write_results(root, ORDERS, {("joint", "o1"): JOINT_O1_S0}, seeds=(0,), bump=0.0,
                  settings=settings(device="cuda"))  # where it ran does not matter
    write_results(root, ORDERS, {("joint", "o1"): shifted(JOINT_O1_S1, -0.02)}, seeds=(1,),
                  settings=settings())  # the factory adds .02 for seed 1: diagonal .7 .9 .8 as written
    write_results(root, ORDERS, {("joint", "o2"): JOINT_O2_S0}, seeds=(0,), bump=0.0, settings=settings())
    # o2, seed 1 has a joint run only with another learning rate: not its reference
    write_results(root, ORDERS, {("joint", "o2"): JOINT_O2_S0}, seeds=(1,), settings=settings(lr=0.01))
    return root


def test_each_run_is_matched_to_its_own_joint_run(root: Path) -> None:
    refs = {Path(p).parent.name: [r.parent.name for r in rs] for p, rs in joint_references(load_results(root)).items()}
    assert refs == {"finetune-o1-0": ["joint-o1-0"], "finetune-o1-1": ["joint-o1-1"],
                    "finetune-o2-0": ["joint-o2-0"], "finetune-o2-1": []}


def test_run_intransigence_hand_computed(root: Path) -> None:
    runs = load_runs(root).assign(run=lambda d: d["path"].map(lambda p: Path(p).parent.name)).set_index("run")
    # o1 seed 0: a* .9 .95 .95 - diagonal .9 .8 .9 = 0, .15, .05
    assert runs.loc["finetune-o1-0", "intransigence"] == pytest.approx(0.2 / 3)
    # o1 seed 1: a* .7 .9 .8 - diagonal .92 .82 .92 = -.22, .08, -.12 (its own seed's joint run, not seed 0's)
    assert runs.loc["finetune-o1-1", "intransigence"] == pytest.approx(-0.26 / 3)
    # o2 seed 0: a* .9 .9 .9 - diagonal .8 .9 .7 = .1, 0, .2
    assert runs.loc["finetune-o2-0", "intransigence"] == pytest.approx(0.1)
    assert math.isnan(runs.loc["finetune-o2-1", "intransigence"])  # only a joint run with another lr exists
    # dev: the finetune dev scores are .1 lower, the joint ones equal: every I_k .1 higher
    assert runs.loc["finetune-o1-0", "intransigence_dev"] == pytest.approx(0.2 / 3 + 0.1)
    assert runs.loc[runs["approach"] == "joint", "intransigence"].isna().all()  # the references themselves


def test_per_task_intransigence_by_name(root: Path) -> None:
    tasks = load_task_scores(root)
    tasks = tasks.assign(run=tasks["path"].map(lambda p: Path(p).parent.name)).set_index(["run", "task"])
    assert [tasks.loc[("finetune-o1-0", t), "intransigence"] for t in "abc"] == pytest.approx([0.0, 0.15, 0.05])
    # o2 trains b, c, a: I by position .1, 0, .2 lands on b, c, a
    assert [tasks.loc[("finetune-o2-0", t), "intransigence"] for t in "bca"] == pytest.approx([0.1, 0.0, 0.2])
    assert tasks.loc["finetune-o2-1", "intransigence"].isna().all()
    dev = load_task_scores(root, split="dev")
    dev = dev.assign(run=dev["path"].map(lambda p: Path(p).parent.name)).set_index(["run", "task"])
    assert dev.loc[("finetune-o1-0", "b"), "intransigence"] == pytest.approx(0.25)


def test_summary_and_printed_table_show_intransigence(root: Path) -> None:
    study = Study.load(root)
    s = study.summary().set_index("config_id")
    assert s.loc["finetune", "intransigence_mean"] == pytest.approx((0.2 / 3 - 0.26 / 3 + 0.1) / 3)
    assert math.isnan(s.loc["joint", "intransigence_mean"])
    text = console_text(study)
    assert text.splitlines()[0].split() == ["config_id", "n", "acc_dev", "acc", "bwt", "forgetting", "intransigence"]


def test_no_joint_run_no_intransigence(tmp_path: Path) -> None:
    root = write_results(tmp_path / "s", ORDERS, {("finetune", o): m for o, m in FT.items()})
    # a joint run of another ordering is never used in place of the missing one
    write_results(root, {"o3": ["c", "b", "a"]}, {("joint", "o3"): JOINT_O2_S0})
    runs = load_runs(root)
    assert runs["intransigence"].isna().all() and runs["intransigence_dev"].isna().all()
    assert "intransigence" not in console_text(Study.load(root)).splitlines()[0]

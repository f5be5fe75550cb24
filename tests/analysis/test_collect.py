"""Tests for clsweep.analysis.collect: finding result.json files and flattening them into tables."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from clsweep.analysis import cell_table, find_results, hyperparameters, load_results, load_runs, load_task_scores
from clsweep.metrics.matrix import summarize as matrix_metrics

ORDERS = {"o1": ["a", "b", "c"], "o2": ["b", "c", "a"], "o3": ["c", "a", "b"]}
# Seed-0 test matrices in training order (rows: after k-th task; columns: tasks in that order).
MATRICES = {
    ("ft", "o1"): [[0.9, 0.1, 0.2], [0.6, 0.8, 0.1], [0.3, 0.6, 0.9]],
    ("ft", "o2"): [[0.8, 0.2, 0.1], [0.5, 0.9, 0.1], [0.4, 0.8, 0.9]],
    ("ft", "o3"): [[0.9, 0.1, 0.1], [0.3, 0.9, 0.2], [0.2, 0.5, 0.8]],
    ("ewc-l1", "o1"): [[0.9, 0.1, 0.1], [0.8, 0.8, 0.1], [0.8, 0.7, 0.9]],
    ("ewc-l1", "o2"): [[0.8, 0.1, 0.1], [0.8, 0.9, 0.1], [0.7, 0.8, 0.9]],
    ("ewc-l1", "o3"): [[0.9, 0.1, 0.1], [0.9, 0.9, 0.1], [0.6, 0.9, 0.9]],
}
APPROACH = {"ft": "finetune", "ewc-l1": "ewc"}
OVERRIDES: dict[str, dict[str, Any]] = {"ft": {}, "ewc-l1": {"approach.ewc.lambda": 1.0}}


def result(order: list[str], matrix: list[list[float]], seed: int, approach: str,
           sweep: dict[str, Any] | None) -> dict[str, Any]:
    """A result.json as the contract writes it; seed s adds 0.02*s to every test score, dev is test - 0.1."""
    test = [[v + 0.02 * seed for v in row] for row in matrix]
    dev = [[v - 0.1 for v in row] for row in test]
    initial, initial_dev = [0.1] * len(order), [0.0] * len(order)
    out: dict[str, Any] = {
        "format": "clsweep.result/1", "order": order, "tasks": order, "seed": seed, "approach": approach,
        "eval_split": "test", "primary_metric": dict.fromkeys(order, "accuracy"),
        "matrix": test, "initial": initial, "matrix_dev": dev, "initial_dev": initial_dev,
        "metrics": matrix_metrics(test, initial), "metrics_dev": matrix_metrics(dev, initial_dev),
    }
    if sweep is not None:
        out["sweep"] = sweep
    return out


def write_sweep(root: Path) -> None:
    """2 configs x 3 orderings x 2 seeds, plus a checkpoint copy that must be ignored."""
    for (config, order_id), matrix in MATRICES.items():
        for seed in (0, 1):
            sweep = {"config_id": config, "overrides": OVERRIDES[config], "order_id": order_id,
                     "trial_id": f"{config}-{order_id}-{seed}"}
            run = root / config / order_id / f"seed{seed}"
            data = result(ORDERS[order_id], matrix, seed, APPROACH[config], sweep)
            (run / "checkpoints" / "task-01").mkdir(parents=True)
            (run / "result.json").write_text(json.dumps(data))
            (run / "checkpoints" / "task-01" / "result.json").write_text(json.dumps(data))


@pytest.fixture
def sweep_root(tmp_path: Path) -> Path:
    write_sweep(tmp_path / "sweep")
    return tmp_path / "sweep"


def test_find_results_sorted_and_skips_checkpoints(sweep_root: Path) -> None:
    found = find_results(sweep_root)
    assert len(found) == 12
    assert found == sorted(found)
    assert all("checkpoints" not in p.parts for p in found)


def test_load_runs_one_row_per_run_with_identity_and_metrics(sweep_root: Path) -> None:
    df = load_runs(sweep_root)
    assert len(df) == 12
    assert list(df.columns[:8]) == ["path", "source", "config_id", "approach", "order_id", "order", "seed", "T"]
    assert set(df["source"]) == {str(sweep_root)}
    assert df.groupby("config_id").size().to_dict() == {"ewc-l1": 6, "ft": 6}
    row = df[(df.config_id == "ft") & (df.order_id == "o2") & (df.seed == 1)].iloc[0]
    assert row["order"] == "b>c>a" and row["T"] == 3 and row["approach"] == "finetune"
    assert row["acc"] == pytest.approx((0.4 + 0.8 + 0.9) / 3 + 0.02)
    assert row["bwt"] == pytest.approx(((0.4 - 0.8) + (0.8 - 0.9)) / 2)
    assert row["forgetting"] == pytest.approx((0.4 + 0.1) / 2)
    assert row["acc_dev"] == pytest.approx(row["acc"] - 0.1)
    assert row["fwt"] == pytest.approx(((0.2 + 0.02 - 0.1) + (0.1 + 0.02 - 0.1)) / 2)
    for col in ("learning_accuracy", "avg_incremental_acc", "fwt_dev", "forgetting_dev"):
        assert col in df.columns


def test_override_columns(sweep_root: Path) -> None:
    df = load_runs(sweep_root)
    lam = df.set_index("trial_id")["approach.ewc.lambda"]
    assert lam["ewc-l1-o3-0"] == 1.0
    assert math.isnan(lam["ft-o1-0"])


def test_plain_train_run_defaults(tmp_path: Path) -> None:
    data = result(["x", "y"], [[0.5, 0.1], [0.4, 0.7]], 3, "finetune", sweep=None)
    (tmp_path / "result.json").write_text(json.dumps(data))
    row = load_runs(tmp_path).iloc[0]
    assert (row["config_id"], row["order_id"], row["order"], row["seed"]) == ("finetune", "x>y", "x>y", 3)


def test_corrupt_and_partial_files_are_skipped_with_a_warning(sweep_root: Path) -> None:
    (sweep_root / "broken").mkdir()
    (sweep_root / "broken" / "result.json").write_text('{"tasks": ["a"')
    (sweep_root / "partial").mkdir()
    (sweep_root / "partial" / "result.json").write_text(json.dumps({"tasks": ["a"], "seed": 0}))
    with pytest.warns(UserWarning) as caught:
        df = load_runs(sweep_root)
    assert len(df) == 12
    messages = " ".join(str(w.message) for w in caught)
    assert "unreadable" in messages and "partial" in messages


def test_load_runs_accepts_a_list_of_paths_and_empty_roots(sweep_root: Path, tmp_path: Path) -> None:
    assert len(load_runs(find_results(sweep_root)[:3])) == 3
    empty = load_runs(tmp_path / "nothing-here")
    assert empty.empty and "acc" in empty.columns


def test_task_scores_aligned_by_name(sweep_root: Path) -> None:
    ts = load_task_scores(sweep_root)
    assert len(ts) == 12 * 3
    ft = ts[(ts.config_id == "ft") & (ts.seed == 0)].set_index(["order_id", "task"])
    # Task "a" sits at positions 1, 3 and 2 in o1, o2, o3.
    assert ft.loc[("o1", "a"), "position"] == 1
    assert ft.loc[("o2", "a"), "position"] == 3
    assert ft.loc[("o3", "a"), "position"] == 2
    assert ft.loc[("o2", "a"), ["final", "learned", "best"]].tolist() == pytest.approx([0.9, 0.9, 0.9])
    assert math.isnan(ft.loc[("o2", "a"), "forgetting"])  # learned last: f_j undefined
    assert ft.loc[("o2", "b"), ["final", "learned", "best"]].tolist() == pytest.approx([0.4, 0.8, 0.8])
    assert ft.loc[("o2", "b"), "forgetting"] == pytest.approx(0.4)
    assert ft.loc[("o3", "a"), ["final", "learned", "forgetting"]].tolist() == pytest.approx([0.5, 0.9, 0.4])
    # best includes the final row: a task can peak at the end (o1, task a in ewc: 0.9 -> 0.8 -> 0.8)
    ewc = ts[(ts.config_id == "ewc-l1") & (ts.seed == 1)].set_index(["order_id", "task"])
    assert ewc.loc[("o1", "a"), ["final", "best", "forgetting"]].tolist() == pytest.approx([0.82, 0.92, 0.1])


def test_task_scores_dev_split(sweep_root: Path) -> None:
    ts = load_task_scores(sweep_root, split="dev").set_index(["trial_id", "task"])
    assert ts.loc[("ft-o2-0", "b"), "final"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="split"):
        load_task_scores(sweep_root, split="train")


def test_two_sweeps_at_once_by_list_and_by_glob(tmp_path: Path) -> None:
    write_sweep(tmp_path / "cluster" / "ewc")
    write_sweep(tmp_path / "laptop" / "ewc")
    both = load_runs([tmp_path / "cluster", tmp_path / "laptop"])
    assert len(both) == 24
    assert both.groupby("source").size().to_dict() == {str(tmp_path / "cluster"): 12, str(tmp_path / "laptop"): 12}
    # the same configuration from both sweeps pools into one group
    assert both.groupby("config_id").size().to_dict() == {"ewc-l1": 12, "ft": 12}
    by_glob = load_runs(str(tmp_path / "*"))
    assert sorted(by_glob["path"]) == sorted(both["path"])
    # a folder named twice (directly and through a glob) counts once
    assert len(load_runs([tmp_path / "laptop", str(tmp_path / "lap*"), *find_results(tmp_path / "laptop")])) == 12
    assert load_runs(str(tmp_path / "nothing-*")).empty


def test_hyperparameter_columns(sweep_root: Path) -> None:
    assert hyperparameters(load_runs(sweep_root)) == ["approach.ewc.lambda"]


def test_cell_table_holds_every_matrix_cell_by_name(sweep_root: Path) -> None:
    cells = cell_table(load_results(sweep_root))
    assert len(cells) == 12 * 9
    run = cells[(cells.config_id == "ft") & (cells.order_id == "o2") & (cells.seed == 0)]
    # o2 = b, c, a; ft o2 matrix [[.8, .2, .1], [.5, .9, .1], [.4, .8, .9]]
    got = {(r.step, r.after, r.task): (r.score, r.seen, r.position) for r in run.itertuples()}
    assert got[(1, "b", "b")] == pytest.approx((0.8, True, 1))
    assert got[(1, "b", "a")] == pytest.approx((0.1, False, 3))
    assert got[(2, "c", "b")] == pytest.approx((0.5, True, 1))
    assert got[(3, "a", "c")] == pytest.approx((0.8, True, 2))
    assert int(run["seen"].sum()) == 6  # the lower triangle with its diagonal


def test_a_run_shown_on_dev_is_analysed_on_test(raw: dict[str, Any], tmp_path: Path) -> None:
    """`eval.split: dev` puts dev scores in `matrix`; analysis must still report test, never dev under its name."""
    from clsweep.errors import Sources
    from clsweep.loading import validate
    from clsweep.training.run import run_experiment

    raw = {**raw, "eval": {**raw["eval"], "split": "dev"}}
    cfg = validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    res = run_experiment(cfg, tmp_path / "run", progress=False, log=lambda m: None)
    assert res["matrix"] == res["matrix_dev"]
    last = res["scores"]["rows"][-1]["test"]  # the test scores as evaluated, independent of the summaries
    test_acc = sum(last[t][res["primary_metric"][t]] for t in res["order"]) / len(res["order"])
    runs = load_runs(tmp_path / "run")
    assert runs["acc"].iloc[0] == pytest.approx(test_acc)
    assert runs["acc_dev"].iloc[0] == pytest.approx(res["metrics_dev"]["acc"])
    assert test_acc != pytest.approx(res["metrics_dev"]["acc"])  # the two splits do differ on this run


def test_an_old_dev_only_result_is_skipped_with_a_warning(tmp_path: Path) -> None:
    data = result(["a", "b"], [[0.5, 0.1], [0.4, 0.6]], 0, "finetune", None)
    data["eval_split"] = "dev"
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "result.json").write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="holds dev scores only"):
        assert load_results(tmp_path) == []

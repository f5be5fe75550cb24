"""The real-data study's table and config resolution, on fabricated result files (no data, no model needed)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from clsweep.metrics.matrix import summarize as matrix_metrics

ROOT = Path(__file__).resolve().parents[2]


def _module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


table = _module("real_study_table", ROOT / "benchmarks" / "real_study" / "table.py")
runner = _module("real_study_run", ROOT / "benchmarks" / "real_study" / "run.py")

ORDERS = {"w1": ["agnews", "dbpedia", "yelp"], "w2": ["yelp", "agnews", "dbpedia"]}


def _matrix(diag: float, final: float) -> list[list[float]]:
    """3 x 3 R: `diag` on the diagonal, earlier tasks at `final` after the last task, 0.1 above the diagonal."""
    return [[diag, 0.1, 0.1], [final, diag, 0.1], [final, final, diag]]


# approach -> (diagonal, final score of earlier tasks); ewc is made to beat replay: a published-order inversion.
RUNS = {"joint": (0.9, 0.9), "replay": (0.85, 0.6), "ewc": (0.8, 0.7), "finetune": (0.88, 0.3)}


def _write(root: Path) -> Path:
    for approach, (diag, final) in RUNS.items():
        for oid, order in ORDERS.items():
            m = _matrix(diag, final)
            data = {"tasks": order, "order": order, "seed": 0, "approach": approach, "matrix": m, "matrix_dev": m,
                    "metrics": matrix_metrics(m), "metrics_dev": matrix_metrics(m),
                    "sweep": {"config_id": approach, "order_id": oid, "overrides": {}, "trial_id": "t"},
                    "timings": {"total_s": 120.0, "global_step": 30},
                    "resources": {"tasks": {"agnews": {"all": {"cpu_s": 30.0}}, "yelp": {"all": {"cpu_s": 30.0}}}}}
            path = root / f"{approach}-{oid}" / "result.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(data))
    return root


def test_table_numbers_ranking_and_markdown(tmp_path: Path) -> None:
    d = table.build([_write(tmp_path)])
    rows = {r["approach"]: r for r in d["rows"]}
    assert [r["approach"] for r in d["rows"]] == ["joint", "ewc", "replay", "finetune"]  # best ACC first
    ft = rows["finetune"]
    assert ft["acc"]["mean"] == pytest.approx((0.3 + 0.3 + 0.88) / 3)
    assert ft["bwt"]["mean"] == pytest.approx(0.3 - 0.88)
    assert ft["learning_accuracy"]["mean"] == pytest.approx(0.88)
    assert ft["diag"] == {"agnews": pytest.approx(0.88), "dbpedia": pytest.approx(0.88), "yelp": pytest.approx(0.88)}
    # intransigence against joint's diagonal on the same ordering
    assert ft["intransigence"]["mean"] == pytest.approx(0.9 - 0.88)
    assert rows["ewc"]["intransigence"]["mean"] == pytest.approx(0.1)
    assert rows["joint"]["intransigence"]["mean"] == pytest.approx(0.0)
    assert ft["minutes_per_trial"] == pytest.approx(2.0)
    assert ft["cpu_minutes"] == pytest.approx(2 * 60 / 60)
    rk = d["ranking"]
    assert rk["measured_acc_order"] == ["joint", "ewc", "replay", "finetune"]
    assert [(i["measured_higher"], i["expected_higher"]) for i in rk["inversions"]] == [("ewc", "replay")]
    inv = rk["inversions"][0]
    assert inv["n"] == 2 and inv["acc_diff"] == pytest.approx(0.05) and inv["higher_in"] == 2
    assert rk["finetune_forgets_most"] is True
    check = d["diagonal_check"]
    assert check["met"] is True and check["min"] == pytest.approx(0.88)
    assert check["judged_on"] == ["joint", "finetune"]
    md = table.markdown(d)
    assert "| `finetune` | 2 |" in md and "`ewc` above `replay`" in md and "**goal met**" in md
    json.dumps(d)  # JSON-able as written
    d["settings"] = {"model": "m", "pooling": "mean", "tasks": {"agnews": {"max_length": 64}}, "seeds": [0],
                     "train": {"epochs": 1, "batch_size": 16, "optimizer": "adamw", "lr": 3e-4,
                               "scheduler": "linear", "warmup_ratio": 0.1}}
    d["wall"] = {"seconds": 600, "load_before": [1.0, 1, 1], "load_after": [2.0, 2, 2]}
    head = table.section(d).split("\n")[0]
    assert head.startswith("`m` (mean pooling, max length 64)") and "2 Williams orderings" in head
    assert "took 10 minutes" in head


def test_diagonal_goal_missed(tmp_path: Path) -> None:
    RUNS_LOW = {"finetune": (0.7, 0.3)}
    for oid, order in ORDERS.items():
        m = _matrix(*RUNS_LOW["finetune"])
        data = {"tasks": order, "seed": 0, "approach": "finetune", "matrix": m, "matrix_dev": m,
                "metrics": matrix_metrics(m), "metrics_dev": matrix_metrics(m), "sweep": {"order_id": oid}}
        (tmp_path / oid).mkdir()
        (tmp_path / oid / "result.json").write_text(json.dumps(data))
    d = table.build([tmp_path])
    assert d["diagonal_check"]["met"] is False
    assert d["rows"][0]["intransigence"]["mean"] is None  # no joint runs to compare with
    assert "**goal missed**" in table.markdown(d)


def test_resolve_makes_data_paths_absolute(tmp_path: Path) -> None:
    raw = runner.resolve(tmp_path / "cl", tmp_path / "out", "some/model", ["finetune", "joint"],
                         ["tasklist.tasks.agnews.per_class=5"])
    tasks = raw["tasklist"]["tasks"]
    assert set(tasks) == {"agnews", "dbpedia", "yelp", "amazon"}
    assert tasks["agnews"]["source"]["train"] == str(tmp_path / "cl" / "agnews" / "train.jsonl")
    assert tasks["agnews"]["per_class"] == 5
    assert raw["model"]["backbone"] == "some/model"
    assert raw["search"]["space"]["approach.name"] == {"grid": ["finetune", "joint"]}
    assert raw["run"]["storage_path"] == str(tmp_path / "out")
    assert len(runner.missing_data(raw)) == 8  # train and test of 4 tasks, none there

"""The metrics stored in result.json equal an independent computation from the stored matrix."""

from __future__ import annotations

from typing import Any

import pytest

from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.training.run import run_experiment


def _independent(R: list[list[float]], b: list[float]) -> dict[str, float]:
    """REFERENCE.md's definitions, written out with 1-based indices as in the papers."""
    T = len(R)

    def r(i: int, j: int) -> float:  # R[i][j], i, j in 1..T
        return R[i - 1][j - 1]

    acc = sum(r(T, j) for j in range(1, T + 1)) / T
    bwt = sum(r(T, j) - r(j, j) for j in range(1, T)) / (T - 1)
    fwt = sum(r(j - 1, j) - b[j - 1] for j in range(2, T + 1)) / (T - 1)
    forgetting = sum(max(r(i, j) for i in range(j, T)) - r(T, j) for j in range(1, T)) / (T - 1)
    la = sum(r(j, j) for j in range(1, T + 1)) / T
    aia = sum(sum(r(k, j) for j in range(1, k + 1)) / k for k in range(1, T + 1)) / T
    return {"acc": acc, "bwt": bwt, "fwt": fwt, "forgetting": forgetting, "learning_accuracy": la,
            "avg_incremental_acc": aia}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory, make_raw: Any) -> dict[str, Any]:
    raw = make_raw()
    raw["approach"] = {"name": "ewc", "ewc": {"lambda": 10.0, "fisher_samples": 16}}
    tmp = tmp_path_factory.mktemp("res")
    cfg = validate(raw, Sources(str(tmp / "e.yaml"), None), tmp)
    return run_experiment(cfg, tmp / "run", progress=False, log=lambda m: None)


@pytest.mark.parametrize("split", ["", "_dev"])
def test_stored_metrics_match_independent_computation(result: dict[str, Any], split: str) -> None:
    R, b = result[f"matrix{split}"], result[f"initial{split}"]
    want = _independent(R, b)
    got = result[f"metrics{split}"]
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-12), k
    # The identity from REFERENCE.md holds on a real run's matrix too.
    T = len(R)
    assert got["acc"] == pytest.approx(got["learning_accuracy"] + (T - 1) / T * got["bwt"])
    assert got["forgetting"] >= -got["bwt"] - 1e-12


def test_matrix_is_primary_metric_of_stored_scores(result: dict[str, Any]) -> None:
    order = result["order"]
    for i, row in enumerate(result["scores"]["rows"]):
        assert row["task"] == order[i]
        for j, t in enumerate(order):
            metric = result["primary_metric"][t]
            assert result["matrix"][i][j] == row["test"][t][metric]
            assert result["matrix_dev"][i][j] == row["dev"][t][metric]
    assert result["initial"] == [result["scores"]["initial"]["test"][t][result["primary_metric"][t]] for t in order]
    assert set(result["metric_definitions"]) >= set(result["metrics"])

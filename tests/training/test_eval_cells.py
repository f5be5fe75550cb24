"""`eval.cells: needed` skips the cells of R no metric reads; every metric equals the full matrix's."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from clsweep.analysis import cell_table, load_results, plot_matrix, task_table
from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.training.run import run_experiment
from clsweep.training.trainer import needed_cells


def _run(raw: dict[str, Any], out: Path, cells: str) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    src = raw["tasklist"]["defaults"]["source"]
    raw["tasklist"]["tasks"]["intent"] = {"source": {**src, "task": "intent"}}  # T = 4
    raw["eval"]["cells"] = cells
    cfg = validate(raw, Sources(str(out.parent / "exp.yaml"), None), base_dir=out.parent)
    return run_experiment(cfg, out, progress=False, log=lambda m: None)


def test_needed_cells_give_the_same_metrics_and_blank_cells(raw: dict[str, Any], tmp_path: Path) -> None:
    full = _run(raw, tmp_path / "full", "full")
    needed = _run(raw, tmp_path / "needed", "needed")
    T = len(full["order"])
    assert T == 4
    for block in ("metrics", "metrics_dev"):
        assert needed[block] == full[block]  # bit for bit: the same training, the same cells read
    assert needed["forgetting_per_task"] == full["forgetting_per_task"]
    for key, init in (("matrix", "initial"), ("matrix_dev", "initial_dev")):
        assert needed[init][0] is None and needed[init][1:] == full[init][1:]
        for k in range(T):
            for j in range(T):
                want = full[key][k][j] if j <= k + 1 else None  # lower triangle and superdiagonal only
                assert needed[key][k][j] == want
    # Stored as JSON null, and the analysis reads both kinds of result.
    stored = json.loads((tmp_path / "needed" / "result.json").read_text())
    assert stored["matrix"][0][T - 1] is None
    loaded = load_results(tmp_path)
    assert len(loaded) == 2
    tasks = task_table(loaded)
    assert len(tasks) == 2 * T and not tasks["final"].isna().any()
    cells = cell_table(loaded)
    blank = cells[(cells["step"] == 1) & (cells["position"] == T)]
    assert sorted(math.isnan(v) for v in blank["score"]) == [False, True]
    assert plot_matrix(stored, tmp_path / "m.png").is_file()


@pytest.mark.parametrize(("T", "full", "needed"), [(5, 30, 23), (15, 240, 148)])
def test_needed_cell_counts(T: int, full: int, needed: int) -> None:
    order = [f"t{i}" for i in range(T)]
    assert sum(len(needed_cells(order, s, "full")) for s in range(T + 1)) == full
    assert sum(len(needed_cells(order, s, "needed")) for s in range(T + 1)) == needed

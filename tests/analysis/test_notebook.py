"""analysis/sweep_report.ipynb: valid nbformat 4 JSON, and its code cells run top to bottom on a small sweep."""

from __future__ import annotations

import ast
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from results_factory import write_results  # tests/analysis is on sys.path (no __init__.py)

from clsweep.metrics.matrix import DEFINITIONS

NOTEBOOK = Path(__file__).parents[2] / "analysis" / "sweep_report.ipynb"
SWEEP_LINE = 'SWEEP = "runs/ewc"'
ALLOWED_IMPORTS = ("clsweep.analysis", "pathlib", "IPython.display")
ORDERS = {"o1": ["a", "b", "c"], "o2": ["c", "b", "a"]}
# Seed-0 matrices in training order; seed 1 adds 0.02 everywhere.
MATRICES = {
    ("ft", "o1"): [[0.9, 0.1, 0.1], [0.5, 0.8, 0.1], [0.3, 0.6, 0.9]],
    ("ft", "o2"): [[0.8, 0.1, 0.1], [0.4, 0.9, 0.2], [0.2, 0.5, 0.7]],
    ("ewc", "o1"): [[0.9, 0.1, 0.1], [0.8, 0.8, 0.1], [0.7, 0.7, 0.9]],
    ("ewc", "o2"): [[0.8, 0.1, 0.1], [0.7, 0.9, 0.1], [0.6, 0.8, 0.8]],
}


def write_sweep(root: Path) -> Path:
    return write_results(root, ORDERS, MATRICES)


@pytest.fixture(scope="module")
def notebook() -> dict[str, Any]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


def source(cell: dict[str, Any]) -> str:
    return "".join(cell["source"])


def code_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def run_cells(cells: list[dict[str, Any]], ns: dict[str, Any]) -> None:
    for cell in cells:
        exec(compile(source(cell), f"<cell {cell['id']}>", "exec"), ns)


def test_nbformat_4_structure(notebook: dict[str, Any]) -> None:
    assert notebook["nbformat"] == 4 and notebook["nbformat_minor"] >= 5  # 4.5: cells carry ids
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    ids = [c["id"] for c in notebook["cells"]]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", i) for i in ids)
    for cell in notebook["cells"]:
        assert cell["cell_type"] in ("code", "markdown")
        assert isinstance(cell["metadata"], dict)
        assert isinstance(cell["source"], list) and all(isinstance(s, str) for s in cell["source"])
        if cell["cell_type"] == "code":  # committed clean: no stale outputs from someone's machine
            assert cell["outputs"] == [] and cell["execution_count"] is None
    first = notebook["cells"][0]
    assert first["cell_type"] == "code" and SWEEP_LINE in source(first).splitlines()


def test_code_only_uses_clsweep_analysis(notebook: dict[str, Any]) -> None:
    for cell in code_cells(notebook):
        for node in ast.walk(ast.parse(source(cell))):
            if isinstance(node, ast.ImportFrom):
                assert node.module in ALLOWED_IMPORTS, node.module
            elif isinstance(node, ast.Import):
                assert all(a.name in ALLOWED_IMPORTS for a in node.names), [a.name for a in node.names]


def test_markdown_states_every_metric_definition(notebook: dict[str, Any]) -> None:
    text = "\n".join(source(c) for c in notebook["cells"] if c["cell_type"] == "markdown")
    for key, definition in DEFINITIONS.items():
        assert f"`{key}`" in text and definition in text, key


def test_cells_execute_in_order(notebook: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write_sweep(tmp_path / "sweep")
    cells = code_cells(notebook)
    first = dict(cells[0], source=[source(cells[0]).replace(SWEEP_LINE, f"SWEEP = {str(sweep)!r}")])
    monkeypatch.setitem(sys.modules, "IPython", None)  # as without Jupyter: the paths are printed instead
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    ns: dict[str, Any] = {}
    run_cells([first, *cells[1:]], ns)

    assert len(ns["runs"]) == 8
    assert list(ns["summary"]["config_id"]) == ["ewc", "ft"]
    assert list(ns["disparity"]["n_orders"]) == [2, 2]
    assert list(ns["final_scores"]["ft"].index) == ["a>b>c", "c>b>a"]
    names = ["forgetting.png", "acc.png", "final_scores_ewc.png", "final_scores_ft.png"]
    assert [p.name for p in ns["paths"]] == names
    out = capsys.readouterr().out
    assert f"8 finished run(s) in {sweep}" in out and str(sweep / "plots" / "acc.png") in out

    # With IPython present the same cell shows every plot.
    shown: list[Any] = []
    display = types.ModuleType("IPython.display")
    display.Image = lambda filename: ("image", filename)  # type: ignore[attr-defined]
    display.display = shown.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    run_cells(cells[-1:], ns)
    assert shown == [("image", str(p)) for p in ns["paths"]]


def test_relative_sweep_is_found_from_the_analysis_folder(notebook: dict[str, Any], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    write_sweep(tmp_path / "runs" / "ewc")
    (tmp_path / "analysis").mkdir()
    monkeypatch.chdir(tmp_path / "analysis")  # where Jupyter starts a kernel for analysis/*.ipynb
    ns: dict[str, Any] = {}
    run_cells(code_cells(notebook)[:2], ns)  # the unedited SWEEP cell, then loading
    assert ns["sweep"] == Path("..") / "runs" / "ewc" and len(ns["runs"]) == 8

    ns["SWEEP"] = "runs/missing"
    with pytest.raises(FileNotFoundError, match="no folder runs/missing"):
        run_cells(code_cells(notebook)[1:2], ns)

"""Both analysis notebooks: committed clean, only clsweep.analysis calls, and they execute (nbclient) on real runs."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from clsweep.config import ExperimentConfig
from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.training.run import run_experiment

NOTEBOOKS = Path(__file__).parents[2] / "analysis"
NAMES = ["forgetting_across_orderings", "compare_approaches"]
PARAM_LINE = 'RESULTS = "runs/ewc"'
ORDERS = [["topic", "pair", "ner"], ["ner", "topic", "pair"]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, make_raw: Any) -> Path:
    """Four real trainer runs (no Ray): fine-tuning and EWC, each on two orderings of the small suite."""
    root = tmp_path_factory.mktemp("trained")
    for approach in ("finetune", "ewc"):
        for k, order in enumerate(ORDERS):
            raw = {**make_raw(), "approach": {"name": approach}, "order": order}
            cfg: ExperimentConfig = validate(raw, Sources(str(root / "exp.yaml"), None), base_dir=root)
            run_experiment(cfg, root / f"{approach}-{k}", progress=False, log=lambda m: None)
    return root


def load(name: str) -> Any:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", NAMES)
def test_committed_clean_with_a_parameter_cell(name: str) -> None:
    book = load(name)
    nbformat.validate(book)
    first = book.cells[0]
    assert first.cell_type == "code" and PARAM_LINE in first.source.splitlines()
    assert "parameters" in first.metadata.get("tags", [])
    for cell in book.cells:
        if cell.cell_type == "code":  # no stale outputs from someone's machine
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("name", NAMES)
def test_cells_only_call_clsweep_analysis(name: str) -> None:
    for cell in load(name).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                pytest.fail(f"plain import in {name}: {[a.name for a in node.names]}")
            if isinstance(node, ast.ImportFrom):
                assert node.module == "clsweep.analysis", node.module
            # no logic in cells: no loops, branches, functions or comprehensions
            assert not isinstance(node, (ast.For, ast.While, ast.If, ast.FunctionDef, ast.Lambda, ast.ListComp,
                                         ast.DictComp, ast.GeneratorExp)), (name, ast.dump(node)[:80])


def _outputs(book: Any, kind: str) -> list[dict[str, Any]]:
    return [o for c in book.cells if c.cell_type == "code" for o in c.outputs if kind in o.get("data", {})]


@pytest.mark.parametrize("name", NAMES)
def test_executes_top_to_bottom_on_real_runs(name: str, trained: Path, tmp_path: Path) -> None:
    book = load(name)
    book.cells[0].source = book.cells[0].source.replace(PARAM_LINE, f"RESULTS = {str(trained)!r}")
    NotebookClient(book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    images = _outputs(book, "image/png")
    written = sorted((trained / "plots").glob("*.png"))
    assert images and len(images) == len(written), [p.name for p in written]
    names = {p.name for p in written}
    assert {"forgetting.png", "learning_curves.png"} <= names
    if name == "forgetting_across_orderings":
        assert {"by_position.png", "final_scores_ewc.png", "identity_matrix_finetune.png"} <= names
    else:
        assert {"acc.png", "matrix_ewc.png"} <= names
        printed = "".join(o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.outputs)
        assert "acc: ewc - finetune" in printed and "too few pairs" in printed  # 2 paired runs cannot decide
    assert _outputs(book, "text/html")  # the tables render
    for png in written:
        png.unlink()  # the other notebook must produce its own

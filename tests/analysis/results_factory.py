"""Hand-written result.json files for analysis tests: a sweep of configs x orderings x seeds."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clsweep.metrics.matrix import summarize as matrix_metrics


def make_result(tasks: Sequence[str], matrix: list[list[float]], seed: int, config: str, order_id: str,
                bump: float = 0.02, sweep: bool = True) -> dict[str, Any]:
    """One run; seed s adds s * bump to every score, so seeds differ by a known amount."""
    test = [[v + bump * seed for v in row] for row in matrix]
    initial = [0.1] * len(tasks)
    data: dict[str, Any] = {
        "order": list(tasks), "tasks": list(tasks), "seed": seed, "approach": config.split()[0],
        "eval_split": "test", "primary_metric": dict.fromkeys(tasks, "accuracy"),
        "matrix": test, "initial": initial, "matrix_dev": test, "initial_dev": initial,
        "metrics": matrix_metrics(test, initial), "metrics_dev": matrix_metrics(test, initial),
    }
    if sweep:
        data["sweep"] = {"config_id": config, "overrides": {}, "order_id": order_id, "trial_id": "t"}
    return data


def write_results(root: Path, orders: Mapping[str, Sequence[str]],
                  matrices: Mapping[tuple[str, str], list[list[float]]], *, seeds: Sequence[int] = (0, 1),
                  bump: float = 0.02, sweep: bool = True) -> Path:
    """root/<approach>-<order id>-<seed>/result.json for every (config, order id) in `matrices`."""
    for (config, order_id), matrix in matrices.items():
        for seed in seeds:
            path = root / f"{config.split()[0]}-{order_id}-{seed}" / "result.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(make_result(orders[order_id], matrix, seed, config, order_id, bump, sweep)))
    return root

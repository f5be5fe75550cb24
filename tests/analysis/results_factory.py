"""Hand-written result.json files for analysis tests: a sweep of configs x orderings x seeds."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clsweep.metrics.matrix import summarize as matrix_metrics


def make_result(tasks: Sequence[str], matrix: list[list[float]], seed: int, config: str, order_id: str,
                bump: float = 0.02, sweep: bool = True, dev: list[list[float]] | None = None,
                settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """One run; seed s adds s * bump to every score, so seeds differ by a known amount.

    dev: the dev matrix (seed-0, the same bump) when it should differ from test; settings: the recorded
    config (result.json's `config`), absent when None. The approach is the config id's first word.
    """
    test = [[v + bump * seed for v in row] for row in matrix]
    dev_m = test if dev is None else [[v + bump * seed for v in row] for row in dev]
    initial = [0.1] * len(tasks)
    data: dict[str, Any] = {
        "order": list(tasks), "tasks": list(tasks), "seed": seed, "approach": config.split()[0],
        "eval_split": "test", "primary_metric": dict.fromkeys(tasks, "accuracy"),
        "matrix": test, "initial": initial, "matrix_dev": dev_m, "initial_dev": initial,
        "metrics": matrix_metrics(test, initial), "metrics_dev": matrix_metrics(dev_m, initial),
    }
    if settings is not None:
        data["config"] = settings
    if sweep:
        data["sweep"] = {"config_id": config, "overrides": {}, "order_id": order_id, "trial_id": "t"}
    return data


def write_results(root: Path, orders: Mapping[str, Sequence[str]],
                  matrices: Mapping[tuple[str, str], list[list[float]]], *, seeds: Sequence[int] = (0, 1),
                  bump: float = 0.02, sweep: bool = True,
                  dev: Mapping[tuple[str, str], list[list[float]]] | None = None,
                  settings: dict[str, Any] | None = None, tag: str = "") -> Path:
    """root/<config>-<order id>-<seed><tag>/result.json for every (config, order id) in `matrices` (dev: the
    dev matrix per key where it differs from test)."""
    for (config, order_id), matrix in matrices.items():
        for seed in seeds:
            path = root / f"{config.replace(' ', '_')}-{order_id}-{seed}{tag}" / "result.json"
            path.parent.mkdir(parents=True)
            data = make_result(orders[order_id], matrix, seed, config, order_id, bump, sweep,
                               dev=(dev or {}).get((config, order_id)), settings=settings)
            path.write_text(json.dumps(data))
    return root


SWEEP_ORDERS = {"o1": ["a", "b", "c"], "o2": ["b", "c", "a"], "o3": ["c", "a", "b"]}
# Seed-0 test matrices in training order; seed 1 adds 0.02 to every score.
SWEEP_MATRICES = {
    ("ft", "o1"): [[0.9, 0.1, 0.2], [0.6, 0.8, 0.1], [0.3, 0.6, 0.9]],  # acc .6, bwt -.4, F .4
    ("ft", "o2"): [[0.8, 0.2, 0.1], [0.5, 0.9, 0.1], [0.4, 0.8, 0.9]],  # acc .7, bwt -.25, F .25
    ("ft", "o3"): [[0.9, 0.1, 0.1], [0.3, 0.9, 0.2], [0.2, 0.5, 0.8]],  # acc .5, bwt -.55, F .55
    ("ewc", "o1"): [[0.9, 0.1, 0.1], [0.8, 0.8, 0.1], [0.8, 0.7, 0.9]],  # acc .8, bwt -.1, F .1
    ("ewc", "o2"): [[0.8, 0.1, 0.1], [0.8, 0.9, 0.1], [0.7, 0.8, 0.9]],  # acc .8, bwt -.1, F .1
    ("ewc", "o3"): [[0.9, 0.1, 0.1], [0.9, 0.9, 0.1], [0.6, 0.9, 0.9]],  # acc .8, bwt -.15, F .15
}


def write_sweep(root: Path) -> Path:
    """The shared hand-computed sweep: ft and ewc over three rotations of a, b, c, seeds 0 and 1."""
    return write_results(root, SWEEP_ORDERS, SWEEP_MATRICES)

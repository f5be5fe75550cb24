"""Bit-identical matrices across processes: separate `clsweep train` processes with different hash seeds."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).parents[2]


def test_separate_processes_give_identical_matrices(raw: dict[str, Any], tmp_path: Path) -> None:
    raw = copy.deepcopy(raw)
    del raw["tasklist"]["tasks"]["pair"]
    raw["tasklist"]["defaults"]["source"].update(train_size=32, dev_size=16, test_size=16)
    # Replay: buffers, sampling and set/dict orders are where a process's hash seed could leak in.
    raw["approach"] = {"name": "replay", "replay": {"buffer_size": 24, "policy": "balanced"}}
    raw["run"]["tensorboard"] = False
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(raw, sort_keys=False))
    results = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
        subprocess.run([sys.executable, "-m", "clsweep", "train", str(exp), "--out", str(out), "--quiet"],
                       env=env, check=True, capture_output=True, timeout=300)
        results.append(json.loads((out / "result.json").read_text()))
    a, b = results
    for key in ("initial", "matrix", "initial_dev", "matrix_dev", "scores"):
        assert a[key] == b[key], key

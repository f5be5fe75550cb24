"""One Ray for all sweep tests (it costs ~5 s and ~0.5 GB), with a fake logical GPU for packing tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    ray.init(address="local", num_cpus=4, num_gpus=1, include_dashboard=False, log_to_driver=False,
             object_store_memory=200 * 1024**2,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                                       # workers unpickle the test observers in faults.py
                                       "PYTHONPATH": str(Path(__file__).parent)}})
    yield
    ray.shutdown()


@pytest.fixture
def sweep_raw(cache_dir: Path, tmp_path: Path) -> Any:
    """Builds the raw config of a small sweep storing under tmp_path/runs."""
    return lambda **search: _sweep_raw(cache_dir, tmp_path / "runs", **search)


def _sweep_raw(cache: Path, storage: Path, **search: Any) -> dict[str, Any]:
    """Three tiny synthetic tasks; trials take a second or two each."""
    src = {"kind": "synthetic", "train_size": 48, "dev_size": 16, "test_size": 16, "seed": 0}
    return {
        "tasklist": {
            "defaults": {"source": src},
            "tasks": {"topic": {"source": {"task": "topic"}},
                      "sentiment": {"source": {"task": "sentiment"}},
                      "ner": {"type": "token", "source": {"task": "ner"}}},
        },
        "model": {"backbone": "tiny", "max_length": 32, "tiny": {"hidden_size": 32, "intermediate_size": 64}},
        "approach": {"name": "finetune", "ewc": {"fisher_samples": 16}},
        "train": {"lr": 2e-3, "epochs": 1, "batch_size": 16, "seed": 0, "device": "cpu"},
        "eval": {"batch_size": 32},
        "search": search,
        "resources": {"cpu": 1, "gpu": 0},
        "run": {"cache_dir": str(cache), "storage_path": str(storage), "max_failures": 2},
    }

"""Shared test setup: offline hub, a small synthetic experiment, a private tokenization cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def small_raw(cache: Path, **train: Any) -> dict[str, Any]:
    """A three-task synthetic experiment (sequence, sentence pair, token) that trains in a few seconds."""
    src = {"kind": "synthetic", "train_size": 64, "dev_size": 24, "test_size": 24, "seed": 0}
    return {
        "tasklist": {
            "defaults": {"source": src},
            "tasks": {
                "topic": {"source": {"task": "topic"}},
                "pair": {"source": {"task": "pair"}, "text_pair_column": "text_pair"},
                "ner": {"type": "token", "source": {"task": "ner"}},
            },
        },
        "model": {"backbone": "tiny", "max_length": 40, "tiny": {"hidden_size": 32, "intermediate_size": 64}},
        "approach": {"name": "finetune"},
        "train": {"lr": 2e-3, "epochs": 1, "batch_size": 16, "seed": 0, "device": "cpu", **train},
        "eval": {"batch_size": 32, "misclassified": 3},
        "run": {"cache_dir": str(cache)},
    }


@pytest.fixture(autouse=True, scope="session")
def _transformers_logs_to_the_session_stream() -> None:
    """transformers gives its loggers one StreamHandler, on the sys.stderr of their first use. First used inside
    a test that captures stderr (capsys), that stream is closed afterwards and every later warning prints
    '--- Logging error ---' with a traceback into whatever a later test captures. Set it up on the session's."""
    from transformers.utils import logging as hf_logging

    hf_logging.get_logger()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clsweep-cache")


@pytest.fixture(scope="session")
def make_raw(cache_dir: Path) -> Any:
    """`small_raw` bound to the session cache, for fixtures wider than one test."""
    return lambda **train: small_raw(cache_dir, **train)


@pytest.fixture
def raw(cache_dir: Path) -> dict[str, Any]:
    return small_raw(cache_dir)

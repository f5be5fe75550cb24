"""Shared fixtures for the task-data tests: offline mode, the tiny tokenizer, config builders."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from clsweep.config import ExperimentConfig
from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.models.tiny import tiny_tokenizer


@pytest.fixture(scope="session")
def tok() -> Any:
    return tiny_tokenizer()


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., tuple[ExperimentConfig, Sources]]:
    """An experiment with an inline tasklist; errors name tmp_path/exp.yaml and `tasklist.tasks...`."""

    def make(tasks: dict[str, Any], **sections: Any) -> tuple[ExperimentConfig, Sources]:
        raw = {"approach": {"name": "finetune"}, "tasklist": {"tasks": tasks},
               "run": {"cache_dir": str(tmp_path / "cache")}, **sections}
        sources = Sources(experiment=str(tmp_path / "exp.yaml"), tasklist=None)
        return validate(raw, sources, base_dir=tmp_path), sources

    return make


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def write_jsonl() -> Callable[[Path, list[dict[str, Any]]], str]:
    return _write_jsonl


def _role_copies(path: Path) -> dict[str, str]:
    """train, dev and test from one written file: dev and test read copies of it (<stem>_dev, <stem>_test),
    since a config may not point two split roles at the same file."""
    roles = {"train": str(path)}
    for role in ("dev", "test"):
        roles[role] = str(shutil.copyfile(path, path.with_name(f"{path.stem}_{role}{path.suffix}")))
    return roles


@pytest.fixture
def role_copies() -> Callable[[Path], dict[str, str]]:
    return _role_copies

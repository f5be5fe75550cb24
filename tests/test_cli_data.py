"""Messy real files through `clsweep train`/`validate`: empty text cells by policy, numbers among string labels
said to be intended, a broken JSON line named by its line in one message (the refusals are in tests/badinput)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clsweep.cli import main

REPO = Path(__file__).parents[1]
TINY = {"backbone": "tiny", "max_length": 32, "tiny": {"hidden_size": 32, "intermediate_size": 64}}


def _csv(n: int, empty: set[int]) -> str:
    rows = [f"{'' if i in empty else ('great' if i % 2 else 'awful') + f' film {i}'},{'pos' if i % 2 else 'neg'}"
            for i in range(n)]
    return "text,label\n" + "\n".join(rows) + "\n"


def _jsonl(labels: list[object]) -> str:
    return "".join(json.dumps({"text": f"film number {i}", "label": lab}) + "\n" for i, lab in enumerate(labels))


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """Three tasks: empty text cells dropped, empty text read as "", and a stray 1 mapped onto 'pos'."""
    labels: list[object] = ["pos" if i % 2 else "neg" for i in range(24)]
    labels[4] = 1
    for name, text in (("drop.csv", _csv(24, {2, 9})), ("empty.csv", _csv(24, {5})), ("mixed.jsonl", _jsonl(labels))):
        for prefix in ("", "test_"):  # train and test read files of their own, with the same rows
            (tmp_path / f"{prefix}{name}").write_text(text)
    tasks = {
        "dropped": {"empty_text": "drop", "source": {"kind": "files", "train": "drop.csv", "test": "test_drop.csv"}},
        "filled": {"empty_text": "empty", "source": {"kind": "files", "train": "empty.csv", "test": "test_empty.csv"}},
        "mapped": {"label_map": {1: "pos"},
                   "source": {"kind": "files", "train": "mixed.jsonl", "test": "test_mixed.jsonl"}},
    }
    (tmp_path / "tl.yaml").write_text(yaml.safe_dump({"defaults": {"dev_fraction": 0.25}, "tasks": tasks}))
    exp = {"tasklist": "tl.yaml", "model": TINY, "train": {"epochs": 1, "batch_size": 16, "device": "cpu"},
           "run": {"cache_dir": str(tmp_path / "cache"), "tensorboard": False},
           "observe": {"resources": False, "misclassified": 0}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(exp))
    return tmp_path


def test_empty_text_policies_and_intended_numbers_train_and_are_recorded(
        messy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["train", str(messy / "exp.yaml"), "--out", str(messy / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 0, err
    stats = json.loads((messy / "out" / "result.json").read_text())["dataset_stats"]
    # The two dropped rows are gone before dev is carved: 22 rows read, 6 of them to dev (dev_fraction 0.25).
    assert stats["dropped"]["empty_text"] == {"policy": "drop", "rows": {"train": 2, "test": 2}}
    assert stats["dropped"]["splits"]["train"]["size"] + stats["dropped"]["splits"]["dev"]["size"] == 22
    assert stats["dropped"]["splits"]["test"]["size"] == 22
    assert stats["filled"]["empty_text"] == {"policy": "empty", "rows": {"train": 1, "test": 1}}
    assert stats["filled"]["splits"]["test"]["size"] == 24
    assert "empty_text" not in stats["mapped"]  # the default policy (error) met no empty cell
    assert stats["mapped"]["splits"]["test"]["labels"] == {"neg": 11, "pos": 13}  # 1 is 'pos': two classes
    assert "task dropped (sequence, 2 labels)" in err and "empty text dropped in 2 train row(s), 2 test row(s)" in err
    assert 'empty text read as "" in 1 train row(s), 1 test row(s)' in err


def test_a_broken_json_line_is_one_message_naming_the_line(tmp_path: Path) -> None:
    good = _jsonl(["pos", "neg"] * 20).splitlines()
    good[26] = good[26].replace('"pos"', "pos")
    (tmp_path / "train.jsonl").write_text("\n".join(good) + "\n")
    (tmp_path / "tl.yaml").write_text("tasks:\n  reviews: {source: {kind: files, train: train.jsonl}}\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "clsweep", "validate", "--data", "tl.yaml", "--set", "run.cache_dir=cache"]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    # Not "position 27" or "row 26" from the readers, nor their own log line: the file's line, once.
    assert proc.stderr.splitlines() == [
        "error: tl.yaml: tasks.reviews.source.train: cannot read train.jsonl as jsonl: line 27, column 37: "
        f"Expecting value: {good[26]}"]

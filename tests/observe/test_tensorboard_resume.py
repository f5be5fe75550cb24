"""`clsweep train --resume` into the same folder: TensorBoard gets every boundary point once, not twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from clsweep.cli import main
from clsweep.training.callbacks import CallbackList
from clsweep.training.state import RunState

SRC = {"kind": "synthetic", "train_size": 16, "dev_size": 8, "test_size": 8}


def raw_points(log_dir: Path) -> Counter[tuple[str, int]]:
    """Every (tag, step) as written, across all event files: TensorBoard's reader would hide some repeats."""
    counts: Counter[tuple[str, int]] = Counter()
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            counts.update((v.tag, int(event.step)) for v in event.summary.value)
    return counts


def test_resume_into_the_same_folder_writes_each_boundary_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = {"topic": {"source": {**SRC, "task": "topic"}}, "sentiment": {"source": {**SRC, "task": "sentiment"}},
             "intent": {"source": {**SRC, "task": "intent"}}}
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({
        "tasklist": {"tasks": tasks},
        "model": {"backbone": "tiny", "max_length": 32, "tiny": {"hidden_size": 32, "intermediate_size": 64}},
        "train": {"epochs": 1, "batch_size": 16, "device": "cpu"},
        "run": {"cache_dir": str(tmp_path / "cache")}, "observe": {"resources": False, "misclassified": 0}}))
    out = tmp_path / "run"
    real = CallbackList.on_task_end

    def ctrl_c_after_two(self: CallbackList, position: int, task: str, state: RunState, ckpt: Any) -> None:
        real(self, position, task, state, ckpt)
        if position == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(CallbackList, "on_task_end", ctrl_c_after_two)
    assert main(["train", str(exp), "--out", str(out), "--quiet"]) == 130
    monkeypatch.undo()
    assert main(["train", str(exp), "--resume", str(out), "--quiet"]) == 0, capsys.readouterr().err
    points = raw_points(out / "tb")
    # Step 0 (before training), the two boundaries done before the interrupt and the last one after it.
    for tag in ("score/test/topic", "score/dev/intent"):
        assert [s for (t, s) in sorted(points) if t == tag] == [0, 1, 2, 3]
    assert {s for (t, s) in points if t == "avg_seen/test"} == {1, 2, 3}
    assert ("data/topic/text_summary", 0) in points
    repeated = {k: n for k, n in points.items() if n > 1}
    assert repeated == {}

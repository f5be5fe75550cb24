"""Misclassified-sample files: misclassified/<task>.jsonl gains each evaluation stage's records.

The records and the complete counts are made by the trainer (clsweep.training.mistakes) and live in the
run state; this observer only writes them. A stage is appended; a run that starts (or resumes) first
drops any records of the stages it is about to write again, so a resumed run never duplicates records.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from clsweep.io import write_json_atomic, write_text_atomic
from clsweep.training.callbacks import Callback
from clsweep.training.state import RunState

COUNTS_FILE = "counts.json"


def task_file(folder: Path, task: str) -> Path:
    return folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", task) + ".jsonl")


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class MisclassifiedWriter(Callback):
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def on_run_start(self, state: RunState, resumed: bool) -> None:
        # Stage `completed` is in the state (stage 0 before training, or the boundary a resume starts from).
        for task in state.misclassified:
            path = task_file(self.folder, task)
            if path.is_file():
                kept = [r for r in read_records(path) if r["stage"] < state.completed]
                write_text_atomic(path, "".join(_line(r) for r in kept), durable=False)
        self._write(state)

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        self._write(state)

    def _write(self, state: RunState) -> None:
        if not state.mistakes:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for task, records in state.misclassified.items():
            with task_file(self.folder, task).open("a", encoding="utf-8") as f:
                f.write("".join(_line(r) for r in records))
        # Not fsynced: rewritten every stage, and the counts are also in each checkpoint and in result.json.
        write_json_atomic(self.folder / COUNTS_FILE, state.mistakes, durable=False)


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"

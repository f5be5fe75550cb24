"""Integrity: atomic writes survive a crash mid-write; a resume verifies its checkpoint before using it."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from clsweep.errors import ConfigError, Sources
from clsweep.io import write_dir_atomic, write_json_atomic
from clsweep.loading import validate
from clsweep.training.manifest import MANIFEST, verify_checkpoint
from clsweep.training.run import run_experiment

REPO = Path(__file__).parents[2]

# A writer killed in the middle: `result.json` gets half its new content, then the process hangs until killed;
# the checkpoint folder gets its weights file, then hangs before its manifest.
CRASHING_WRITER = """
import sys, time
from pathlib import Path
from clsweep import io
target, folder = Path(sys.argv[1]), Path(sys.argv[2])

class Hang:
    def __init__(self, f): self.f = f
    def write(self, text):
        self.f.write(text[: len(text) // 2]); self.f.flush()
        print("writing", flush=True); time.sleep(60)
    def __getattr__(self, name): return getattr(self.f, name)
    def __enter__(self): return self
    def __exit__(self, *exc): self.f.close()

real_fdopen = io.os.fdopen
io.os.fdopen = lambda *a, **k: Hang(real_fdopen(*a, **k))
if sys.argv[3] == "file":
    io.write_json_atomic(target, {"state": "new", "pad": "x" * 100000})
else:
    def fill(d):
        (d / "model.safetensors").write_bytes(b"new weights")
        print("writing", flush=True); time.sleep(60)
    io.write_dir_atomic(folder, fill)
"""


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_crash_in_the_middle_of_a_write_leaves_the_previous_version(tmp_path: Path, what: str) -> None:
    target, folder = tmp_path / "result.json", tmp_path / "task-01"
    write_json_atomic(target, {"state": "old"})
    write_dir_atomic(folder, lambda d: (d / "model.safetensors").write_bytes(b"old weights"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_WRITER, str(target), str(folder), what], env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"  # mid-write now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads(target.read_text()) == {"state": "old"}
    assert (folder / "model.safetensors").read_bytes() == b"old weights"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["result.json", "task-01"]


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    write_json_atomic(target, {"v": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"v": 2, "bad": object()})  # fails while serialising
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


@pytest.fixture
def two_task_raw(raw: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    del raw["tasklist"]["tasks"]["ner"]
    raw["tasklist"]["defaults"]["source"].update(train_size=32, dev_size=16, test_size=16)
    raw["run"]["keep_checkpoints"] = 2
    return raw


def _run(raw: dict[str, Any], out: Path, log: Any = None, **kw: Any) -> dict[str, Any]:
    cfg = validate(raw, Sources(str(out.parent / "exp.yaml"), None), base_dir=out.parent)
    return run_experiment(cfg, out, progress=False, log=log or (lambda m: None), **kw)


def test_resume_skips_a_corrupt_checkpoint_for_the_previous_intact_one(two_task_raw: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "run"
    full = _run(two_task_raw, out)
    ckpts = out / "checkpoints"
    assert [d.name for d in sorted(ckpts.iterdir())] == ["task-01", "task-02"]
    assert all(verify_checkpoint(d) is None for d in ckpts.iterdir())
    weights = ckpts / "task-02" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the last weight: same size, different content
    weights.write_bytes(bytes(data))
    assert verify_checkpoint(ckpts / "task-02") == f"model.safetensors does not match its sha256 in {MANIFEST}"
    (out / "result.json").unlink()  # as if the run had been interrupted after its last checkpoint
    logged: list[str] = []
    resumed = _run(two_task_raw, out, log=logged.append, resume=True)
    assert any("skipping checkpoint" in m and "task-02" in m for m in logged)
    assert any("resuming from" in m and "task-01" in m for m in logged)
    assert resumed["matrix"] == full["matrix"] and resumed["scores"] == full["scores"]  # task 2 retrained


@pytest.mark.parametrize("damage", ["truncate", "no-manifest"])
def test_resume_refuses_when_no_checkpoint_is_intact(two_task_raw: dict[str, Any], tmp_path: Path,
                                                     damage: str) -> None:
    two_task_raw["run"]["keep_checkpoints"] = 1
    out = tmp_path / "run"
    _run(two_task_raw, out)
    (out / "result.json").unlink()
    (ckpt,) = (out / "checkpoints").iterdir()
    if damage == "truncate":
        (ckpt / "approach.safetensors").write_bytes(b"")
        reason = "approach.safetensors has 0 bytes"
    else:
        (ckpt / MANIFEST).unlink()
        reason = "no manifest.json (the checkpoint was never completed)"
    with pytest.raises(ConfigError, match="no intact checkpoint to resume from") as caught:
        _run(two_task_raw, out, resume=True)
    assert reason in str(caught.value) and f"delete {out / 'checkpoints'}" in str(caught.value)


def test_checkpoints_hold_no_pickle(two_task_raw: dict[str, Any], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    full = _run(two_task_raw, out)
    names = {p.suffix for d in (out / "checkpoints").iterdir() for p in d.iterdir()}
    assert names <= {".safetensors", ".json"}
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load used on a checkpoint"))
    (out / "result.json").unlink()
    shutil.rmtree(sorted((out / "checkpoints").iterdir())[-1])  # resume from the first boundary
    resumed = _run(two_task_raw, out, resume=True)  # weights, approach state and RNG loaded without pickle
    assert resumed["matrix"] == full["matrix"]

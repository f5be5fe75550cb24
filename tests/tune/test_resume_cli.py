"""Killing the sweep's driver mid-sweep loses nothing: `clsweep run --resume` finishes without rerunning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml


def _results(exp: Path) -> dict[Path, tuple[int, str]]:
    return {p: (p.stat().st_mtime_ns, p.read_text()) for p in exp.glob("*/run-*/result.json")}


def _clsweep(*args: str, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_ADDRESS": ""}
    return subprocess.Popen([sys.executable, "-m", "clsweep", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **kw)


def _kill_after_first_result(exp_file: Path, exp: Path) -> dict[Path, tuple[int, str]]:
    """Start the sweep, kill its driver and everything it started (no warning) once a run has finished."""
    proc = _clsweep("run", str(exp_file))
    deadline = time.monotonic() + 240
    while not _results(exp) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()[0]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return _results(exp)


def test_killed_driver_resumes_without_rerunning(tmp_path: Path, sweep_raw: Any) -> None:
    # Selecting on forgetting: a trial Tune restarts after its run had finished reports from result.json, with
    # every objective (until 2026-12-02 only dev_acc and test_acc, and Tune stopped the sweep there).
    raw = sweep_raw(orderings="given", seeds=[0, 1, 2, 3], metric="dev_forgetting", mode="min")
    raw["run"]["max_concurrent_trials"] = 1  # one trial at a time, so the kill lands mid-sweep
    exp_file = tmp_path / "exp.yaml"
    exp_file.write_text(yaml.safe_dump(raw))
    exp = Path(raw["run"]["storage_path"]) / "exp"
    before = _kill_after_first_result(exp_file, exp)
    assert 1 <= len(before) < 4
    assert json.loads((exp / "sweep.json").read_text())["state"] == "running"

    again = _clsweep("run", str(exp_file))  # without --resume: refuses, starts nothing
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 2 and "--resume" in out and "Traceback" not in out

    resumed = _clsweep("run", str(exp_file), "--resume")
    out, _ = resumed.communicate(timeout=400)
    assert resumed.returncode == 0, out
    after = _results(exp)
    assert len(after) == 4
    for path, stamp in before.items():
        assert after[path] == stamp  # finished trials were not rerun
    assert json.loads((exp / "sweep.json").read_text())["state"] == "complete"
    assert (exp / "summary.csv").is_file()


def test_a_generative_sweep_resumes_after_a_killed_driver_and_analyzes(tmp_path: Path, sweep_raw: Any) -> None:
    """Two orderings x two approaches of text2text tasks on the tiny T5, end to end through the CLI."""
    raw = sweep_raw(orderings=[["topic", "sentiment"], ["sentiment", "topic"]], seeds=[0], algorithm="grid",
                    space={"approach.name": {"grid": ["finetune", "replay"]}})
    raw["tasklist"]["defaults"]["type"] = "text2text"
    del raw["tasklist"]["tasks"]["ner"]
    raw["model"]["backbone"] = "tiny-t5"
    raw["run"]["max_concurrent_trials"] = 1
    exp_file = tmp_path / "exp.yaml"
    exp_file.write_text(yaml.safe_dump(raw))
    exp = Path(raw["run"]["storage_path"]) / "exp"
    before = _kill_after_first_result(exp_file, exp)
    assert 1 <= len(before) < 4
    resumed = _clsweep("run", str(exp_file), "--resume")
    out, _ = resumed.communicate(timeout=400)
    assert resumed.returncode == 0, out
    after = _results(exp)
    assert len(after) == 4 and all(after[p] == s for p, s in before.items())
    assert {json.loads(p.read_text())["scenario"] for p in after} == {"generative"}
    analyzed = _clsweep("analyze", str(exp), "--out", str(tmp_path / "analysis"))
    text, _ = analyzed.communicate(timeout=300)
    assert analyzed.returncode == 0, text
    assert "finetune" in text and "replay" in text and "Traceback" not in text

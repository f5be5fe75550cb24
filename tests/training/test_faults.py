"""Runtime faults end a run with a clear reason, recorded in fault.json, and keep what finished before them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from clsweep.cli import main
from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.training.callbacks import Callback
from clsweep.training.faults import FAULT_FILE, OutOfMemory, memory_figures
from clsweep.training.manifest import verify_checkpoint
from clsweep.training.run import run_experiment

OOM_TEXT = ("CUDA out of memory. Tried to allocate 512.00 MiB. GPU 0 has a total capacity of 79.19 GiB of which "
            "20.50 MiB is free.")


@pytest.fixture
def two_tasks(raw: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    del raw["tasklist"]["tasks"]["ner"]
    raw["tasklist"]["defaults"]["source"].update(train_size=32, dev_size=16, test_size=16)
    raw["train"]["log_every"] = 1
    return raw


def test_nan_loss_stops_the_run_with_its_reason_and_keeps_finished_tasks(
        two_tasks: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two_tasks["tasklist"]["tasks"]["pair"]["lr"] = 1e30  # the second task diverges at once
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(two_tasks, sort_keys=False))  # topic, then pair
    out = tmp_path / "run"
    rc = main(["train", str(exp), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" not in err
    assert "error: the run stopped: the training loss became non-finite (nan) at step 2 of task 'pair'" in err
    assert "lower train.lr" in err
    fault = json.loads((out / FAULT_FILE).read_text())
    assert fault["fault"] == "NonFiniteLoss" and fault["task"] == "pair" and fault["phase"] == "train"
    assert fault["step"] == 2 and fault["loss"] == "nan"
    assert not (out / "result.json").exists()
    (ckpt,) = (out / "checkpoints").iterdir()  # the first task's boundary survives, intact
    assert ckpt.name == "task-01" and verify_checkpoint(ckpt) is None


class OomAt(Callback):
    """Raises the error torch raises when CUDA memory runs out, at a chosen step of the second task."""

    def on_step(self, info: Any) -> None:
        if info.position == 1 and info.step == 2:
            raise torch.cuda.OutOfMemoryError(OOM_TEXT)


def test_out_of_memory_becomes_a_recorded_fault(two_tasks: dict[str, Any], tmp_path: Path) -> None:
    cfg = validate(two_tasks, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    with pytest.raises(OutOfMemory) as caught:
        run_experiment(cfg, tmp_path / "run", callbacks=[OomAt()], progress=False, log=lambda m: None)
    message = str(caught.value)
    assert message.startswith("CUDA out of memory during train of task 'pair'")
    assert "Tried to allocate 512.00 MiB" in message and "batch_size" in message
    fault = json.loads((tmp_path / "run" / FAULT_FILE).read_text())
    assert fault["fault"] == "OutOfMemory" and fault["task"] == "pair" and fault["torch_message"] == OOM_TEXT
    assert fault["memory"] == {}  # a cpu run has no CUDA figures; see the next test for a CUDA device


def test_out_of_memory_message_carries_the_memory_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    mib = 2**20
    fake = {"memory_allocated": 700 * mib, "memory_reserved": 900 * mib, "max_memory_allocated": 800 * mib}
    for name, value in fake.items():
        monkeypatch.setattr(torch.cuda, name, lambda device=None, v=value: v)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (20 * mib, 1000 * mib))
    device = torch.device("cuda", 0)
    assert memory_figures(device) == {"allocated_mib": 700, "reserved_mib": 900, "peak_allocated_mib": 800,
                                      "free_mib": 20, "total_mib": 1000}
    fault = OutOfMemory.from_error(torch.cuda.OutOfMemoryError(OOM_TEXT), "topic", "eval", device)
    assert str(fault).startswith("CUDA out of memory during eval of task 'topic' (allocated 700 MiB, reserved "
                                 "900 MiB, peak_allocated 800 MiB, free 20 MiB, total 1000 MiB)")
    assert fault.to_json()["memory"]["free_mib"] == 20

"""A real two-task run, measured: TensorBoard tags, misclassified files with forgetting events, timings,
resources (a fake NVML stands in for the GPU), a profile trace; and R unchanged by all of it."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_nvml import FakeGpu  # tests/observe is on sys.path (no __init__.py)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.observe.misclassified import read_records
from clsweep.observe.profile import ProfilerCallback
from clsweep.observe.resources import ResourceMonitor
from clsweep.training import run as run_module
from clsweep.training.callbacks import Callback
from clsweep.training.run import prepare, run_experiment
from clsweep.training.state import RunState

ORDER = ["topic", "intent"]  # intent regroups topic's signal words: topic forgets
KEEP = 5


def forgetting_raw(cache: Path) -> dict[str, Any]:
    src = {"kind": "synthetic", "train_size": 128, "dev_size": 16, "test_size": 48, "seed": 0}
    return {
        "tasklist": {"defaults": {"source": src}, "tasks": {t: {"source": {"task": t}} for t in ORDER}},
        "model": {"backbone": "tiny", "max_length": 24, "tiny": {"hidden_size": 32, "intermediate_size": 64}},
        "train": {"lr": 3e-3, "epochs": 4, "batch_size": 16, "seed": 0, "device": "cpu", "scheduler": "constant",
                  "log_every": 4},
        "eval": {"batch_size": 64, "misclassified": KEEP},
        "run": {"cache_dir": str(cache)},
    }


def run(raw: dict[str, Any], out: Path, **kw: Any) -> dict[str, Any]:
    cfg = validate(raw, Sources(str(out.parent / "exp.yaml"), None), base_dir=out.parent)
    return run_experiment(cfg, out, progress=False, log=lambda m: None, **kw)


@pytest.fixture(scope="module")
def measured(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Everything on, with a fake GPU sampled every 5 ms as if the run were on CUDA, and the profiler."""
    folder = tmp_path_factory.mktemp("measured")
    gpu = FakeGpu(processes={os.getpid(): 700 * 2**20, os.getpid() + 1: 2**30})
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "pynvml", gpu.module())
        mp.setattr(run_module, "ResourceMonitor",
                   lambda no_gpu, interval_s, path: ResourceMonitor(None, 0.005, device_index=0, path=path))
        result = run(forgetting_raw(cache_dir), folder / "run", callbacks=[ProfilerCallback(folder / "run" / "prof",
                                                                                           steps=2, wait=1)])
    return {"out": folder / "run", "result": result, "raw": forgetting_raw(cache_dir)}


def scalars(tb: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(tb), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_has_scores_loss_timing_memory_and_hparams(measured: dict[str, Any]) -> None:
    tb = measured["out"] / "tb"
    got = scalars(tb)
    R = measured["result"]["matrix"]
    assert [v for _, v in got["score/test/topic"]] == pytest.approx([measured["result"]["initial"][0], R[0][0],
                                                                     R[1][0]])
    assert [s for s, _ in got["train/loss/intent"]] == [36, 40, 44, 48, 52, 56, 60, 64]  # every 4th of 32 steps
    assert {"train/lr/topic", "avg_seen/test", "forgetting/test", "forgetting/dev"} <= set(got)
    for task_tag in ("time/train_s", "time/eval_s", "time/checkpoint_s", "time/tokens_per_s", "time/eval_share",
                     "resources/all/rss_peak_mib", "resources/train/cpu_util", "gpu/train/memory_peak_mib",
                     "gpu/eval/util_mean", "gpu/all/memory_mean_mib", "mistakes/newly_wrong/topic"):
        assert [s for s, _ in got[task_tag]] == [1, 2], task_tag  # one point per task learned
    assert got["gpu/train/memory_peak_mib"][0][1] == 700  # this process, not the 1 GiB of the other one
    assert got["hparam/test/acc"] == [(2, pytest.approx(measured["result"]["metrics"]["acc"]))]
    acc = EventAccumulator(str(tb))
    acc.Reload()
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(acc.PluginTagToContent("hparams"))
    assert {"data/topic/text_summary", "data/intent/text_summary"} <= set(acc.Tags()["tensors"])


def test_an_earlier_task_records_its_forgetting_events(measured: dict[str, Any]) -> None:
    result, out = measured["result"], measured["out"]
    R = result["matrix"]
    assert R[1][0] < R[0][0]  # learning intent cost topic accuracy
    records = [json.loads(line) for line in (out / "misclassified" / "topic.jsonl").read_text().splitlines()]
    after_intent = [r for r in records if r["stage"] == 2]
    assert after_intent and all(r["after"] == "intent" and r["task"] == "topic" for r in after_intent)
    assert any(r["newly_wrong"] for r in after_intent)
    for r in after_intent:
        assert r["text"] and r["gold"] != r["pred"] and 0 < r["confidence"] <= 1
    counts = result["misclassified_counts"]["topic"]
    assert [c["stage"] for c in counts] == [0, 1, 2] and [c["after"] for c in counts] == [None, "topic", "intent"]
    assert json.loads((out / "misclassified" / "counts.json").read_text()) == result["misclassified_counts"]


def test_counts_are_complete_and_agree_with_R(measured: dict[str, Any]) -> None:
    result, out = measured["result"], measured["out"]
    rows = [result["initial"], *result["matrix"]]
    for j, task in enumerate(ORDER):
        counts = result["misclassified_counts"][task]
        stages = [json.loads(x)["stage"] for x in (out / "misclassified" / f"{task}.jsonl").read_text().splitlines()]
        for k, c in enumerate(counts):
            assert c["wrong"] == round(c["total"] * (1 - rows[k][j]))  # accuracy tasks: wrong = (1 - R) * n
            assert c["written"] == min(c["wrong"], KEEP) == stages.count(k)
            if k:  # every example wrong now was either wrong before and not fixed, or is newly wrong
                assert c["wrong"] == counts[k - 1]["wrong"] - c["fixed"] + c["newly_wrong"]


def test_timings_per_task(measured: dict[str, Any], tmp_path: Path) -> None:
    timings = measured["result"]["timings"]
    cfg = validate(measured["raw"], Sources(str(tmp_path / "e.yaml"), None), base_dir=tmp_path)
    _, tasks = prepare(cfg, log=lambda m: None)
    for name in ORDER:
        t = timings["tasks"][name]
        assert t["steps"] == 4 * 128 // 16
        assert t["tokens"] == 4 * sum(len(ids) for ids in tasks[name].splits["train"].input_ids)  # no padding
        assert t["tokens_per_s"] == pytest.approx(t["tokens"] / t["train_s"])
        assert t["steps_per_s"] == pytest.approx(t["steps"] / t["train_s"])
        phases = t["train_s"] + t["after_task_s"] + t["eval_s"] + t["checkpoint_s"]
        assert t["eval_share"] == pytest.approx(t["eval_s"] / phases)
        assert t["data_s"] > 0 and t["checkpoint_s"] > 0
    phases = timings["initial_eval_s"] + sum(t[k] for t in timings["tasks"].values()
                                             for k in ("train_s", "after_task_s", "eval_s", "checkpoint_s"))
    evals = timings["initial_eval_s"] + sum(t["eval_s"] for t in timings["tasks"].values())
    assert timings["eval_share"] == pytest.approx(evals / phases) and timings["initial_eval_s"] > 0


def test_resources_and_profile(measured: dict[str, Any]) -> None:
    res = measured["result"]["resources"]
    assert res["gpu"]["available"] and res["gpu"]["memory_source"] == "nvml-process"
    for name in ORDER:
        train = res["tasks"][name]["train"]
        assert train["gpu"]["samples"] >= 1 and train["gpu"]["memory_peak_mib"] == 700
        assert train["cpu_s"] > 0 and train["rss_peak_mib"] > 0
        assert res["tasks"][name]["all"]["wall_s"] == pytest.approx(sum(
            v["wall_s"] for k, v in res["tasks"][name].items() if k != "all"))
    assert json.loads((measured["out"] / "resources.json").read_text())["tasks"].keys() == res["tasks"].keys()
    traces = list((measured["out"] / "prof").glob("*.pt.trace.json"))
    assert len(traces) == 1 and json.loads(traces[0].read_text())["traceEvents"]
    assert "aten::" in (measured["out"] / "prof" / "key_averages.txt").read_text()


def test_measurement_leaves_training_unchanged(measured: dict[str, Any], tmp_path: Path) -> None:
    raw = copy.deepcopy(measured["raw"])
    raw["observe"] = {"resources": False, "misclassified": False}
    raw["run"]["tensorboard"] = False
    quiet = run(raw, tmp_path / "quiet")
    on = measured["result"]
    assert quiet["matrix"] == on["matrix"] and quiet["matrix_dev"] == on["matrix_dev"]
    assert quiet["initial"] == on["initial"] and quiet["initial_dev"] == on["initial_dev"]
    assert not (tmp_path / "quiet" / "tb").exists() and not (tmp_path / "quiet" / "misclassified").exists()
    assert quiet["misclassified_counts"] == {} and quiet["resources"]["gpu"]["reason"] == "observe.resources is off"


class Interrupt(Exception):
    pass


class StopAfterFirst(Callback):
    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        raise Interrupt


def test_resumed_run_writes_the_same_files(measured: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "cut"
    with pytest.raises(Interrupt):
        run(measured["raw"], out, callbacks=[StopAfterFirst()])
    resumed = run(measured["raw"], out, resume=True)
    assert resumed["misclassified_counts"] == measured["result"]["misclassified_counts"]
    for task in ORDER:  # no stage lost, none written twice
        name = f"misclassified/{task}.jsonl"
        got, want = (read_records(d / name) for d in (out, measured["out"]))
        # Same examples, labels and stages; confidences agree to float noise (a resumed run matches
        # predictions and R, not every logit bit: CPU kernels may take other paths on reloaded tensors).
        assert [{**r, "confidence": 0} for r in got] == [{**r, "confidence": 0} for r in want]
        assert [r["confidence"] for r in got] == pytest.approx([r["confidence"] for r in want], abs=0.02)
    assert list(resumed["resources"]["tasks"]) == ["<initial>", *ORDER]  # the first task's figures survive

"""Sweeps on a shared local Ray: results per trial, summary, retry from a task checkpoint, GPU packing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from faults import Barrier, CrashOnce, OomOnce, RecordTask, RecordWorker  # importable by Ray workers too (see conftest)

from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError, Sources
from clsweep.loading import validate
from clsweep.sweep.plan import make_plan
from clsweep.training.run import run_experiment
from clsweep.tune.launcher import SweepOptions, experiment_dir, run_sweep

pytestmark = pytest.mark.usefixtures("ray_session")


def _cfg(raw: dict[str, Any], tmp: Path) -> ExperimentConfig:
    return validate(raw, Sources(str(tmp / "exp.yaml"), None), tmp)


def _sweep(raw: dict[str, Any], tmp: Path, name: str, **kw: Any) -> tuple[int, Path]:
    cfg = _cfg(raw, tmp)
    opts = SweepOptions(name=name, file=str(tmp / "exp.yaml"), log=lambda m: None, **kw)
    code = run_sweep(cfg, make_plan(cfg), None, opts)
    return code, experiment_dir(cfg, name)


def _results(exp: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for p in sorted(exp.rglob("result.json")):
        if "checkpoint" not in str(p):
            data = json.loads(p.read_text())
            out[str(p.relative_to(exp))] = data
    return out


def test_grid_sweep_results_summary_and_rerun(tmp_path: Path, sweep_raw: Any,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    raw = sweep_raw(orderings=[["topic", "sentiment", "ner"], ["ner", "topic", "sentiment"]],
                    space={"approach.name": {"grid": ["finetune", "ewc"]}, "approach.ewc.lambda": {"grid": [10, 100]}})
    code, exp = _sweep(raw, tmp_path, "grid")
    assert code == 0
    results = _results(exp)
    assert len(results) == 3 * 2  # finetune + ewc x 2 lambdas, over 2 orderings: no duplicate finetune trials
    configs = {r["sweep"]["config_id"] for r in results.values()}
    assert len(configs) == 3
    orders = {tuple(r["order"]) for r in results.values()}
    assert orders == {("topic", "sentiment", "ner"), ("ner", "topic", "sentiment")}
    lambdas = {r["config"]["approach"]["ewc"]["lambda"] for r in results.values() if r["approach"] == "ewc"}
    assert lambdas == {10, 100}
    summary = (exp / "summary.csv").read_text()
    assert summary.count("\n") == 1 + 3 and "acc_mean" in summary
    out = capsys.readouterr().out
    assert "acc" in out
    # TensorBoard events of a trial hold the per-task scores.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb_dir = next(exp.rglob("tb"))
    acc = EventAccumulator(str(tb_dir))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"score/test/topic", "score/dev/ner", "avg_seen/test"} <= set(tags)
    assert [e.step for e in acc.Scalars("score/test/topic")] == [0, 1, 2, 3]
    # Running the same sweep again redoes nothing.
    stamps = {p: (exp / p).stat().st_mtime_ns for p in results}
    code, _ = _sweep(raw, tmp_path, "grid")
    assert code == 0
    assert {p: (exp / p).stat().st_mtime_ns for p in results} == stamps


def test_reused_workers_write_every_trial_into_its_own_folder(tmp_path: Path, sweep_raw: Any) -> None:
    # Five trials on two workers: Ray hands each worker a second and third trial (reuse_actors). Before
    # clsweep bound each trial to its own folder, a reused worker wrote under Ray's per-process working
    # directory and results went missing.
    raw = sweep_raw(orderings="given", seeds=[0, 1, 2, 3, 4])
    raw["run"]["max_concurrent_trials"] = 2
    workers = tmp_path / "workers"
    workers.mkdir()
    code, exp = _sweep(raw, tmp_path, "reuse", extra_callbacks=lambda i: [RecordWorker(workers, i)])
    assert code == 0
    pids = [p.read_text() for p in workers.iterdir()]
    assert len(pids) == 5 and len(set(pids)) <= 3  # at least two trials ran in a reused worker
    results = _results(exp)
    assert sorted(results) == sorted(f"finetune__given_seed{s}/run-00/result.json" for s in range(5))
    for path, result in results.items():
        assert result["sweep"]["trial_id"] == path.split("/")[0]
        assert path.startswith(f"finetune__given_seed{result['seed']}/")
    # A reused worker carries nothing over: the last trial equals a fresh run of its seed.
    cfg = _cfg({**raw, "train": {**raw["train"], "seed": 4}}, tmp_path)
    reference = run_experiment(cfg, tmp_path / "reference", progress=False, log=lambda m: None)
    assert results["finetune__given_seed4/run-00/result.json"]["matrix"] == reference["matrix"]


def test_runs_sharing_a_prefix_train_it_once_on_ray(tmp_path: Path, sweep_raw: Any) -> None:
    # Selecting on forgetting: until 2026-12-02 a shared group reported dev_acc and test_acc only, and Tune stopped
    # the sweep at the first finished run ("did not include the specified metric").
    raw = sweep_raw(orderings=[["topic", "sentiment", "ner"], ["topic", "ner", "sentiment"]],
                    space={"approach.name": {"grid": ["finetune", "ewc"]}}, metric="dev_forgetting", mode="min")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    code, exp = _sweep(raw, tmp_path, "shared", extra_callbacks=lambda i: [RecordTask(tasks)])
    assert code == 0
    # 4 runs x 3 tasks unshared; shared: topic once for all four, then 2 + 2 per configuration.
    started = sorted(p.name.split("-")[1] for p in tasks.iterdir())
    assert len(started) == 1 + 4 + 4 and started.count("topic") == 1
    results = _results(exp)
    assert sorted(results) == sorted(f"{c}__order-0{i}_seed0/run-00/result.json"
                                     for c in ("finetune", "ewc") for i in (1, 2))
    name = "ewc__order-02_seed0/run-00/result.json"
    cfg = _cfg({**raw, "approach": {**raw["approach"], "name": "ewc"}, "order": ["topic", "ner", "sentiment"]},
               tmp_path)
    alone = run_experiment(cfg, tmp_path / "alone", progress=False, log=lambda m: None)
    assert results[name]["matrix"] == alone["matrix"] and results[name]["sweep"]["trial_id"] == name.split("/")[0]
    assert (exp / "summary.csv").read_text().count("\n") == 1 + 2
    assert pd.read_csv(exp / "selected.csv")["selected_on"].tolist() == ["forgetting_dev"] * 2  # the sweep's metric
    reported = pd.concat(pd.read_csv(p) for p in exp.glob("shared_*/progress.csv"))
    assert sorted(reported["dev_forgetting"]) == pytest.approx(sorted(r["metrics_dev"]["forgetting"]
                                                                      for r in results.values()))
    # The nodes before the last task (1 + 2 x 2) keep their config and curves; their checkpoints went with the end.
    nodes = list((exp / "_prefixes").iterdir())
    assert len(nodes) == 5 and all((n / "config.json").is_file() and not (n / "checkpoints").exists() for n in nodes)


def test_killed_worker_resumes_from_task_checkpoint(tmp_path: Path, sweep_raw: Any) -> None:
    raw = sweep_raw(orderings="given")
    raw["approach"] = {"name": "ewc", "ewc": {"lambda": 100.0, "fisher_samples": 16}}
    marker = tmp_path / "crashed"
    code, exp = _sweep(raw, tmp_path, "crash", extra_callbacks=lambda i: [CrashOnce(marker)])
    assert code == 0 and marker.exists()
    (result,) = _results(exp).values()
    # Positions 0 and 1 ran once; the crash hit position 2 mid-task and the retry began there, not from scratch.
    starts = (tmp_path / "starts.txt").read_text().split()
    assert starts == ["0", "1", "2", "2"]
    cfg = _cfg(raw, tmp_path)
    reference = run_experiment(cfg, tmp_path / "reference", progress=False, log=lambda m: None)
    assert result["matrix"] == reference["matrix"]
    assert result["matrix_dev"] == reference["matrix_dev"]


def test_nan_and_oom_trials_end_with_their_reason_while_the_sweep_goes_on(
        tmp_path: Path, sweep_raw: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Selecting on forgetting: until 2026-12-02 a fault's report carried dev_acc and test_acc only, and Tune
    # stopped the sweep at it ("did not include the specified metric").
    raw = sweep_raw(orderings="given", space={"train.lr": {"grid": [2e-3, 3e-3, 1e30]}}, metric="dev_forgetting",
                    mode="min")
    raw["train"]["log_every"] = 1
    marker = tmp_path / "oom"
    code, exp = _sweep(raw, tmp_path, "faults", extra_callbacks=lambda i: [OomOnce(marker)])
    assert code == 0  # faults are outcomes of their trials, not failures of the sweep
    status = json.loads((exp / "sweep.json").read_text())
    assert status["state"] == "complete" and status["errored_trials"] == 0
    faults = {f["trial"]: f for f in status["faulted_trials"]}
    kinds = sorted(f["fault"] for f in faults.values())
    assert kinds == ["NonFiniteLoss", "OutOfMemory"]
    for f in faults.values():
        if f["fault"] == "NonFiniteLoss":
            assert "lr=1e+30" in f["trial"] and "became non-finite (nan) at step" in f["reason"]
        else:
            assert f["reason"].startswith("CUDA out of memory during train of task 'sentiment'")
        (fault_file,) = (exp / f["trial"]).glob("run-*/fault.json")
        assert json.loads(fault_file.read_text())["fault"] == f["fault"]
    (result,) = _results(exp).values()  # the healthy trial that was not hit finished
    assert result["config"]["train"]["lr"] in (2e-3, 3e-3)
    # Where results are read: the printed summary, faults.csv (read from fault.json, never from Ray) and the report.
    assert "faulted runs, not in the statistics above: 2" in capsys.readouterr().out
    listed = {(r["trial_id"], r["fault"], r["phase"]) for r in pd.read_csv(exp / "faults.csv").to_dict("records")}
    assert listed == {(trial, f["fault"], "train") for trial, f in faults.items()}
    assert "<h2>Faulted runs</h2>" in (exp / "report.html").read_text()


def test_four_quarter_gpu_trials_run_concurrently(tmp_path: Path, sweep_raw: Any) -> None:
    raw = sweep_raw(orderings="given", seeds=[0, 1, 2, 3])
    raw["resources"] = {"cpu": 0.5, "gpu": 0.25}
    arrivals = tmp_path / "arrivals"
    arrivals.mkdir()
    code, exp = _sweep(raw, tmp_path, "pack", extra_callbacks=lambda i: [Barrier(arrivals, 4)])
    assert code == 0
    assert len(list(arrivals.iterdir())) == 4
    assert len(_results(exp)) == 4


def test_impossible_gpu_request_is_refused_before_the_sweep(tmp_path: Path, sweep_raw: Any) -> None:
    raw = sweep_raw(orderings="given")
    raw["resources"] = {"cpu": 1, "gpu": 2}
    with pytest.raises(ConfigError, match=r"resources\.gpu.*2 GPU"):
        _sweep(raw, tmp_path, "toomany")
    assert not _results(tmp_path / "runs")


def test_optuna_sweep_keeps_orderings_as_outer_grid(tmp_path: Path, sweep_raw: Any) -> None:
    raw = sweep_raw(orderings=[["topic", "sentiment", "ner"], ["sentiment", "ner", "topic"]],
                    algorithm="optuna", num_samples=2,
                    space={"train.lr": {"loguniform": [1e-3, 3e-3]}, "approach.ewc.lambda": {"loguniform": [1, 1000]}})
    raw["approach"]["name"] = "ewc"
    code, exp = _sweep(raw, tmp_path, "optuna")
    assert code == 0
    results = list(_results(exp).values())
    assert len(results) == 2 * 2  # 2 Optuna trials, each over both orderings (a paired design)
    by_trial: dict[str, set[tuple[str, ...]]] = {}
    for r in results:
        by_trial.setdefault(r["sweep"]["trial_id"], set()).add(tuple(r["order"]))
    assert len(by_trial) == 2
    assert all(len(orders) == 2 for orders in by_trial.values())
    lrs = {r["config"]["train"]["lr"] for r in results}
    assert len(lrs) == 2 and all(1e-3 <= lr <= 3e-3 for lr in lrs)

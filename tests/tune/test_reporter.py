"""What a trial reports to Tune: a shared group's report of a finished run carries every objective an unshared
trial reports at that run's last task, computed from result.json instead of the live run state."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from clsweep.config import ExperimentConfig
from clsweep.training.callbacks import Callback
from clsweep.training.faults import NonFiniteLoss
from clsweep.training.run import run_experiment
from clsweep.training.state import RunState
from clsweep.tune.reporter import TuneReporter, boundary_metrics, final_metrics, run_objectives
from clsweep.tune.trainable import fault_metrics


class LastBoundary(Callback):
    """What TuneReporter would report at each task boundary; the last one is kept."""

    def __init__(self, primary: dict[str, str]) -> None:
        self.primary = primary
        self.metrics: dict[str, Any] = {}

    def on_task_end(self, position: int, task: str, state: RunState, checkpoint: Path | None) -> None:
        self.metrics = boundary_metrics(state, self.primary)


def test_final_metrics_from_result_json_equal_the_last_boundarys(tmp_path: Path, raw: dict[str, Any]) -> None:
    cfg = ExperimentConfig.model_validate(raw)
    last = LastBoundary({t: cfg.task(t).metric_names[0] for t in cfg.task_order})
    result = run_experiment(cfg, tmp_path / "run", callbacks=[last], progress=False, log=lambda m: None)
    stored = json.loads((tmp_path / "run" / "result.json").read_text())
    assert final_metrics(stored) == last.metrics
    assert set(last.metrics) >= {"dev_forgetting", "dev_avg_seen", "test_forgetting", "dev/topic", "dev/ner"}
    # And against result.json's own summary, computed by build_result.
    assert math.isclose(final_metrics(stored)["dev_forgetting"], result["metrics_dev"]["forgetting"])
    assert math.isclose(final_metrics(stored)["test_avg_seen"], result["metrics_test"]["acc"])


@pytest.mark.parametrize("metric", ["dev_acc", "dev_avg_seen", "dev_forgetting", "dev/topic", "dev/ner"])
def test_a_faults_report_carries_every_objective_a_search_can_select_on_as_nan(metric: str) -> None:
    """Tune stops the whole sweep at a report without its metric: a faulted trial must report it (as NaN)."""
    report = fault_metrics(NonFiniteLoss("loss became non-finite", "topic", "train"), 0, ["topic", "ner"])
    assert math.isnan(report[metric]) and math.isnan(report[metric.replace("dev", "test", 1)])
    assert report["fault"] == "NonFiniteLoss"


def test_a_multi_run_trial_reports_every_objective_as_the_mean_over_its_runs(
        tmp_path: Path, raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Optuna trials train every ordering and seed: until 2026-12-02 only dev_acc was their mean, and a search on
    dev_forgetting or dev/<task> ranked a configuration by its last run alone."""
    import clsweep.tune.reporter as reporter

    reports: list[dict[str, Any]] = []
    monkeypatch.setattr(reporter.tune, "report", lambda metrics, checkpoint=None: reports.append(metrics))
    cfg = ExperimentConfig.model_validate(raw)
    primary = {t: cfg.task(t).metric_names[0] for t in cfg.task_order}
    first = run_experiment(cfg, tmp_path / "a", progress=False, log=lambda m: None)
    second_cfg = ExperimentConfig.model_validate({**raw, "order": ["ner", "pair", "topic"]})
    second = run_experiment(second_cfg, tmp_path / "b", progress=False, log=lambda m: None,
                            callbacks=[TuneReporter(primary, 1, [run_objectives(first)])])
    last = reports[-1]
    for key, a, b in [("dev_forgetting", first["metrics_dev"]["forgetting"], second["metrics_dev"]["forgetting"]),
                      ("dev_acc", first["metrics_dev"]["acc"], second["metrics_dev"]["acc"]),
                      ("test_avg_seen", first["metrics_test"]["acc"], second["metrics_test"]["acc"])]:
        assert math.isclose(last[key], (a + b) / 2), key
    by_task = [first["matrix_dev"][-1][first["order"].index("topic")],
               second["matrix_dev"][-1][second["order"].index("topic")]]
    assert math.isclose(last["dev/topic"], sum(by_task) / 2)
    assert first["metrics_dev"]["forgetting"] != second["metrics_dev"]["forgetting"]  # the mean is not either one

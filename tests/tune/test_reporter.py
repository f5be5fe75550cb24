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
from clsweep.tune.reporter import boundary_metrics, final_metrics
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

"""The sweep's progress line: trials and the best so far; shared groups counted as groups and runs, no best."""

from __future__ import annotations

from types import SimpleNamespace

from clsweep.tune.progress import SweepProgress


class _Named(SimpleNamespace):
    def __str__(self) -> str:
        return str(self.name)


def test_one_trial_per_run_names_the_best_finished_trial() -> None:
    trials = [_Named(name="a", status="TERMINATED", last_result={"dev_acc": 0.61}),
              _Named(name="b", status="TERMINATED", last_result={"dev_acc": 0.74}),
              _Named(name="c", status="RUNNING", last_result={"dev_acc": 0.99}),  # mid-run: not ranked
              _Named(name="d", status="PENDING", last_result={})]
    line = SweepProgress("dev_acc", "max", 5)._line(trials)
    assert line.endswith("2/5 done, 1 running, 1 pending, 0 errored; best dev_acc=0.7400 (b)")
    assert SweepProgress("dev_acc", "min", 5)._line(trials).endswith("best dev_acc=0.6100 (a)")


def test_shared_groups_count_groups_and_their_finished_runs_and_name_no_best() -> None:
    """A group's dev_acc is the mean over runs of several configurations: ranking groups would mislead."""
    trials = [_Named(name="g1", status="TERMINATED", last_result={"dev_acc": 0.7, "runs_finished": 4}),
              _Named(name="g2", status="RUNNING", last_result={"dev_acc": 0.9, "runs_finished": 1}),
              _Named(name="g3", status="PENDING", last_result={})]
    line = SweepProgress("dev_acc", "max", 3, runs=12)._line(trials)
    assert line.endswith("1/3 shared groups (5/12 runs) done, 1 running, 1 pending, 0 errored")

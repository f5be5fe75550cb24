"""Tests for TensorBoardCallback: drive it with a hand-made 3-task run and read the event files back."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from clsweep.observe import TensorBoardCallback
from clsweep.training.callbacks import StepInfo
from clsweep.training.state import Row, RunState

ORDER = ["b", "a", "c"]  # deliberately not alphabetical: scores are keyed by name
PRIMARY = {"a": "accuracy", "b": "f1", "c": "accuracy"}
# TEST[k] = test scores after k tasks (k = 0 is before training), in ORDER.
TEST = [[0.1, 0.2, 0.3], [0.8, 0.25, 0.3], [0.6, 0.9, 0.35], [0.5, 0.7, 0.95]]


def row(k: int) -> Row:
    test = {t: {PRIMARY[t]: TEST[k][j], "other": -1.0} for j, t in enumerate(ORDER)}
    dev = {t: {PRIMARY[t]: TEST[k][j] - 0.05, "other": -1.0} for j, t in enumerate(ORDER)}
    return Row(task=ORDER[k - 1] if k else None, dev=dev, test=test)


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def run_fabricated(log_dir: Path) -> None:
    cb = TensorBoardCallback(log_dir, PRIMARY)
    state = RunState(order=list(ORDER), initial=row(0))
    cb.on_run_start(state, resumed=False)
    global_step = 0
    for position, task in enumerate(ORDER):
        cb.on_task_start(position, task, 2)
        for step in (1, 2):
            global_step += 1
            cb.on_step(StepInfo(position, task, step, 2, global_step, loss=1.0 / global_step, lr=0.01 * step))
        state.rows.append(row(position + 1))
        cb.on_task_end(position, task, state, checkpoint=None)
    cb.on_run_end({})


def test_scores_steps_and_values(tmp_path: Path) -> None:
    run_fabricated(tmp_path / "tb")
    got = scalars(tmp_path / "tb")
    b = [(k, TEST[k][0]) for k in range(4)]
    assert [s for s, _ in got["score/test/b"]] == [0, 1, 2, 3]
    assert [v for _, v in got["score/test/b"]] == pytest.approx([v for _, v in b])
    assert [v for _, v in got["score/dev/c"]] == pytest.approx([TEST[k][2] - 0.05 for k in range(4)])
    # avg_seen after 2 tasks: mean of b and a after training a
    assert got["avg_seen/test"][1] == (2, pytest.approx((0.6 + 0.9) / 2))
    assert [s for s, _ in got["avg_seen/test"]] == [1, 2, 3]
    # forgetting after 2 tasks: f_b = 0.8 - 0.6; after 3: f_b = max(.8, .6) - .5, f_a = .9 - .7
    assert got["forgetting/test"] == [(2, pytest.approx(0.2)), (3, pytest.approx((0.3 + 0.2) / 2))]
    assert got["forgetting/dev"][1] == (3, pytest.approx(0.25))


def test_training_scalars_per_task(tmp_path: Path) -> None:
    run_fabricated(tmp_path / "tb")
    got = scalars(tmp_path / "tb")
    assert got["train/loss/a"] == [(3, pytest.approx(1 / 3)), (4, pytest.approx(1 / 4))]
    assert got["train/lr/c"] == [(5, pytest.approx(0.01)), (6, pytest.approx(0.02))]
    assert {t for t in got if t.startswith("train/")} == {f"train/{k}/{t}" for k in ("loss", "lr") for t in ORDER}


def test_resume_replays_finished_boundaries_and_leaves_state_alone(tmp_path: Path) -> None:
    state = RunState(order=list(ORDER), initial=row(0), rows=[row(1), row(2)])
    before = state.to_json()
    cb = TensorBoardCallback(tmp_path / "tb", PRIMARY, splits=("test",))
    cb.on_run_start(state, resumed=True)
    cb.close()
    cb.close()  # idempotent
    got = scalars(tmp_path / "tb")
    assert [s for s, _ in got["score/test/a"]] == [0, 1, 2]
    assert got["forgetting/test"] == [(2, pytest.approx(0.2))]
    assert not any(t.startswith("score/dev") for t in got)
    assert state.to_json() == before

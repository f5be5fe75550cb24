"""Tests for the per-task metric registry against hand-computed scores on tiny examples."""

from __future__ import annotations

import numpy as np
import pytest

from clsweep.metrics import (
    TASK_METRICS,
    TaskMetric,
    compute_metrics,
    default_metrics,
    metrics_for,
)
from clsweep.registry import UnknownNameError

LABELS = ["a", "b", "c", "d"]  # class 3 ("d") never occurs in truth or predictions
Y_TRUE = [0, 1, 2, 1]
Y_PRED = [0, 2, 2, 1]
# accuracy = 3 of 4 correct = 0.75
# per-class F1: class 0: tp=1 fp=0 fn=0 -> 1
#               class 1: tp=1 fp=0 fn=1 -> P=1, R=1/2 -> 2/3
#               class 2: tp=1 fp=1 fn=0 -> P=1/2, R=1 -> 2/3
#               class 3: absent from truth and predictions -> left out of the average
# macro F1 = (1 + 2/3 + 2/3) / 3 = 7/9   (7/12 if the absent class counted as 0)
# micro F1 = tp / n = 3/4
# MCC (multiclass, Gorodkin): c=3 correct, s=4 samples, true counts t=[1,2,1], predicted counts p=[1,1,2]
#   (c*s - sum t_k p_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)) = (12 - 5) / sqrt(10 * 10) = 0.7

TAGS_TRUE = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-MISC"]]
TAGS_PRED = [["B-PER", "O", "B-ORG", "B-LOC"], ["O", "B-MISC"]]
# true entities: PER[0:2], LOC[3], MISC[1]        -> 3
# pred entities: PER[0:1], ORG[2], LOC[3], MISC[1] -> 4 (the PER span is cut short, so it is wrong)
# correct: LOC, MISC = 2 -> precision 2/4, recall 2/3
# F1 = 2 * (1/2 * 2/3) / (1/2 + 2/3) = (2/3) / (7/6) = 4/7
# token accuracy over all 6 tags: B-PER ok, I-PER/O no, O/B-ORG no, B-LOC ok, O ok, B-MISC ok -> 4/6
#   (the mean of per-sentence accuracies would be (2/4 + 2/2) / 2 = 3/4)


def test_sequence_metrics_hand_computed():
    out = compute_metrics(["accuracy", "macro_f1", "micro_f1", "mcc"], "sequence", Y_TRUE, Y_PRED, LABELS)
    assert out == pytest.approx({"accuracy": 0.75, "macro_f1": 7 / 9, "micro_f1": 0.75, "mcc": 0.7})
    assert all(type(v) is float for v in out.values())


def test_sequence_metrics_accept_numpy():
    out = compute_metrics(["accuracy", "macro_f1"], "sequence", np.array(Y_TRUE), np.array(Y_PRED), LABELS)
    assert out == pytest.approx({"accuracy": 0.75, "macro_f1": 7 / 9})


def test_mcc_is_zero_for_constant_predictions():
    out = compute_metrics(["mcc"], "sequence", [0, 1, 0, 1], [1, 1, 1, 1], ["neg", "pos"])
    assert out["mcc"] == 0.0


def test_token_metrics_hand_computed():
    names = ["entity_f1", "entity_precision", "entity_recall", "accuracy"]
    out = compute_metrics(names, "token", TAGS_TRUE, TAGS_PRED, [])
    assert out == pytest.approx(
        {"entity_f1": 4 / 7, "entity_precision": 0.5, "entity_recall": 2 / 3, "accuracy": 4 / 6}
    )


def test_token_metrics_accept_tuples():
    y_true, y_pred = [tuple(s) for s in TAGS_TRUE], [tuple(s) for s in TAGS_PRED]
    out = compute_metrics(["entity_f1"], "token", y_true, y_pred, [])
    assert out["entity_f1"] == pytest.approx(4 / 7)


def test_unknown_metric_suggests_close_name():
    with pytest.raises(UnknownNameError, match="did you mean 'macro_f1'"):
        compute_metrics(["macro_f2"], "sequence", Y_TRUE, Y_PRED, LABELS)


def test_metric_for_other_task_type_raises_naming_valid_ones():
    with pytest.raises(ValueError, match="entity_f1") as err:
        compute_metrics(["accuracy", "entity_f1"], "sequence", Y_TRUE, Y_PRED, LABELS)
    assert "accuracy, macro_f1, mcc, micro_f1" in str(err.value)
    with pytest.raises(ValueError, match=r"macro_f1.*valid for token: accuracy, entity_f1"):
        compute_metrics(["macro_f1"], "token", TAGS_TRUE, TAGS_PRED, [])


def test_unknown_task_type_raises():
    with pytest.raises(ValueError, match="unknown task type 'span'"):
        compute_metrics(["accuracy"], "span", Y_TRUE, Y_PRED, LABELS)
    with pytest.raises(ValueError, match="unknown task type"):
        metrics_for("span")
    with pytest.raises(ValueError, match="unknown task type"):
        default_metrics("span")


def test_length_mismatch_and_empty_raise():
    with pytest.raises(ValueError, match="3 items but y_pred has 4"):
        compute_metrics(["accuracy"], "sequence", [0, 1, 0], [0, 1, 0, 1], LABELS)
    with pytest.raises(ValueError, match="empty"):
        compute_metrics(["accuracy"], "sequence", [], [], LABELS)
    with pytest.raises(ValueError, match="sentences \\[1\\]"):
        compute_metrics(["entity_f1"], "token", TAGS_TRUE, [TAGS_PRED[0], ["O"]], [])


def test_registry_contents_and_defaults():
    assert metrics_for("sequence") == ["accuracy", "macro_f1", "mcc", "micro_f1"]
    assert metrics_for("token") == ["accuracy", "entity_f1", "entity_precision", "entity_recall"]
    assert default_metrics("sequence") == ["accuracy", "macro_f1"]
    assert default_metrics("token") == ["entity_f1", "accuracy"]
    for task_type in ("sequence", "token"):
        assert set(default_metrics(task_type)) <= set(metrics_for(task_type))
    metric = TASK_METRICS.get("mcc")
    assert isinstance(metric, TaskMetric)
    assert metric.name == "mcc" and metric.task_types == frozenset({"sequence"}) and metric.higher_is_better
    with pytest.raises(AttributeError):
        metric.name = "other"  # type: ignore[misc]


def test_import_does_not_load_sklearn_or_seqeval():
    import os
    import subprocess
    import sys
    from pathlib import Path

    import clsweep.metrics

    # Run in a fresh interpreter that finds this checkout, since this process has imported sklearn already.
    root = str(Path(clsweep.metrics.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    code = "import sys, clsweep.metrics; print('sklearn' in sys.modules, 'seqeval' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("seed", range(20))
def test_f1_and_mcc_equal_scikit_learn(seed: int) -> None:
    """The confusion-matrix implementations equal scikit-learn, absent classes and constant predictions included."""
    import random

    from sklearn.metrics import f1_score, matthews_corrcoef

    rng = random.Random(seed)
    k = rng.randint(2, 7)
    n = rng.randint(1, 60)
    y_true = [rng.randrange(k) for _ in range(n)]
    y_pred = [rng.randrange(k) for _ in range(n)] if seed % 4 else [rng.randrange(k)] * n
    present = sorted(set(y_true) | set(y_pred))
    out = compute_metrics(["macro_f1", "micro_f1", "mcc"], "sequence", y_true, y_pred, [str(i) for i in range(k)])
    assert out["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
    assert out["micro_f1"] == pytest.approx(f1_score(y_true, y_pred, labels=present, average="micro", zero_division=0))
    assert out["mcc"] == pytest.approx(matthews_corrcoef(y_true, y_pred), abs=1e-12)

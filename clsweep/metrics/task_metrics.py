"""Registry of per-task metrics (classification, BIO tagging, masked LM, generated text), computed locally."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clsweep.registry import Registry

TASK_TYPES = ("sequence", "token", "mlm", "text2text")

# Sequence metrics get label ids; token metrics get BIO tag strings per sentence. Both get the label names.
MetricFn = Callable[[Any, Any, Sequence[str]], float]


@dataclass(frozen=True)
class TaskMetric:
    """One named metric, the task types it applies to, and its direction for model selection."""

    name: str
    fn: MetricFn
    task_types: frozenset[str]
    higher_is_better: bool = True


TASK_METRICS: Registry[TaskMetric] = Registry("task metric")


def _add(name: str, fn: MetricFn, task_types: Iterable[str]) -> None:
    TASK_METRICS.add(name, TaskMetric(name=name, fn=fn, task_types=frozenset(task_types)))


def _check_task_type(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        raise ValueError(f"unknown task type '{task_type}'; valid: {', '.join(TASK_TYPES)}")


def _is_nested(y: Sequence[Any]) -> bool:
    """True for token-task input (one tag list per sentence) rather than one label id per example."""
    return len(y) > 0 and isinstance(y[0], (list, tuple))


def _flatten(y: Sequence[Sequence[str]]) -> list[str]:
    return [tag for sentence in y for tag in sentence]


def _accuracy(y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[str]) -> float:
    """Fraction of exact matches; token input is scored per tag over all sentences."""
    if _is_nested(y_true):
        y_true, y_pred = _flatten(y_true), _flatten(y_pred)
    if len(y_true) == 0:
        raise ValueError("accuracy of an empty evaluation set is undefined")
    return float(sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / len(y_true))


def _confusion(y_true: Sequence[int], y_pred: Sequence[int]) -> np.ndarray:
    """Confusion matrix over the classes present in truth or predictions (rows: truth, columns: prediction)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    present = np.union1d(t, p)
    k = len(present)
    cells = np.searchsorted(present, t) * k + np.searchsorted(present, p)
    return np.bincount(cells, minlength=k * k).reshape(k, k).astype(np.float64)


def _f1(average: str) -> MetricFn:
    def f1(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> float:
        # Classes absent from both truth and predictions are left out (scikit-learn's convention): an
        # evaluation set that lacks a class should not score that class as 0. Computed from the confusion
        # matrix (equal to sklearn's f1_score, tested) because sklearn's input checks cost milliseconds a call.
        cm = _confusion(y_true, y_pred)
        tp = np.diag(cm)
        fp, fn = cm.sum(0) - tp, cm.sum(1) - tp
        if average == "micro":
            tp, fp, fn = tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
        denom = 2 * tp + fp + fn
        scores = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
        return float(scores.mean())

    f1.__name__ = f"{average}_f1"
    return f1


def _mcc(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> float:
    # Gorodkin's multiclass MCC from the confusion matrix, as sklearn's matthews_corrcoef (0 when undefined);
    # absent classes are all-zero rows/columns and change nothing.
    cm = _confusion(y_true, y_pred)
    t_sum, p_sum, n = cm.sum(1), cm.sum(0), cm.sum()
    cov_tp = np.trace(cm) * n - t_sum @ p_sum
    cov_pp, cov_tt = n * n - p_sum @ p_sum, n * n - t_sum @ t_sum
    return 0.0 if cov_pp * cov_tt == 0 else float(cov_tp / np.sqrt(cov_tt * cov_pp))


def _entity(kind: str) -> MetricFn:
    def score(y_true: list[list[str]], y_pred: list[list[str]], labels: Sequence[str]) -> float:
        from seqeval import metrics  # lazy: keeps `import clsweep.metrics` cheap

        fns = {"f1": metrics.f1_score, "precision": metrics.precision_score, "recall": metrics.recall_score}
        fn = fns[kind]
        # Default (conlleval-style) mode; zero_division=0 so "no entities" scores 0 without a warning.
        return float(fn([list(s) for s in y_true], [list(s) for s in y_pred], zero_division=0))

    score.__name__ = f"entity_{kind}"
    return score


_add("accuracy", _accuracy, ["sequence", "token", "text2text"])
_add("macro_f1", _f1("macro"), ["sequence"])
_add("micro_f1", _f1("micro"), ["sequence"])
_add("mcc", _mcc, ["sequence"])
_add("entity_f1", _entity("f1"), ["token"])
_add("entity_precision", _entity("precision"), ["token"])
_add("entity_recall", _entity("recall"), ["token"])


def _invalid_rate(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> float:
    """Generated answers that are none of the labels (each already written as the model writes it)."""
    allowed = set(labels)
    return float(sum(p not in allowed for p in y_pred) / len(y_pred))


def _rouge_l(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> float:
    """Mean ROUGE-L F1 (longest common subsequence of words), Google's rouge-score implementation."""
    from rouge_score import rouge_scorer  # lazy: only text2text tasks need it

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    return float(np.mean([scorer.score(t, p)["rougeL"].fmeasure for t, p in zip(y_true, y_pred, strict=True)]))


# text2text scores strings already normalized (case and whitespace) by the evaluation.
_add("exact_match", _accuracy, ["text2text"])
_add("rouge_l", _rouge_l, ["text2text"])
TASK_METRICS.add("invalid_rate", TaskMetric("invalid_rate", _invalid_rate, frozenset({"text2text"}),
                                            higher_is_better=False))


def _from_losses(y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[str]) -> float:
    raise ValueError("perplexity needs the token losses: use mlm_scores")


_add("masked_accuracy", _accuracy, ["mlm"])
TASK_METRICS.add("perplexity", TaskMetric("perplexity", _from_losses, frozenset({"mlm"}), higher_is_better=False))


def mlm_scores(names: Iterable[str], gold: Sequence[int], pred: Sequence[int], nll: Sequence[float]
               ) -> dict[str, float]:
    """Masked-LM metrics over the masked tokens: accuracy of the argmax, perplexity = exp(mean NLL)."""
    if not gold:
        raise ValueError("cannot score an mlm split without masked tokens")
    fns = {"masked_accuracy": lambda: _accuracy(gold, pred, []), "perplexity": lambda: math.exp(sum(nll) / len(nll))}
    return {n: float(fns[n]()) for n in names}


def metrics_for(task_type: str) -> list[str]:
    """Names of the registered metrics that apply to `task_type`, sorted."""
    _check_task_type(task_type)
    return [name for name in TASK_METRICS.names() if task_type in TASK_METRICS.get(name).task_types]


def default_metrics(task_type: str) -> list[str]:
    """Metrics reported when a task config names none; the first is the headline score."""
    _check_task_type(task_type)
    if task_type == "mlm":
        return ["masked_accuracy", "perplexity"]
    if task_type == "text2text":
        return ["accuracy", "invalid_rate"]
    return ["accuracy", "macro_f1"] if task_type == "sequence" else ["entity_f1", "accuracy"]


def _check_lengths(task_type: str, y_true: Sequence[Any], y_pred: Sequence[Any]) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("cannot score an empty evaluation set")
    if task_type == "token":
        bad = [i for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)) if len(t) != len(p)]
        if bad:
            raise ValueError(f"sentences {bad[:5]} have different numbers of true and predicted tags")


def compute_metrics(
    names: Iterable[str],
    task_type: str,
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    labels: Sequence[str],
) -> dict[str, float]:
    """Score predictions with each named metric; every name is checked before anything is computed."""
    _check_task_type(task_type)
    chosen = [TASK_METRICS.get(name) for name in names]
    unsupported = [m.name for m in chosen if task_type not in m.task_types]
    if unsupported:
        raise ValueError(
            f"metric(s) {', '.join(unsupported)} do not apply to {task_type} tasks; "
            f"valid for {task_type}: {', '.join(metrics_for(task_type))}"
        )
    # Plain lists (of tag lists for token tasks) so metrics need not care about numpy arrays or tuples.
    if task_type == "token":
        y_true, y_pred = [list(s) for s in y_true], [list(s) for s in y_pred]
    else:
        y_true, y_pred = list(y_true), list(y_pred)
    _check_lengths(task_type, y_true, y_pred)
    return {m.name: m.fn(y_true, y_pred, labels) for m in chosen}

"""Pure continual-learning metrics (ACC, BWT, FWT, forgetting, ...) derived from a T x T score matrix."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

# R[i][j] = score on task j (training order) after training the (i+1)-th task; rows and columns are
# both in training order, so R[0] is the row after the first task and the diagonal is "just learned".
# The paper formulas in REFERENCE.md are 1-based (R[T] is the last row); the code below is 0-based.
Matrix = Any  # list of lists or a 2-D numpy array
Row = Any  # list or a 1-D numpy array

# Written into result files because libraries disagree on these names; 1-based, R[T] is the last row.
DEFINITIONS: dict[str, str] = {
    "acc": "final average score (1/T) sum_j R[T][j] (Lopez-Paz & Ranzato 2017, GEM)",
    "bwt": "backward transfer 1/(T-1) sum_{j<T} (R[T][j] - R[j][j]) (GEM paper, not its code's 1/T)",
    "fwt": "forward transfer 1/(T-1) sum_{j>=2} (R[j-1][j] - b_j), b_j = score before training (GEM paper)",
    "forgetting": "mean_{j<T} (max_{l in j..T-1} R[l][j] - R[T][j]), max-based (Chaudhry et al. 2018)",
    "learning_accuracy": "(1/T) sum_j R[j][j], score just after learning each task (Riemer et al. 2019, MER)",
    "avg_incremental_acc": "mean over steps k of A_k = mean_{j<=k} R[k][j], the seen-task score (Rebuffi et al. 2017)",
}
# Not in result.json (it needs a second run): analysis derives it where a joint run of the same order, seed
# and settings exists.
INTRANSIGENCE_DEFINITION = ("mean_k I_k, I_k = a*_k - R[k][k], a*_k = R_joint[k][k] of a joint run of the same "
                            "order, seed and settings (Chaudhry et al. 2018)")


class OrderDisparity(TypedDict):
    """Per-task order disparity plus its mean (AOPD) and max (MOPD), Yoon et al. 2020."""

    opd: dict[str, float]
    aopd: float
    mopd: float


def _as_row(values: Iterable[Any], what: str) -> list[float]:
    """Copy one row into a list of floats, or raise ValueError saying what was wrong.

    Scores must be finite; None marks a cell that was not evaluated (`eval.cells: needed`) and becomes NaN,
    which no metric reads."""
    # A string iterates as characters that float() may accept; reject it. ValueError (not TypeError) so
    # callers catch one exception type for every malformed matrix.
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{what} must be a sequence of numbers, got a string")
    try:
        given = list(values)
        row = [math.nan if v is None else float(v) for v in given]
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be a sequence of numbers: {err}") from None
    if not all(math.isfinite(v) for v, g in zip(row, given, strict=True) if g is not None):
        raise ValueError(f"{what} contains a non-finite value: {row}")
    return row


def _as_matrix(R: Matrix) -> list[list[float]]:
    """Copy R into a validated square list-of-lists of finite floats (never aliases the input)."""
    if isinstance(R, (str, bytes)):
        raise ValueError("score matrix must be a T x T sequence of rows, got a string")
    try:
        rows = [_as_row(r, f"score matrix row {i}") for i, r in enumerate(R)]
    except TypeError:
        raise ValueError("score matrix must be a T x T sequence of rows") from None
    T = len(rows)
    if T == 0:
        raise ValueError("score matrix is empty; need at least one task")
    bad = [i for i, r in enumerate(rows) if len(r) != T]
    if bad:
        raise ValueError(f"score matrix must be square ({T} x {T}); rows {bad} have other lengths")
    return rows


def _as_initial(initial: Row, T: int) -> list[float]:
    """Validate the pre-training row b: one finite score per task."""
    b = _as_row(initial, "initial row")
    if len(b) != T:
        raise ValueError(f"initial row has {len(b)} scores but the matrix has {T} tasks")
    return b


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def final_accuracy(R: Matrix) -> float:
    """ACC: mean of the last row (scores on every task after training all of them)."""
    return _mean(_as_matrix(R)[-1])


def learning_accuracy(R: Matrix) -> float:
    """LA: mean of the diagonal (each task's score right after it was learned)."""
    m = _as_matrix(R)
    return _mean([m[j][j] for j in range(len(m))])


def backward_transfer(R: Matrix) -> float | None:
    """BWT (GEM paper, divides by T-1); None for a single task where it is undefined."""
    m = _as_matrix(R)
    T = len(m)
    if T == 1:
        return None
    return _mean([m[-1][j] - m[j][j] for j in range(T - 1)])


def forward_transfer(R: Matrix, initial: Row) -> float | None:
    """FWT (GEM paper): score on task j just before training it minus its pre-training score b_j."""
    m = _as_matrix(R)
    T = len(m)
    b = _as_initial(initial, T)
    if T == 1:
        return None
    return _mean([m[j - 1][j] - b[j] for j in range(1, T)])


def forgetting_per_task(R: Matrix) -> list[float]:
    """Chaudhry f_j for all tasks but the last: best score before the end (rows j..T-2) minus final score."""
    m = _as_matrix(R)
    T = len(m)
    # The max excludes the last row, so f_j can be negative when a task improves at the end.
    return [max(m[row][j] for row in range(j, T - 1)) - m[-1][j] for j in range(T - 1)]


def forgetting(R: Matrix) -> float | None:
    """Chaudhry et al. 2018 max-based forgetting, averaged over all tasks but the last; None for T == 1."""
    per_task = forgetting_per_task(R)
    return _mean(per_task) if per_task else None


def average_incremental_accuracy(R: Matrix) -> float:
    """iCaRL average incremental accuracy: mean over steps k of the mean score on tasks seen so far."""
    m = _as_matrix(R)
    return _mean([_mean(m[k][: k + 1]) for k in range(len(m))])


def intransigence(R: Matrix, joint: Row) -> list[float]:
    """Chaudhry I_k = a*_k - R[k][k], where joint[k] is a jointly trained model's score on task k."""
    m = _as_matrix(R)
    a_star = _as_row(joint, "joint row")
    if len(a_star) != len(m):
        raise ValueError(f"joint row has {len(a_star)} scores but the matrix has {len(m)} tasks")
    return [a_star[k] - m[k][k] for k in range(len(m))]


def intransigence_vs_joint(R: Matrix, R_joint: Matrix) -> list[float]:
    """Chaudhry I_k = a*_k - R[k][k] with a*_k = R_joint[k][k]: row k of a joint run of the same order is the
    model trained on tasks 1..k together, scored on task k. Both matrices in the same training order."""
    m, joint = _as_matrix(R), _as_matrix(R_joint)
    if len(joint) != len(m):
        raise ValueError(f"joint matrix has {len(joint)} tasks but the matrix has {len(m)}")
    return intransigence(m, [joint[k][k] for k in range(len(joint))])


def order_disparity(final_by_order: Mapping[str, Mapping[str, float]]) -> OrderDisparity:
    """OPD/AOPD/MOPD (Yoon et al. 2020) from order-id -> {task name -> final score}, aligned by task name."""
    if not final_by_order:
        raise ValueError("order_disparity needs at least one order")
    orders = list(final_by_order.items())
    tasks = sorted(orders[0][1])
    if not tasks:
        raise ValueError(f"order '{orders[0][0]}' has no task scores")
    for order_id, scores in orders[1:]:
        if set(scores) != set(tasks):
            raise ValueError(
                f"order '{order_id}' covers tasks {sorted(scores)} but order '{orders[0][0]}' covers {tasks}"
            )
    # Index by task name, never by position: orders list the same tasks in different sequences.
    opd: dict[str, float] = {}
    for task in tasks:
        per_order = _as_row((s[task] for _, s in orders), f"final scores of task '{task}'")
        opd[task] = max(per_order) - min(per_order)
    values = list(opd.values())
    return {"opd": opd, "aopd": _mean(values), "mopd": max(values)}


def summarize(R: Matrix, initial: Row | None = None) -> dict[str, float | None]:
    """All scalar metrics keyed as in DEFINITIONS; fwt is None when no initial row is given or T == 1."""
    return {
        "acc": final_accuracy(R),
        "bwt": backward_transfer(R),
        "fwt": forward_transfer(R, initial) if initial is not None else None,
        "forgetting": forgetting(R),
        "learning_accuracy": learning_accuracy(R),
        "avg_incremental_acc": average_incremental_accuracy(R),
    }

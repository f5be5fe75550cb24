"""Tests for the score-matrix metrics: hand-worked matrices, algebraic identities, validation."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from clsweep.metrics import (
    DEFINITIONS,
    average_incremental_accuracy,
    backward_transfer,
    final_accuracy,
    forgetting,
    forgetting_per_task,
    forward_transfer,
    intransigence,
    intransigence_vs_joint,
    learning_accuracy,
    order_disparity,
    summarize,
)

# 3 tasks, BWT negative. Rows: after training task 1, 2, 3 (0-based rows 0..2).
R3 = [
    [0.80, 0.30, 0.20],
    [0.90, 0.70, 0.40],
    [0.60, 0.75, 0.90],
]
B3 = [0.10, 0.25, 0.10]
J3 = [0.85, 0.80, 0.95]
# ACC  = (0.60 + 0.75 + 0.90) / 3                    = 2.25 / 3 = 0.75
# LA   = (0.80 + 0.70 + 0.90) / 3                    = 2.40 / 3 = 0.80
# BWT  = ((0.60 - 0.80) + (0.75 - 0.70)) / 2         = (-0.20 + 0.05) / 2 = -0.075
# FWT  = ((R[0][1] - b1) + (R[1][2] - b2)) / 2 = ((0.30 - 0.25) + (0.40 - 0.10)) / 2 = 0.35 / 2 = 0.175
# f_1  = max(0.80, 0.90) - 0.60 = 0.30   (max is row 2, not the diagonal: first-minus-last would be 0.20)
# f_2  = max(0.70) - 0.75       = -0.05  (task 2 improved later)
# F    = (0.30 - 0.05) / 2 = 0.125
# AIA  = (0.80 + (0.90 + 0.70)/2 + (0.60 + 0.75 + 0.90)/3) / 3 = (0.80 + 0.80 + 0.75) / 3 = 2.35 / 3
# I    = [0.85 - 0.80, 0.80 - 0.70, 0.95 - 0.90] = [0.05, 0.10, 0.05]

# 4 tasks, BWT positive.
R4 = [
    [0.50, 0.10, 0.20, 0.00],
    [0.70, 0.60, 0.30, 0.10],
    [0.40, 0.80, 0.90, 0.25],
    [0.65, 0.85, 0.70, 0.80],
]
B4 = [0.05, 0.15, 0.10, 0.10]
J4 = [0.50, 0.70, 0.95, 0.90]
# ACC  = (0.65 + 0.85 + 0.70 + 0.80) / 4 = 3.00 / 4 = 0.75
# LA   = (0.50 + 0.60 + 0.90 + 0.80) / 4 = 2.80 / 4 = 0.70
# BWT  = ((0.65 - 0.50) + (0.85 - 0.60) + (0.70 - 0.90)) / 3 = (0.15 + 0.25 - 0.20) / 3 = 0.2 / 3
# FWT  = ((0.10 - 0.15) + (0.30 - 0.10) + (0.25 - 0.10)) / 3 = (-0.05 + 0.20 + 0.15) / 3 = 0.1
# f_1  = max(0.50, 0.70, 0.40) - 0.65 = 0.05   (first-minus-last: 0.50 - 0.65 = -0.15)
# f_2  = max(0.60, 0.80) - 0.85       = -0.05  (first-minus-last: 0.60 - 0.85 = -0.25)
# f_3  = max(0.90) - 0.70             = 0.20
# F    = (0.05 - 0.05 + 0.20) / 3 = 0.2 / 3
# AIA  = (0.50 + 0.65 + 0.70 + 0.75) / 4 = 2.6 / 4 = 0.65
#        A_2 = (0.70 + 0.60)/2 = 0.65, A_3 = (0.40 + 0.80 + 0.90)/3 = 0.70, A_4 = 3.00/4 = 0.75
# I    = [0.50 - 0.50, 0.70 - 0.60, 0.95 - 0.90, 0.90 - 0.80] = [0.00, 0.10, 0.05, 0.10]

HAND = [
    (R3, B3, J3, 0.75, 0.80, -0.075, 0.175, [0.30, -0.05], 0.125, 2.35 / 3, [0.05, 0.10, 0.05]),
    (R4, B4, J4, 0.75, 0.70, 0.2 / 3, 0.1, [0.05, -0.05, 0.20], 0.2 / 3, 0.65, [0.0, 0.10, 0.05, 0.10]),
]


@pytest.mark.parametrize(("R", "b", "joint", "acc", "la", "bwt", "fwt", "f_per", "f", "aia", "intr"), HAND)
@pytest.mark.parametrize("as_array", [False, True])
def test_hand_computed(R, b, joint, acc, la, bwt, fwt, f_per, f, aia, intr, as_array):
    if as_array:
        R, b, joint = np.array(R), np.array(b), np.array(joint)
    assert final_accuracy(R) == pytest.approx(acc)
    assert learning_accuracy(R) == pytest.approx(la)
    assert backward_transfer(R) == pytest.approx(bwt)
    assert forward_transfer(R, b) == pytest.approx(fwt)
    assert forgetting_per_task(R) == pytest.approx(f_per)
    assert forgetting(R) == pytest.approx(f)
    assert average_incremental_accuracy(R) == pytest.approx(aia)
    assert intransigence(R, joint) == pytest.approx(intr)


def test_results_are_plain_python_floats():
    values = [final_accuracy(np.array(R4)), backward_transfer(np.array(R4)), forgetting(np.array(R4))]
    values += forgetting_per_task(np.array(R4)) + intransigence(np.array(R4), np.array(J4))
    assert all(type(v) is float for v in values)


def test_summarize_keys_values_and_definitions():
    s = summarize(R3, B3)
    assert list(s) == ["acc", "bwt", "fwt", "forgetting", "learning_accuracy", "avg_incremental_acc"]
    assert s == pytest.approx(
        {"acc": 0.75, "bwt": -0.075, "fwt": 0.175, "forgetting": 0.125,
         "learning_accuracy": 0.80, "avg_incremental_acc": 2.35 / 3}
    )
    assert set(DEFINITIONS) == set(s)
    assert all(isinstance(v, str) and v and "\n" not in v for v in DEFINITIONS.values())
    assert "Chaudhry" in DEFINITIONS["forgetting"] and "max" in DEFINITIONS["forgetting"]


def test_summarize_without_initial_has_no_fwt():
    s = summarize(R4)
    assert s["fwt"] is None
    assert s["bwt"] == pytest.approx(0.2 / 3)


def _random_matrix(rng: np.random.Generator, T: int) -> np.ndarray:
    return rng.uniform(0.0, 1.0, size=(T, T))


SIZES = [2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("T", SIZES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identities_on_random_matrices(T, seed):
    R = _random_matrix(np.random.default_rng(seed * 100 + T), T)
    acc, la, bwt, f = final_accuracy(R), learning_accuracy(R), backward_transfer(R), forgetting(R)
    assert bwt is not None and f is not None
    # ACC - LA = (1/T) sum_{j<T} (R[T][j] - R[j][j]) = (T-1)/T * BWT
    assert acc == pytest.approx(la + (T - 1) / T * bwt)
    # max over rows j..T-1 is at least the diagonal entry
    assert f >= -bwt - 1e-12
    # Avalanche-style first-minus-last forgetting, computed independently, is exactly -BWT
    first_minus_last = np.mean([R[j, j] - R[T - 1, j] for j in range(T - 1)])
    assert first_minus_last == pytest.approx(-bwt)


@pytest.mark.parametrize("T", SIZES)
def test_frozen_per_task_columns_give_zero_bwt_and_forgetting(T):
    # Frozen per-task adapters: once task j is learned its score never changes, R[l][j] = R[j][j] for l >= j.
    R = _random_matrix(np.random.default_rng(T), T)
    for j in range(T):
        R[j:, j] = R[j, j]
    assert backward_transfer(R) == 0.0
    assert forgetting(R) == 0.0
    assert forgetting_per_task(R) == [0.0] * (T - 1)


def test_random_matrix_forgetting_differs_from_first_minus_last():
    # Guards against an implementation that ignores the max: some random matrix must tell them apart.
    R = _random_matrix(np.random.default_rng(7), 5)
    f, bwt = forgetting(R), backward_transfer(R)
    assert f is not None and bwt is not None
    assert f > -bwt + 1e-6


def test_inputs_are_not_mutated():
    R_list = copy.deepcopy(R4)
    R_arr = np.array(R4)
    b = list(B4)
    joint = np.array(J4)
    for R in (R_list, R_arr):
        summarize(R, b)
        forgetting_per_task(R)
        intransigence(R, joint)
    assert R_list == R4
    assert np.array_equal(R_arr, np.array(R4))
    assert b == B4
    assert np.array_equal(joint, np.array(J4))


@pytest.mark.parametrize("R", [[[0.7]], np.array([[0.7]])])
def test_single_task(R):
    assert backward_transfer(R) is None
    assert forward_transfer(R, [0.1]) is None
    assert forgetting(R) is None
    assert forgetting_per_task(R) == []
    assert final_accuracy(R) == pytest.approx(0.7)
    assert learning_accuracy(R) == pytest.approx(0.7)
    assert average_incremental_accuracy(R) == pytest.approx(0.7)
    s = summarize(R, [0.1])
    assert s["bwt"] is None and s["fwt"] is None and s["forgetting"] is None


@pytest.mark.parametrize(
    ("R", "message"),
    [
        ([], "empty"),
        ([[0.1, 0.2], [0.3]], "square"),
        ([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "square"),
        (np.zeros((2, 3)), "square"),
        (np.zeros(3), "sequence"),
        ([[0.1, float("nan")], [0.2, 0.3]], "non-finite"),
        ([[0.1, float("inf")], [0.2, 0.3]], "non-finite"),
        ([[0.1, "x"], [0.2, 0.3]], "numbers"),
        ("ab", "string"),
        (5, "sequence"),
    ],
)
def test_bad_matrix_raises(R, message):
    with pytest.raises(ValueError, match=message):
        final_accuracy(R)
    with pytest.raises(ValueError, match=message):
        summarize(R, [0.0, 0.0])


def test_bad_initial_and_joint_raise():
    with pytest.raises(ValueError, match="initial row has 2 scores but the matrix has 3 tasks"):
        forward_transfer(R3, [0.1, 0.2])
    with pytest.raises(ValueError, match="non-finite"):
        forward_transfer(R3, [0.1, float("nan"), 0.2])
    with pytest.raises(ValueError, match="joint row has 4 scores"):
        intransigence(R3, [0.1, 0.2, 0.3, 0.4])


def test_order_disparity_aligns_by_task_name():
    final_by_order = {
        "o1": {"a": 0.80, "b": 0.60, "c": 0.70},
        "o2": {"c": 0.50, "a": 0.90, "b": 0.60},
        "o3": {"b": 0.40, "c": 0.75, "a": 0.85},
    }
    # OPD_a = 0.90 - 0.80 = 0.10; OPD_b = 0.60 - 0.40 = 0.20; OPD_c = 0.75 - 0.50 = 0.25
    # AOPD = (0.10 + 0.20 + 0.25) / 3 = 0.55 / 3; MOPD = 0.25
    # (aligning by position would give OPD of the first slot = 0.80 - 0.40 = 0.40 instead)
    out = order_disparity(final_by_order)
    assert out["opd"] == pytest.approx({"a": 0.10, "b": 0.20, "c": 0.25})
    assert out["aopd"] == pytest.approx(0.55 / 3)
    assert out["mopd"] == pytest.approx(0.25)
    assert type(out["aopd"]) is float and type(out["mopd"]) is float


def test_order_disparity_single_order_is_zero():
    out = order_disparity({"only": {"a": 0.3, "b": 0.9}})
    assert out == {"opd": {"a": 0.0, "b": 0.0}, "aopd": 0.0, "mopd": 0.0}


def test_order_disparity_rejects_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="covers tasks"):
        order_disparity({"o1": {"a": 0.1, "b": 0.2}, "o2": {"a": 0.1, "c": 0.2}})
    with pytest.raises(ValueError, match="at least one order"):
        order_disparity({})
    with pytest.raises(ValueError, match="non-finite"):
        order_disparity({"o1": {"a": 0.1}, "o2": {"a": float("nan")}})


def test_intransigence_against_a_joint_matrix_hand_computed():
    # A joint run of the same order: row k is the model trained on tasks 1..k together; only its diagonal
    # (a*_k, scored on the task just added) enters. Off-diagonal cells are set apart so a mix-up would show.
    joint = [
        [0.85, 0.05, 0.05],
        [0.99, 0.80, 0.05],
        [0.01, 0.02, 0.95],
    ]
    # I_k = a*_k - R[k][k] = [0.85 - 0.80, 0.80 - 0.70, 0.95 - 0.90] = [0.05, 0.10, 0.05]
    assert intransigence_vs_joint(R3, joint) == pytest.approx([0.05, 0.10, 0.05])
    assert intransigence_vs_joint(np.array(R3), np.array(joint)) == pytest.approx(intransigence(R3, J3))
    assert intransigence_vs_joint(joint, joint) == [0.0, 0.0, 0.0]  # the reference against itself
    before = copy.deepcopy(joint)
    intransigence_vs_joint(R3, joint)
    assert joint == before
    with pytest.raises(ValueError, match="joint matrix has 4 tasks but the matrix has 3"):
        intransigence_vs_joint(R3, R4)
    with pytest.raises(ValueError, match="square"):
        intransigence_vs_joint(R3, [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])

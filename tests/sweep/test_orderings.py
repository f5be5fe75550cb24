"""Task-ordering designs: the defining properties of each design, and their resolution from a config."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError
from clsweep.sweep.orderings import all_orders, order_key, random_orders, resolve_orderings, williams

SIZES = range(2, 9)


def names(t: int) -> list[str]:
    return [f"t{i}" for i in range(t)]


def is_permutation(order: list[str], tasks: list[str]) -> bool:
    return sorted(order) == sorted(tasks)


@pytest.mark.parametrize("t", SIZES)
def test_williams_shape_and_balance(t: int) -> None:
    tasks = names(t)
    rows = williams(tasks)
    assert len(rows) == (t if t % 2 == 0 else 2 * t)
    assert all(is_permutation(r, tasks) for r in rows)
    assert rows[0][0] == tasks[0]
    for pos in range(t):
        counts = Counter(r[pos] for r in rows)
        assert set(counts) == set(tasks) and len(set(counts.values())) == 1, f"position {pos} unbalanced"


@pytest.mark.parametrize("t", SIZES)
def test_williams_adjacent_pairs(t: int) -> None:
    rows = williams(names(t))
    pairs = Counter((r[i], r[i + 1]) for r in rows for i in range(t - 1))
    assert len(pairs) == t * (t - 1)  # every ordered pair a != b occurs ...
    assert set(pairs.values()) == {1 if t % 2 == 0 else 2}  # ... once (even T) or twice (odd T, 2T rows)


def test_williams_trivial_sizes() -> None:
    assert williams(["a"]) == [["a"]]
    assert williams([]) == [[]]


@pytest.mark.parametrize("t", range(1, 6))
def test_all_orders(t: int) -> None:
    tasks = names(t)
    orders = all_orders(tasks, limit=120)
    assert len(orders) == math.factorial(t)
    assert len({tuple(o) for o in orders}) == len(orders)
    assert all(is_permutation(o, tasks) for o in orders)
    assert orders[0] == tasks
    assert orders == sorted(orders, key=lambda o: [tasks.index(x) for x in o])


def test_all_orders_limit_and_force() -> None:
    with pytest.raises(ValueError, match=r"T=7 tasks give 5040 orders, above search.max_orderings=120"):
        all_orders(names(7), limit=120)
    assert len(all_orders(names(7), limit=120, force=True)) == 5040
    assert len(all_orders(names(4), limit=24)) == 24


@pytest.mark.parametrize("t, n", [(3, 6), (4, 5), (8, 30), (10, 12)])
def test_random_orders_distinct_and_seeded(t: int, n: int) -> None:
    tasks = names(t)
    orders = random_orders(tasks, n, seed=1)
    assert len(orders) == n and len({tuple(o) for o in orders}) == n
    assert all(is_permutation(o, tasks) for o in orders)
    assert random_orders(tasks, n, seed=1) == orders
    if n < math.factorial(t):
        assert random_orders(tasks, n, seed=2) != orders


def test_random_orders_too_many() -> None:
    with pytest.raises(ValueError, match="more orders than the 6"):
        random_orders(names(3), 7, seed=0)


def test_order_key() -> None:
    assert order_key(["a", "b", "c"]) == "a>b>c"


# ------------------------------------------------------------------------------- from a config


def config(orderings: Any, **search: Any) -> ExperimentConfig:
    src = {"kind": "synthetic", "train_size": 16, "dev_size": 8, "test_size": 8}
    tasks = {n: {"source": {"task": n}} for n in ("topic", "sentiment", "intent", "register")}
    return ExperimentConfig.model_validate({
        "tasklist": {"defaults": {"source": src}, "tasks": tasks,
                     "orders": {"fwd": list(tasks), "rev": list(tasks)[::-1]}},
        "search": {"orderings": orderings, **search},
    })


TASKS = ["topic", "sentiment", "intent", "register"]


def test_resolve_given_and_designs() -> None:
    assert resolve_orderings(config("given")) == [("given", TASKS)]
    perms = resolve_orderings(config("all"))
    assert [i for i, _ in perms][:2] == ["perm-001", "perm-002"] and len(perms) == 24
    square = resolve_orderings(config("latin_square"))
    assert [i for i, _ in square] == ["williams-01", "williams-02", "williams-03", "williams-04"]
    assert square[0][1][0] == "topic"


def test_resolve_random_uses_a_fixed_design_seed() -> None:
    a = resolve_orderings(config({"random": 5}, seeds=[0]))
    b = resolve_orderings(config({"random": 5}, seeds=[7, 8]))
    assert a == b and [i for i, _ in a] == [f"random-0{k}" for k in range(1, 6)]


def test_resolve_explicit_and_named() -> None:
    explicit = resolve_orderings(config([["register", "topic"], TASKS]))
    assert explicit == [("order-01", ["register", "topic"]), ("order-02", TASKS)]
    assert resolve_orderings(config(["rev", "fwd"])) == [("rev", TASKS[::-1]), ("fwd", TASKS)]


def test_resolve_errors_name_search_orderings() -> None:
    with pytest.raises(ConfigError) as e:
        resolve_orderings(config("all", max_orderings=10), file="exp.yaml")
    assert str(e.value).startswith("exp.yaml: search.orderings: T=4 tasks give 24 orders")
    assert len(resolve_orderings(config("all", max_orderings=10, force=True))) == 24
    with pytest.raises(ConfigError, match=r"search\.orderings: random: 25 asks for more orders"):
        resolve_orderings(config({"random": 25}))

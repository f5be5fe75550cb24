"""Task-ordering designs: which training orders of a task sequence a sweep runs."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from clsweep.config import ExperimentConfig, RandomOrderings
from clsweep.errors import ConfigError

# Random orderings use this fixed design seed, not train.seed: every seed of a sweep then trains on
# the same orders (a paired design), so seed noise and order effects can be told apart.
DESIGN_SEED = 0

# Up to 8! permutations it is cheaper to enumerate them all than to reject repeated draws.
_ENUMERATE_UP_TO = math.factorial(8)


def williams(tasks: Sequence[str]) -> list[list[str]]:
    """A Williams Latin square over `tasks`, the first row starting with the first task.

    Every task sits equally often in every position and every ordered adjacent pair occurs equally
    often: once over the T rows for even T; odd T needs the mirrored rows too, 2T rows with every
    ordered pair twice.
    """
    n = len(tasks)
    if n <= 1:
        return [list(tasks)]
    first = _williams_first_row(n)
    rows = [[(x + i) % n for x in first] for i in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return [[tasks[x] for x in row] for row in rows]


def _williams_first_row(n: int) -> list[int]:
    # 0, 1, n-1, 2, n-2, ...: the steps between neighbours are all different mod n.
    row, low, high = [0], 1, n - 1
    while len(row) < n:
        row.append(low)
        low += 1
        if len(row) < n:
            row.append(high)
            high -= 1
    return row


def all_orders(tasks: Sequence[str], limit: int, force: bool = False) -> list[list[str]]:
    """Every permutation, lexicographic in positions (the given order first); refused above `limit`."""
    count = math.factorial(len(tasks))
    if count > limit and not force:
        raise ValueError(
            f"T={len(tasks)} tasks give {count} orders, above search.max_orderings={limit}; "
            "use latin_square or random: N, raise max_orderings, or set search.force: true")
    return [list(p) for p in itertools.permutations(tasks)]


def random_orders(tasks: Sequence[str], n: int, seed: int) -> list[list[str]]:
    """`n` distinct permutations drawn with `seed`; the given order is not favoured."""
    count = math.factorial(len(tasks))
    if n > count:
        raise ValueError(f"random: {n} asks for more orders than the {count} that T={len(tasks)} tasks have")
    rng = np.random.default_rng(seed)
    if count <= _ENUMERATE_UP_TO:
        perms = list(itertools.permutations(tasks))
        return [list(perms[i]) for i in rng.choice(count, size=n, replace=False)]
    seen: dict[tuple[str, ...], None] = {}
    while len(seen) < n:
        seen.setdefault(tuple(tasks[i] for i in rng.permutation(len(tasks))), None)
    return [list(p) for p in seen]


def order_key(order: Sequence[str]) -> str:
    """An order as one string, e.g. 'a>b>c': Tune search spaces take strings, not lists."""
    return ">".join(order)


def resolve_orderings(cfg: ExperimentConfig, file: str = "<config>") -> list[tuple[str, list[str]]]:
    """(order_id, order) pairs for `cfg.search.orderings` over `cfg.task_order`."""
    spec, tasks = cfg.search.orderings, cfg.task_order
    try:
        if spec == "given":
            return [("given", tasks)]
        if spec == "all":
            return _numbered("perm", all_orders(tasks, cfg.search.max_orderings, cfg.search.force), 3)
        if spec == "latin_square":
            return _numbered("williams", williams(tasks), 2)
        if isinstance(spec, RandomOrderings):
            return _numbered("random", random_orders(tasks, spec.random, DESIGN_SEED), 2)
        return _listed(cfg, spec)
    except ValueError as e:
        raise ConfigError.one(file, "search.orderings", str(e)) from None


def _listed(cfg: ExperimentConfig, spec: list[list[str]] | list[str]) -> list[tuple[str, list[str]]]:
    if not spec:
        raise ValueError("the list of orderings is empty")
    if all(isinstance(o, list) for o in spec):
        return _numbered("order", [list(o) for o in spec], 2)
    pairs = []
    for name in map(str, spec):
        if name not in cfg.tasklist.orders:
            known = ", ".join(sorted(cfg.tasklist.orders)) or "none"
            raise ValueError(f"unknown tasklist order '{name}'; the tasklist's orders: {known}")
        pairs.append((name, list(cfg.tasklist.orders[name])))
    return pairs


def _numbered(prefix: str, orders: list[list[str]], width: int) -> list[tuple[str, list[str]]]:
    width = max(width, len(str(len(orders))))
    return [(f"{prefix}-{i:0{width}d}", order) for i, order in enumerate(orders, 1)]

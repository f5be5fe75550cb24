"""Row selection on `datasets` splits: keep rows by column value, sample or carve N examples per label."""

from __future__ import annotations

from typing import Any

import numpy as np

from clsweep.tasks.errors import TaskErrors


def column_values(ds: Any, column: str) -> list[Any]:
    """One column as a list, read in one go (iterating `ds[column]` decodes row by row: 20x slower)."""
    return list(ds.select_columns([column])[:][column])


def value_names(ds: Any, column: str, fallback: list[str] | None) -> list[str]:
    """A column's values as strings: ClassLabel ids (or, for plain ints, `fallback` names) become names."""
    from clsweep.tasks.labels import class_names

    names = class_names(ds.features[column]) or fallback
    out = []
    for v in column_values(ds, column):
        if names is not None and isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(names):
            out.append(names[v])
        else:
            out.append(str(v))
    return out


def filter_rows(ds: Any, filters: dict[str, list[str]], names: dict[str, list[str]], split: str,
                err: TaskErrors) -> Any:
    """Rows whose every filtered column holds one of the wanted values (by name or raw value)."""
    keep = np.ones(len(ds), dtype=bool)
    for column, wanted in filters.items():
        if column not in ds.column_names:
            raise err.error(f"filter.{column}", f"column '{column}' not found in {split} split; available: "
                                                f"{', '.join(sorted(ds.column_names))}")
        want = set(wanted)
        shown = value_names(ds, column, names.get(column))
        raw = [str(v) for v in column_values(ds, column)]
        keep &= np.array([a in want or b in want for a, b in zip(shown, raw, strict=True)], dtype=bool)
    return ds.select(np.flatnonzero(keep).tolist())


def _by_label(ds: Any, column: str, fallback: list[str] | None) -> dict[str, list[int]]:
    """Row indices of each label, labels sorted: a draw must not depend on which label came first."""
    by_label: dict[str, list[int]] = {}
    for i, v in enumerate(value_names(ds, column, fallback)):
        by_label.setdefault(v, []).append(i)
    return {v: by_label[v] for v in sorted(by_label)}


def per_class(ds: Any, column: str, limit: int, seed: int, fallback: list[str] | None) -> Any:
    """At most `limit` rows of each label, drawn with `seed`; kept rows stay in their original order."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for rows in _by_label(ds, column, fallback).values():
        chosen.extend(rows if len(rows) <= limit else rng.choice(rows, size=limit, replace=False).tolist())
    return ds.select(sorted(chosen))


class TooFewRows(ValueError):
    """Carving `count` rows of a label would leave none of it behind."""

    def __init__(self, label: str, rows: int) -> None:
        super().__init__(f"label '{label}' has {rows} row(s)")
        self.label, self.rows = label, rows


def carve_per_class(ds: Any, column: str, seed: int, fallback: list[str] | None, count: int | None = None,
                    fraction: float | None = None) -> tuple[Any, Any]:
    """(rest, carved): `count` rows of each label, or `fraction` of each (rounded down), drawn with `seed`."""
    rng = np.random.default_rng(seed)
    carved: list[int] = []
    for value, rows in _by_label(ds, column, fallback).items():
        n = count if count is not None else int(len(rows) * (fraction or 0.0))
        if n >= len(rows):
            raise TooFewRows(value, len(rows))
        carved.extend(rng.choice(rows, size=n, replace=False).tolist())
    taken = set(carved)
    return ds.select([i for i in range(len(ds)) if i not in taken]), ds.select(sorted(carved))

"""Raw cells as read, before any split is carved or sampled: mixed label types, and empty text by policy."""

from __future__ import annotations

from collections import Counter
from typing import Any

from clsweep.tasks.errors import TaskErrors
from clsweep.tasks.spec import TaskSpec

EMPTY_TEXT = ("error", "empty", "drop")


def _kind(value: Any) -> str | None:
    """The label type a value counts as; None for what other checks report (null, lists, mappings)."""
    if isinstance(value, bool):
        return "booleans"
    if isinstance(value, int | float):
        return "numbers"
    return "strings" if isinstance(value, str) else None


def _typed(feature: Any) -> bool:
    """A column whose feature fixes one type (ClassLabel, Value, or a list of those) cannot mix types."""
    from datasets import ClassLabel, Value

    inner = getattr(feature, "feature", feature)
    return isinstance(feature, ClassLabel | Value) or isinstance(inner, ClassLabel | Value)


def check_label_types(raw: dict[str, Any], spec: TaskSpec, err: TaskErrors) -> None:
    """Numbers and strings in one label column are almost always a data bug (`1` among `pos`/`neg`): refuse
    them unless label_names or label_map says how the numbers map onto names."""
    col = spec.label_col
    if not col or spec.label_names is not None or spec.label_map is not None:
        return
    unit = "tags" if spec.type == "token" else "rows"
    for split, ds in raw.items():
        if col not in ds.column_names or _typed(ds.features[col]):
            continue
        counts: Counter[str] = Counter()
        first: dict[str, tuple[int, Any]] = {}
        for i, row in enumerate(ds[col]):
            for v in row if isinstance(row, list) else [row]:
                kind = _kind(v)
                if kind is not None:
                    counts[kind] += 1
                    first.setdefault(kind, (i, v))
        if len(counts) > 1:
            held = ", ".join(f"{n} {unit} hold {kind} (first: row {first[kind][0]}, {first[kind][1]!r})"
                             for kind, n in counts.most_common())
            raise err.error("label_column", f"column '{col}' in {split} split mixes label types: {held}; give one "
                                            "type, or say what the numbers mean with label_map (e.g. {1: pos}) "
                                            "or label_names (names of the ids 0, 1, ...)")


def _null_rows(ds: Any, columns: list[str]) -> tuple[list[int], str | None]:
    """Rows where any of `columns` is null, and the first such column; Arrow's null count makes the usual
    case (no nulls) cheap."""
    table = ds.select_columns(columns).with_format("arrow")[:]
    nulls = [c for c in columns if table.column(c).null_count]
    if not nulls:
        return [], None
    flags = [table.column(c).is_null().to_pylist() for c in nulls]
    rows = [i for i in range(len(ds)) if any(f[i] for f in flags)]
    return rows, next(c for c, f in zip(nulls, flags, strict=True) if f[rows[0]])


def _fill(batch: dict[str, list[Any]], columns: list[str]) -> dict[str, list[Any]]:
    return {c: ["" if v is None else v for v in batch[c]] for c in columns}


def handle_empty_text(raw: dict[str, Any], spec: TaskSpec, err: TaskErrors) -> tuple[dict[str, Any], dict[str, int]]:
    """Apply `empty_text` to null text cells (an empty CSV cell, a JSON null): stop (error, the default), read
    them as "" (empty) or drop their rows (drop); the splits, and per split the rows emptied or dropped."""
    pair = spec.pair_cols or []
    out, counts = {}, {}
    for split, ds in raw.items():
        columns = [c for c in dict.fromkeys([*spec.text_cols, *pair]) if c in ds.column_names]
        rows, col = _null_rows(ds, columns) if columns and len(ds) else ([], None)
        counts[split] = len(rows)
        if not rows:
            out[split] = ds
        elif spec.empty_text == "error":
            key = "text_pair_column" if col in pair and col not in spec.text_cols else "text_column"
            raise err.error(key, f"column '{col}' in {split} split is empty (null) in {len(rows)} row(s), first "
                                 f"row {rows[0]}; nothing is dropped silently: set empty_text: empty to read such "
                                 "cells as \"\", or empty_text: drop to drop those rows")
        elif spec.empty_text == "drop":
            gone = set(rows)
            out[split] = ds.select([i for i in range(len(ds)) if i not in gone])
        else:
            out[split] = ds.map(_fill, batched=True, keep_in_memory=True, fn_kwargs={"columns": columns})
    return out, counts

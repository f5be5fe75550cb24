"""Check a task's columns and pull them out of `datasets` splits as plain Python lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clsweep.errors import ConfigError
from clsweep.tasks.errors import TaskErrors
from clsweep.tasks.source_spec import SyntheticSource
from clsweep.tasks.spec import TaskSpec


@dataclass(frozen=True)
class Columns:
    text: tuple[str, ...]
    pair: tuple[str, ...] | None
    label: str | None  # None for mlm: raw text only
    text_format: str | None = None  # text2text: how the text columns are written (template.text_format)
    pair_format: str | None = None

    @property
    def shown_text(self) -> str:
        return ", ".join(self.text)

    @property
    def shown_pair(self) -> str:
        return ", ".join(self.pair or ())


@dataclass
class RawSplit:
    """One split before tokenization: texts (or word lists), optional pairs, and raw label values."""

    texts: list[Any]
    pairs: list[str] | None
    labels: list[Any]

    def __len__(self) -> int:
        return len(self.texts)


def task_columns(spec: TaskSpec) -> Columns:
    pair = spec.pair_cols
    if pair is None and isinstance(spec.source, SyntheticSource):
        from clsweep.tasks.synthetic import SYNTHETIC_TASKS

        # The synthetic pair task needs both sentences; make that work without extra config.
        pair = ["text_pair"] if SYNTHETIC_TASKS.get(spec.source.task).pair else None
    t = spec.template
    return Columns(tuple(spec.text_cols), tuple(pair) if pair else None, spec.label_col or None,
                   t.text_format if t else None, t.pair_format if t else None)


def check_columns(splits: Any, cols: Columns, err: TaskErrors) -> None:
    issues = []
    wanted = [("text_column", c) for c in cols.text] + [("text_pair_column", c) for c in cols.pair or ()]
    for split, ds in splits.items():
        available = ", ".join(sorted(ds.column_names))
        for key, col in [*wanted, ("label_column", cols.label)]:
            if col is not None and col not in ds.column_names:
                issues.append(err.issue(key, f"column '{col}' not found in {split} split; available: {available}"))
    if issues:
        raise ConfigError(issues)


def _joined(data: dict[str, list[Any]], columns: tuple[str, ...], fmt: str | None = None) -> list[Any]:
    """One column as it is; several joined as 'column: value' (the T5-style input the CL papers use); with a
    format (a text2text template's text_format / pair_format), each row written by it, columns by name."""
    rows = range(len(data[columns[0]]))
    if fmt is not None:
        return [fmt.format(**{col: data[col][i] for col in columns}) for i in rows]
    if len(columns) == 1:
        return data[columns[0]]
    return [" ".join(f"{col}: {data[col][i]}" for col in columns) for i in rows]


def extract(splits: Any, cols: Columns, task_type: str, err: TaskErrors) -> dict[str, RawSplit]:
    out = {}
    for split, ds in splits.items():
        names = list(dict.fromkeys([*cols.text, *(cols.pair or ()), *([cols.label] if cols.label else [])]))
        data = ds.select_columns(names)[:]
        for key, columns, fmt in (("text_column", cols.text, cols.text_format),
                                  ("text_pair_column", cols.pair or (), cols.pair_format)):
            for col in columns if fmt is not None else ():  # a format writes any value: check them first
                _check_texts(data[col], split, key, col, err)
        texts = _joined(data, cols.text, cols.text_format)
        labels = data[cols.label] if cols.label else [None] * len(texts)
        pairs = _joined(data, cols.pair, cols.pair_format) if cols.pair else None
        raw = RawSplit(texts, pairs, labels)
        if task_type == "mlm":
            _check_texts(raw.texts, split, "text_column", cols.shown_text, err)
        elif task_type == "token":
            _check_words(raw, split, cols, err)
        else:
            _check_texts(raw.texts, split, "text_column", cols.shown_text, err)
            if raw.pairs is not None and cols.pair is not None:
                _check_texts(raw.pairs, split, "text_pair_column", cols.shown_pair, err)
            _check_scalars(raw.labels, split, cols.label, err)
        out[split] = raw
    return out


def _check_texts(values: list[Any], split: str, key: str, col: str, err: TaskErrors) -> None:
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise err.error(key, f"column '{col}' in {split} split must hold text; row {i} holds {v!r}")


def _check_words(raw: RawSplit, split: str, cols: Columns, err: TaskErrors) -> None:
    for i, (words, tags) in enumerate(zip(raw.texts, raw.labels, strict=True)):
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise err.error("text_column", f"token column '{cols.shown_text}' in {split} split must hold lists of "
                                           f"strings; row {i} holds {_short(words)}")
        if not words:
            raise err.error("text_column", f"row {i} of the {split} split has no tokens")
        if not isinstance(tags, list) or len(tags) != len(words):
            got = f"{len(tags)} tags" if isinstance(tags, list) else f"{_short(tags)}"
            raise err.error("label_column", f"row {i} of the {split} split has {len(words)} tokens "
                                            f"but {got} in column '{cols.label}'")
        _check_scalars(tags, split, cols.label, err, row=i)


def _check_scalars(values: list[Any], split: str, col: str | None, err: TaskErrors, row: int | None = None) -> None:
    for i, v in enumerate(values):
        if not isinstance(v, str | int | float):
            where = f"row {i}" if row is None else f"row {row}, token {i}"
            raise err.error("label_column", f"column '{col}' in {split} split must hold label names or "
                                            f"numbers; {where} holds {_short(v)}")


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."

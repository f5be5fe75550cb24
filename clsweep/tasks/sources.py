"""Turn a task's source into train/dev/test `datasets` splits: load, carve missing splits, cap sizes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clsweep.errors import ConfigError, Issue
from clsweep.tasks.cells import check_label_types, handle_empty_text
from clsweep.tasks.conll import ConllFormatError, read_conll
from clsweep.tasks.errors import TaskErrors, first_line
from clsweep.tasks.jsonsyntax import json_problem
from clsweep.tasks.sampling import TooFewRows, carve_per_class, filter_rows, per_class
from clsweep.tasks.source_spec import (
    FILE_FORMATS,
    SCRIPT_FIX,
    ConllSource,
    FilesSource,
    HubSource,
    LocalFiles,
    SyntheticSource,
)
from clsweep.tasks.spec import TaskSpec

SPLITS = ("train", "dev", "test")
_BUILDERS = {"csv": "csv", "tsv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet"}


def split_key(spec: TaskSpec, split: str) -> str:
    """The config key a user edits to change where `split` comes from."""
    src = spec.source
    if split == "dev" and spec.dev is not None:
        return "dev"
    if spec.local is not None and spec.local.dir is None:
        return f"local.{split}" if split in spec.local.paths() else "dev_fraction"
    if isinstance(src, HubSource):
        return "source.splits" if split in src.splits else "dev_fraction"
    if isinstance(src, SyntheticSource):
        return f"source.{split}_size"
    return f"source.{split}" if split in src.paths() else "dev_fraction"


def missing_files(spec: TaskSpec, err: TaskErrors) -> list[Issue]:
    local = spec.local
    if local is not None and local.dir is not None:
        return [] if Path(local.dir).is_dir() else [err.issue("local.dir", f"folder not found: {local.dir}")]
    if local is not None:
        return [err.issue(f"local.{s}", f"file not found: {p}") for s, p in local.paths().items()
                if not Path(p).is_file()]
    src = spec.source
    if not isinstance(src, FilesSource | ConllSource):
        return []
    return [err.issue(f"source.{s}", f"file not found: {p}") for s, p in src.paths().items() if not Path(p).is_file()]


def source_files(spec: TaskSpec) -> list[str]:
    """Local files the data is read from; their size and mtime go into the tokenization cache key."""
    if spec.local is not None and spec.local.dir is not None:
        return sorted(str(p.resolve()) for p in Path(spec.local.dir).rglob("*") if p.is_file())
    if spec.local is not None:
        return [str(Path(p).resolve()) for p in spec.local.paths().values()]
    src = spec.source
    if isinstance(src, FilesSource | ConllSource):
        return [str(Path(p).resolve()) for p in src.paths().values()]
    if isinstance(src, HubSource) and Path(src.name).exists():
        root = Path(src.name).resolve()
        return [str(root)] if root.is_file() else sorted(str(p) for p in root.rglob("*") if p.is_file())
    # A remote hub dataset is pinned only by name/config/revision/splits (part of the spec): good
    # enough, since a moving revision is the user's explicit choice.
    return []


def file_fingerprint(paths: list[str]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for p in paths:
        st = os.stat(p)
        out.append([p, st.st_size, st.st_mtime_ns])
    return out


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    # Per-file progress bars drown the one-line-per-task log; restore whatever the caller had.
    import datasets

    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def load_splits(spec: TaskSpec, err: TaskErrors, cache_dir: Path) -> tuple[Any, dict[str, str], dict[str, int]]:
    """A DatasetDict with exactly train/dev/test, the splits carved from another (split -> carved from), and per
    split read the rows whose empty text `empty_text` filled or dropped."""
    from datasets import DatasetDict

    with _quiet_datasets():
        raw = _select(_load_raw(spec, err, cache_dir), spec, err)
        check_label_types(raw, spec, err)
        raw, emptied = handle_empty_text(raw, spec, err)  # before carving and sampling: their sizes stay exact
        _check_nonempty(raw, spec, err)
        if spec.eval_per_class is not None:  # the evaluation pool, before dev is carved from it
            for s in ("dev", "test"):
                if s in raw:
                    raw[s] = per_class(_labelled(raw[s], spec, s, err), spec.label_col, spec.eval_per_class,
                                       spec.split_seed, spec.label_names)
        splits, carved = _carve(raw, spec, err)
        _check_nonempty(splits, spec, err)
        if spec.per_class is not None and spec.label_col in splits["train"].column_names:
            splits["train"] = per_class(splits["train"], spec.label_col, spec.per_class, spec.split_seed,
                                        spec.label_names)
        splits["train"] = _cap(splits["train"], spec.max_train_samples, spec.split_seed)
        # A dev carved label by label has the size its `dev:` block asked for; max_eval_samples leaves it be.
        for s in ("dev", "test") if spec.dev is None else ("test",):
            splits[s] = _cap(splits[s], spec.max_eval_samples, spec.split_seed)
    return DatasetDict({s: splits[s] for s in SPLITS}), carved, emptied


def _labelled(ds: Any, spec: TaskSpec, split: str, err: TaskErrors) -> Any:
    """Per-label sampling needs the label column; say so here rather than fail inside the draw."""
    if spec.label_col not in ds.column_names:
        raise err.error("label_column", f"column '{spec.label_col}' not found in {split} split; available: "
                                        f"{', '.join(sorted(ds.column_names))}")
    return ds


def _check_nonempty(splits: dict[str, Any], spec: TaskSpec, err: TaskErrors) -> None:
    issues = [err.issue(split_key(spec, s), f"split '{s}' is empty") for s, ds in splits.items() if len(ds) == 0]
    if issues:
        raise ConfigError(issues)


def _select(raw: dict[str, Any], spec: TaskSpec, err: TaskErrors) -> dict[str, Any]:
    if not spec.filter:
        return raw
    names = {spec.label_col: spec.label_names} if spec.label_names else {}
    return {s: filter_rows(ds, spec.filter, names, s, err) for s, ds in raw.items()}


def _load_raw(spec: TaskSpec, err: TaskErrors, cache_dir: Path) -> dict[str, Any]:
    src = spec.source
    if spec.local is not None and isinstance(src, HubSource):
        return _load_local(spec.local, src, err, cache_dir)
    if isinstance(src, HubSource):
        return _load_hub(src, err)
    if isinstance(src, FilesSource):
        return {s: _load_file(src, s, p, err, cache_dir) for s, p in src.paths().items()}
    if isinstance(src, ConllSource):
        return {s: _load_conll(spec, src, s, p, err) for s, p in src.paths().items()}
    return _load_synthetic(spec, src, err)


def _load_hub(src: HubSource, err: TaskErrors) -> dict[str, Any]:
    ours = list(src.splits)
    loaded = load_hub_splits(src, [src.splits[s] for s in ours], err)
    return dict(zip(ours, loaded, strict=True))


def load_hub_splits(src: HubSource, splits: list[str], err: TaskErrors) -> list[Any]:
    """The named splits of a hub dataset, or of a local folder shaped like a hub repository."""
    from datasets import load_dataset

    local = Path(src.name).is_dir()
    script = Path(src.name) / f"{Path(src.name).name}.py"
    if local and script.is_file():  # datasets would stop on it; say what to do instead
        raise err.error("source.name", _script_message(src.name, script.name))
    try:
        if not local:
            return list(load_dataset(src.name, src.config, revision=src.revision, split=splits))
        # A local folder is read into memory through a throwaway Arrow cache, like any local file: the
        # tokenization cache is what persists, and bad input must leave nothing behind.
        with tempfile.TemporaryDirectory(prefix="clsweep-read-") as tmp:
            return list(load_dataset(src.name, src.config, split=splits, cache_dir=tmp, keep_in_memory=True))
    except Exception as e:  # datasets raises many types (offline, missing split, bad files)
        found = _script_name(e)
        if found is not None:
            raise err.error("source.name", _script_message(src.name, found)) from None
        raise err.error("source.name", f"cannot load dataset '{src.name}': {first_line(e)}; give a hub dataset id "
                        "that is reachable (offline: already in the Hugging Face cache) or a local folder") from e


def _script_name(exc: BaseException) -> str | None:
    """The loading script datasets refused, from its message ('... no longer supported, but found x.py')."""
    text = first_line(exc)
    if "scripts are no longer supported" not in text:
        return None
    return text.rsplit("found ", 1)[-1].strip() or "a .py file"


def _script_message(name: str, script: str) -> str:
    return (f"cannot load dataset '{name}': it is a dataset loading script ({script}), which datasets >= 4 no "
            f"longer runs; {SCRIPT_FIX}")


def _load_local(local: LocalFiles, src: HubSource, err: TaskErrors, cache_dir: Path) -> dict[str, Any]:
    """The hub dataset's splits from local copies: <dir>/<hub split>.<ext>, or explicit files per split."""
    if local.dir is None:
        return {s: _load_file(local, s, p, err, cache_dir, key="local") for s, p in local.paths().items()}
    out: dict[str, Any] = {}
    for ours, theirs in src.splits.items():
        base = theirs.split("[", 1)[0]  # a slice ('train[:10%]') reads the split's file, then slices it
        found = [p for ext in FILE_FORMATS if (p := Path(local.dir) / f"{base}.{ext}").is_file()]
        if not found:
            exts = "|".join(FILE_FORMATS)
            raise err.error("local.dir", f"no file for hub split '{base}' (split {ours}): expected "
                                         f"{Path(local.dir) / base}.{{{exts}}}")
        out[ours] = _load_file(local, ours, str(found[0]), err, cache_dir, key="local",
                               split_spec=theirs.replace(base, "train", 1))
    return out


def _load_file(src: FilesSource | LocalFiles, split: str, path: str, err: TaskErrors, cache_dir: Path,
               key: str = "source", split_spec: str = "train") -> Any:
    from datasets import Dataset, load_dataset

    fmt = src.format if src.format != "auto" else Path(path).suffix.lstrip(".").lower()
    if fmt not in _BUILDERS:
        raise err.error(f"{key}.format", f"cannot tell the format of '{path}'; set format to one of "
                                         f"{', '.join(FILE_FORMATS)}")
    if os.path.getsize(path) == 0:
        return Dataset.from_dict({})
    kwargs: dict[str, Any] = {"delimiter": "\t"} if fmt == "tsv" else {}
    try:
        # Read into memory through a throwaway Arrow cache: the tokenization cache is what persists, and a
        # file that turns out to be bad input must leave nothing behind.
        with tempfile.TemporaryDirectory(prefix="clsweep-read-") as tmp, _no_error_log():
            return load_dataset(_BUILDERS[fmt], data_files=path, split=split_spec, cache_dir=tmp,
                                keep_in_memory=True, **kwargs)
    except Exception as e:
        if "corresponds to no data" in str(e):  # a header-only csv
            return Dataset.from_dict({})
        # The JSON readers name a byte position or a row; the line of the file is what an editor shows.
        problem = json_problem(path) if fmt in ("json", "jsonl") else None
        raise err.error(f"{key}.{split}", f"cannot read {path} as {fmt}: {problem or first_line(e)}") from e


@contextmanager
def _no_error_log() -> Iterator[None]:
    # datasets logs a failed read before raising; our one message replaces that line.
    import datasets

    level = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    try:
        yield
    finally:
        datasets.logging.set_verbosity(level)


def _load_conll(spec: TaskSpec, src: ConllSource, split: str, path: str, err: TaskErrors) -> Any:
    from datasets import Dataset

    try:
        tokens, tags = read_conll(path, src.token_column, src.tag_column, src.separator)
    except (ConllFormatError, UnicodeDecodeError) as e:
        raise err.error(f"source.{split}", f"{path}: {e}") from None
    # Columns take the task's column names, so text_column/label_column always find them.
    return Dataset.from_dict({spec.text_col: tokens, spec.label_col: tags})


def _load_synthetic(spec: TaskSpec, src: SyntheticSource, err: TaskErrors) -> dict[str, Any]:
    from datasets import ClassLabel, Dataset, Features, List, Value

    from clsweep.tasks.synthetic import SYNTHETIC_TASKS, generate

    task = SYNTHETIC_TASKS.get(src.task)
    if task.type != spec.type and not (task.type == "sequence" and spec.type == "text2text"):
        valid = f"{task.type} or text2text" if task.type == "sequence" else task.type
        raise err.error("type", f"synthetic task '{src.task}' is a {task.type} task; valid type: {valid}")
    label = ClassLabel(names=list(task.labels))
    if task.type == "mlm":
        features = Features({"text": Value("string")})
    elif task.type == "token":
        features = Features({"tokens": List(Value("string")), "tags": List(label)})
    else:
        features = Features({c: Value("string") for c in task.columns if c != "label"} | {"label": label})
    sizes = {"train": src.train_size, "dev": src.dev_size, "test": src.test_size}
    out = {}
    for s, n in sizes.items():
        cols = generate(src.task, n, src.seed, s)
        if "label" in cols:  # the pair task's labels are ints; ClassLabel encodes names
            cols["label"] = [str(v) for v in cols["label"]]
        out[s] = Dataset.from_dict(cols, features=features)
    return out


def _carve(raw: dict[str, Any], spec: TaskSpec, err: TaskErrors) -> tuple[dict[str, Any], dict[str, str]]:
    """Fill in dev and test: `dev:` carves label by label; otherwise a random dev_fraction of train."""
    splits = dict(raw)
    carved: dict[str, str] = {}
    per_label = spec.dev is not None and "dev" not in splits
    # A dev carved from test needs the test split first, even when test itself is carved from train.
    for name in ("test", "dev") if per_label else ("dev", "test"):
        if name in splits:
            continue
        if name == "dev" and spec.dev is not None:
            origin = spec.dev.from_
            splits[origin], splits["dev"] = _carve_labels(splits[origin], spec, origin, err)
        else:
            origin = "train"
            train = splits["train"]
            try:
                parts = train.train_test_split(test_size=spec.dev_fraction, seed=spec.split_seed)
            except ValueError as e:
                raise err.error("dev_fraction", f"cannot carve a {name} split from {len(train)} train "
                                                f"example(s): {first_line(e)}") from None
            splits["train"], splits[name] = parts["train"], parts["test"]
        carved[name] = origin
    return splits, {s: carved[s] for s in ("dev", "test") if s in carved}


def _carve_labels(ds: Any, spec: TaskSpec, origin: str, err: TaskErrors) -> tuple[Any, Any]:
    """(what stays in `origin`, dev): dev.per_class examples of each label, or dev.fraction of each."""
    assert spec.dev is not None
    try:
        return carve_per_class(_labelled(ds, spec, origin, err), spec.label_col, spec.split_seed, spec.label_names,
                               count=spec.dev.per_class, fraction=spec.dev.fraction)
    except TooFewRows as e:
        raise err.error("dev.per_class", f"cannot carve {spec.dev.per_class} dev examples of label '{e.label}' "
                                         f"from the {origin} split: it has {e.rows}, and some must stay in "
                                         f"{origin}; give a smaller dev.per_class") from None


def _cap(ds: Any, limit: int | None, seed: int) -> Any:
    if limit is None or len(ds) <= limit:
        return ds
    return ds.shuffle(seed=seed).select(range(limit))

"""The on-disk tokenization cache: keys, tokenizer fingerprints, and atomic reads and writes of entries."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import tempfile
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 3  # 2: token ids as numpy arrays (JSON decoding took ~0.5 s per 24k examples on a cache hit);
# 3: a text2text pair over max_length is cut longest first, each part in its own slot (was: both in {text})
SPLITS = ("train", "dev", "test")
_DATA_FIELDS = ("type", "source", "local", "labels", "label_names", "label_map", "filter", "per_class",
                "eval_per_class", "dev", "max_train_samples", "max_eval_samples", "dev_fraction", "split_seed")


def default_cache_dir(configured: str | None) -> Path:
    return Path(configured or os.environ.get("CLSWEEP_CACHE") or Path.home() / ".cache" / "clsweep").expanduser()


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def tokenizer_fingerprint(tokenizer: Any) -> dict[str, Any]:
    vocab = sorted(tokenizer.get_vocab().items())
    return {
        "name_or_path": str(getattr(tokenizer, "name_or_path", "")),
        "class": type(tokenizer).__name__,
        "vocab_size": getattr(tokenizer, "vocab_size", len(vocab)),
        "vocab": _sha(vocab),
        "truncation_side": getattr(tokenizer, "truncation_side", "right"),
        **({"eos": tokenizer.eos_token} if getattr(tokenizer, "eos_token", None) is not None else {}),
    }


def cache_key(spec_data: dict[str, Any], files: list[list[Any]], tok: dict[str, Any], max_length: int) -> str:
    return _sha({"version": FORMAT_VERSION, "spec": spec_data, "files": files, "tokenizer": tok,
                 "max_length": max_length})


def spec_data(spec: Any, columns: Any) -> dict[str, Any]:
    """The spec fields that change the data (not epochs, lr, metrics, head ...), columns as resolved."""
    data = spec.model_dump(mode="json", include=set(_DATA_FIELDS))
    data["columns"] = [columns.text, columns.pair, columns.label]
    if spec.empty_text != "error":  # only then: existing cache keys stay valid
        data["empty_text"] = spec.empty_text
    if spec.type == "text2text":
        # Unset column formats are left out: the keys of templates without them stay as they were.
        data["text2text"] = [spec.prompt.model_dump(mode="json", exclude_none=True), spec.target_column,
                             spec.max_target_length]
    return data


def entry_dir(root: Path, name: str, key: str) -> Path:
    return root / "tokenized" / f"{name}-{key[:16]}"


_ARRAYS = ("input_ids", "token_type_ids", "labels", "targets")


def _save_split(folder: Path, split: str, data: dict[str, Any]) -> None:
    """Integer columns as flat int64 arrays (+ row lengths when ragged) in one raw .bin; the rest as JSON.

    Raw bytes with their layout in the JSON, not .npz: numpy's header parsing cost more than the data.
    """
    arrays: dict[str, np.ndarray] = {}
    for key in _ARRAYS:
        rows = data.get(key)
        if rows and isinstance(rows[0], list):
            arrays[f"{key}.values"] = np.fromiter(chain.from_iterable(rows), dtype=np.int64)
            arrays[f"{key}.lengths"] = np.fromiter(map(len, rows), dtype=np.int64)
        elif rows is not None:
            arrays[key] = np.asarray(rows, dtype=np.int64)
    layout, start = {}, 0
    for name, a in arrays.items():
        layout[name] = [start, len(a)]
        start += len(a)
    flat = np.concatenate(list(arrays.values())) if arrays else np.zeros(0, np.int64)
    (folder / f"{split}.bin").write_bytes(flat.astype("<i8").tobytes())
    rest = {k: v for k, v in data.items() if k not in _ARRAYS} | {k: None for k in _ARRAYS if data.get(k) is None}
    (folder / f"{split}.json").write_text(json.dumps({**rest, "_layout": layout}), encoding="utf-8")


def _load_split(folder: Path, split: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / f"{split}.json").read_text(encoding="utf-8"))
    layout = data.pop("_layout")
    flat = np.frombuffer((folder / f"{split}.bin").read_bytes(), dtype="<i8")
    if len(flat) != sum(n for _, n in layout.values()):
        raise ValueError("truncated cache entry")  # read_entry turns this into a miss
    arrays = {name: flat[a : a + n] for name, (a, n) in layout.items()}
    for key in _ARRAYS:
        if key in arrays:
            data[key] = arrays[key].tolist()
        elif f"{key}.values" in arrays:
            values, ends = arrays[f"{key}.values"].tolist(), np.cumsum(arrays[f"{key}.lengths"]).tolist()
            data[key] = _rows(values, ends)
    return data


def _rows(values: list[int], ends: list[int]) -> list[list[int]]:
    # Tens of thousands of new lists would trigger the cyclic GC over every object torch and transformers
    # made (10x the slicing itself, measured); these lists hold ints only and cannot form cycles.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return [values[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    finally:
        if enabled:
            gc.enable()


def read_entry(path: Path, key: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]] | None:
    """(meta, splits) of a complete entry written for `key`, else None (a miss)."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        if meta.get("key") != key or meta.get("version") != FORMAT_VERSION:
            return None
        splits = {s: _load_split(path, s) for s in SPLITS}
    except (OSError, ValueError):
        return None
    return meta, splits


def write_entry(path: Path, key: str, meta: dict[str, Any], splits: dict[str, dict[str, Any]]) -> None:
    """Write into a temp dir beside `path`, then rename: readers never see a half-written entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        for s in SPLITS:
            _save_split(tmp, s, splits[s])
        (tmp / "meta.json").write_text(json.dumps({**meta, "key": key, "version": FORMAT_VERSION}, indent=1),
                                       encoding="utf-8")
        if path.exists():  # stale or corrupt (read_entry said miss): replace it
            shutil.rmtree(path, ignore_errors=True)
        try:
            os.rename(tmp, path)
        except OSError:
            if read_entry(path, key) is None:  # a concurrent writer won only if its entry is whole
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

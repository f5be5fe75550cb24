"""The on-disk tokenization cache: keys, tokenizer fingerprints, and atomic reads and writes of entries."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
SPLITS = ("train", "dev", "test")
_DATA_FIELDS = ("type", "source", "local", "labels", "label_names", "label_map", "filter", "per_class",
                "max_train_samples", "max_eval_samples", "dev_fraction", "split_seed")


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
    }


def cache_key(spec_data: dict[str, Any], files: list[list[Any]], tok: dict[str, Any], max_length: int) -> str:
    return _sha({"version": FORMAT_VERSION, "spec": spec_data, "files": files, "tokenizer": tok,
                 "max_length": max_length})


def spec_data(spec: Any, columns: Any) -> dict[str, Any]:
    """The spec fields that change the data (not epochs, lr, metrics, head ...), columns as resolved."""
    data = spec.model_dump(mode="json", include=set(_DATA_FIELDS))
    data["columns"] = [columns.text, columns.pair, columns.label]
    return data


def entry_dir(root: Path, name: str, key: str) -> Path:
    return root / "tokenized" / f"{name}-{key[:16]}"


def read_entry(path: Path, key: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]] | None:
    """(meta, splits) of a complete entry written for `key`, else None (a miss)."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        if meta.get("key") != key or meta.get("version") != FORMAT_VERSION:
            return None
        splits = {s: json.loads((path / f"{s}.json").read_text(encoding="utf-8")) for s in SPLITS}
    except (OSError, ValueError):
        return None
    return meta, splits


def write_entry(path: Path, key: str, meta: dict[str, Any], splits: dict[str, dict[str, Any]]) -> None:
    """Write into a temp dir beside `path`, then rename: readers never see a half-written entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        for s in SPLITS:
            (tmp / f"{s}.json").write_text(json.dumps(splits[s]), encoding="utf-8")
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

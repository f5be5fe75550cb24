"""Checkpoint manifests: the sha256 and size of every file, written last and checked before a resume uses it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from clsweep.io import write_json_atomic

MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path) -> None:
    files = {p.name: {"sha256": _sha256(p), "bytes": p.stat().st_size}
             for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    write_json_atomic(folder / MANIFEST, {"files": files})


def verify_checkpoint(folder: Path) -> str | None:
    """None when every file the manifest lists is present and unchanged; else what is wrong, in words."""
    path = folder / MANIFEST
    if not path.is_file():
        return f"no {MANIFEST} (the checkpoint was never completed)"
    try:
        files = json.loads(path.read_text())["files"]
    except (ValueError, KeyError) as e:
        return f"unreadable {MANIFEST}: {e}"
    for name, want in files.items():
        p = folder / name
        if not p.is_file():
            return f"{name} is missing"
        if p.stat().st_size != want["bytes"]:
            return f"{name} has {p.stat().st_size} bytes, the manifest says {want['bytes']}"
        if _sha256(p) != want["sha256"]:
            return f"{name} does not match its sha256 in {MANIFEST}"
    return None

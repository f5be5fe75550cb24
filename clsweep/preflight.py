"""Checks made before anything starts or is written: output folders writable, resources this machine has."""

from __future__ import annotations

import os
from pathlib import Path

from clsweep.errors import ConfigError


def check_writable(path: Path, file: str, key: str) -> None:
    """`path` (which may not exist yet) can be created and written: its nearest existing ancestor is a
    writable folder. Found now, not after hours of data preparation or on the first checkpoint."""
    probe = path.expanduser().absolute()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError.one(file, key, f"{path} cannot be created: {probe} is a file, not a folder; "
                              "give a folder path")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError.one(file, key, f"{path} cannot be written: no write permission on {probe}; "
                              "give a folder you can write to")


def inside(storage: Path, name: str, file: str, key: str = "run.name") -> Path:
    """storage/name, refused when `name` would lead outside the storage folder (e.g. '../x')."""
    root = storage.expanduser().resolve()
    target = (root / name).resolve()
    if target == root or root not in target.parents:
        raise ConfigError.one(file, key, f"'{name}' would put outputs outside {root}; "
                              "use a plain folder name (letters, digits, '._-')")
    return target


def local_capacity() -> list[dict[str, float]]:
    """This machine as the one node a fresh local Ray would have (CPUs this process may use, CUDA GPUs)."""
    import torch

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return [{"CPU": float(cpus), "GPU": float(torch.cuda.device_count())}]

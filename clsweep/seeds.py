"""Stable seeds derived from names, so nothing random depends on how much of a global RNG was used before."""

from __future__ import annotations

import hashlib


def derived_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts (run seed, task, split, ...)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1

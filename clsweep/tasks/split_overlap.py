"""Split roles (train, dev, test) must read different data: a test example trained on, or a dev example also
scored as test, inflates every number without a word. Hub splits are written in `datasets`' syntax: a split
name, a slice such as train[:80%], train[1000:2000] or train[-10%:](pct1_dropremainder), or several joined by +."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations, product
from pathlib import Path
from typing import Any

ROLES = ("train", "dev", "test")
# datasets' own grammar (arrow_reader._SUB_SPEC_RE and _ADDITION_SEP_RE): exactly what load_dataset reads.
_SLICE = re.compile(r"(?P<split>\w+(\.\w+)*)"
                    r"(\[((?P<from>-?[\d_]+)(?P<from_pct>%)?)?:((?P<to>-?[\d_]+)(?P<to_pct>%)?)?\])?"
                    r"(\((?P<rounding>[^)]*)\))?")
_PLUS = re.compile(r"\s*\+\s*")
_ROUNDINGS = ("closest", "pct1_dropremainder")
CARVE_FROM_TEST = "dev: {from: test, fraction: 0.5}"

# A slice bound: (unit, counted from the split's end, count). Units are "rows" or "% <rounding>"; two bounds in
# different units, or one from the start and one from the end, may compare either way depending on the split's size.
Bound = tuple[str, bool, int]
START: Bound = ("rows", False, 0)
END: Bound = ("rows", True, 0)


@dataclass(frozen=True)
class Piece:
    """One `split[from:to]` of a split spec, as the rows [start, end) of the dataset's split `split`."""

    split: str
    start: Bound
    end: Bound


def parse_split(role: str, spec: str) -> list[Piece]:
    """The pieces `spec` reads; a ValueError naming `role` when datasets could not read it either."""
    return [_piece(role, spec, part) for part in _PLUS.split(spec)]


def _piece(role: str, spec: str, text: str) -> Piece:
    m = _SLICE.fullmatch(text)
    pct = bool(m and (m["from_pct"] or m["to_pct"]))
    if m is None or (m["rounding"] is not None and not (pct and m["rounding"] in _ROUNDINGS)):
        raise ValueError(_unreadable(role, spec))
    try:
        lo, hi = (None if v is None else int(v) for v in (m["from"], m["to"]))
    except ValueError:  # '_' alone or doubled: the pattern lets it through, int() does not
        raise ValueError(_unreadable(role, spec)) from None
    if pct and any(v is not None and abs(v) > 100 for v in (lo, hi)):
        raise ValueError(_unreadable(role, spec))
    unit = f"% {m['rounding'] or 'closest'}" if pct else "rows"
    return Piece(m["split"], _bound(lo, unit, START), _bound(hi, unit, END))


def _unreadable(role: str, spec: str) -> str:
    return (f"{role}: '{spec}' is not a split datasets can read; give a split name or a slice of one such as "
            f"train[:80%], train[1000:2000] or train[10%:] (several may be joined with +)")


def _bound(value: int | None, unit: str, default: Bound) -> Bound:
    if value is None:
        return default
    # 0 rows or 0% is the start; with closest rounding, 100% is the end and -100% the start.
    if value == 0 or (unit == "% closest" and value == -100):
        return START
    if unit == "% closest" and value == 100:
        return END
    return unit, value < 0, abs(value)


def _le(a: Bound, b: Bound) -> bool | None:
    """Whether a <= b for every split size; False: a > b once the split is large; None: not comparable unsized."""
    if a == START or b == END:
        return True
    if a[:2] == b[:2]:
        return a[2] >= b[2] if a[1] else a[2] <= b[2]
    return False if a == END or b == START else None


def overlap(a: Piece, b: Piece) -> bool | None:
    """Whether two pieces share rows; None when bounds in different units leave it open (it may hinge on the size)."""
    if a.split != b.split:
        return False
    apart = (_le(a.end, b.start), _le(b.end, a.start))
    if True in apart:
        return False
    return None if None in apart else True


def check_hub_splits(splits: Mapping[str, str]) -> None:
    """Refuse two roles that read the same hub split, or slices of one that share (or may share) rows."""
    pieces = {role: parse_split(role, spec) for role, spec in splits.items()}
    for a, b in combinations([r for r in ROLES if r in splits], 2):
        for pa, pb in product(pieces[a], pieces[b]):
            shared = overlap(pa, pb)
            if shared is not False:
                raise ValueError(_hub_message(a, b, splits, pa.split, shared))


def _hub_message(a: str, b: str, splits: Mapping[str, str], base: str, certain: bool | None) -> str:
    named = f"{a} ('{splits[a]}') and {b} ('{splits[b]}')"
    if splits[a] == splits[b] == base:
        what = f"{a} and {b} both read the dataset's split '{base}'"
    else:
        what = f"{named} {'both read' if certain else 'may share'} rows of the dataset's split '{base}'"
    why = "" if certain else (": their bounds count in different units (percent or rows, from the start or the end, "
                              "or another rounding), which cannot be compared before the split is loaded")
    cut = "80%" if a == "train" else "50%"
    remedy = (f"map {b} to another split or to a disjoint slice in the same unit (e.g. {a}: {base}[:{cut}], "
              f"{b}: {base}[{cut}:])")
    return f"{what}, so {_harm(a, b, 'would' if certain else 'could')}{why}; {remedy}, or {_leave_out(a, b)}"


def own_file(role: str, path: str, earlier: Mapping[str, Any]) -> str:
    """`path`, refused when an earlier role (train, then dev) reads the same file; keys other than roles pass."""
    for other in ROLES[: ROLES.index(role)] if role in ROLES else ():
        seen = earlier.get(other)
        if isinstance(seen, str) and _same_file(seen, path):
            fix = f"give {role} its own file, or {_leave_out(other, role)}"
            raise ValueError(f"{role} reads the same file as {other} ({Path(path).resolve()}), so "
                             f"{_harm(other, role, 'would')}; {fix}")
    return path


def _same_file(a: str, b: str) -> bool:
    # resolve() sees through '..' and symlinks; samefile also through hard links and case-insensitive names.
    if Path(a).resolve() == Path(b).resolve():
        return True
    return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)


def _harm(a: str, b: str, verb: str) -> str:
    if a == "train":
        return f"{b} examples {verb} be trained on"
    return f"the model {verb} be selected on the very examples it is scored on"


def _leave_out(a: str, b: str) -> str:
    if a == "train":
        return f"leave {b} out to carve it from train"
    return f"leave dev out to carve it from train, or from test with {CARVE_FROM_TEST}"

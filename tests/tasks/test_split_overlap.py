"""Two split roles (train, dev, test) may not read the same data: the same hub split, overlapping slices of one,
or the same file. Refused at config time; dev carved from the test split (Progressive Prompts) stays valid."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

import pytest
from datasets import ReadInstruction

from clsweep.cli import main
from clsweep.errors import ConfigError
from clsweep.tasks.split_overlap import check_hub_splits, parse_split

TASKLISTS = Path(__file__).resolve().parents[2] / "tasklists"
Make = Callable[..., Any]

# Split specs load_dataset reads, and their bounds in every unit: rows and percent, from the start and from
# the end, both roundings, '+' joins, the 0% / 100% edges.
SPECS = ["train", "test", "train[:80%]", "train[80%:]", "train[50%:]", "train[:1000]", "train[1000:2000]",
         "train[999:]", "train[:-1000]", "train[-1000:]", "train[:90%]", "train[-10%:]", "train[0%:50%]",
         "train[50%:100%]", "train[:100%]", "train[100%:]", "train[-100%:10%]", "train[:0]", "train[1_000:]",
         "train[:10%](pct1_dropremainder)", "train[10%:](pct1_dropremainder)", "train[10%:](closest)",
         "test[:10%]+train[95%:]", "validation_matched", "train.all"]
UNREADABLE = ["train[:80]%", "train[:10](closest)", "train[:150%]", "train[_:]", "train[1__0:]", "train [:10%]",
              "train[:10%]+", "", "train[:10%]()", "train[:10%](rounded)", "train[10%:20%:2]", "train[a:]"]
# Sizes around every bound above, and small ones where rounding bites (e.g. 15: 90% is 14 rows, -10% is 13).
SIZES = [*range(0, 260), 999, 1000, 1001, 1999, 2000, 2001, 2999, 5000, 12_345, 50_000, 1_000_000]


def _verdict(a: str, b: str) -> bool | None:
    """check_hub_splits on train: a, test: b: False if accepted, True if they overlap, None if they may."""
    try:
        check_hub_splits({"train": a, "test": b})
    except ValueError as e:
        return None if "may share rows" in str(e) else True
    return False


def _shared_sizes(a: str, b: str) -> list[int]:
    """The split sizes at which datasets itself gives a and b a row in common."""
    ia, ib = ReadInstruction.from_spec(a), ReadInstruction.from_spec(b)
    out = []
    for n in SIZES:
        lengths = {"train": n, "test": n, "validation_matched": n, "train.all": n}
        try:
            ra, rb = ia.to_absolute(lengths), ib.to_absolute(lengths)
        except ValueError:  # pct1_dropremainder refuses splits under 100 rows
            continue
        if any(x.splitname == y.splitname and max(x.from_, y.from_) < min(x.to, y.to) for x in ra for y in rb):
            out.append(n)
    return out


@pytest.mark.parametrize(("a", "b"), list(combinations_with_replacement(SPECS, 2)))
def test_the_verdict_agrees_with_the_rows_datasets_reads(a: str, b: str) -> None:
    verdict, shared = _verdict(a, b), _shared_sizes(a, b)
    assert _verdict(b, a) == verdict
    if verdict is False:
        assert shared == [], f"accepted, but {a} and {b} share rows at split sizes {shared[:5]}"
    elif verdict:  # refused as overlapping: they share rows at every large size
        assert SIZES[-1] in shared, f"refused, but {a} and {b} share no rows of a large split"
    # None (bounds in different units) refuses without claiming an overlap: e.g. 50% and -50% share a row at size 3


@pytest.mark.parametrize("spec", SPECS + UNREADABLE)
def test_readable_exactly_when_datasets_reads_it(spec: str) -> None:
    try:
        ReadInstruction.from_spec(spec)
        readable = True
    except ValueError:
        readable = False
    if readable:
        assert parse_split("test", spec)
    else:
        with pytest.raises(ValueError, match=re.escape(f"test: '{spec}' is not a split datasets can read")):
            parse_split("test", spec)


@pytest.mark.parametrize(("splits", "message"), [
    ({"train": "train", "test": "train"},
     "train and test both read the dataset's split 'train', so test examples would be trained on; map test to "
     "another split or to a disjoint slice in the same unit (e.g. train: train[:80%], test: train[80%:]), or leave "
     "test out to carve it from train"),
    ({"train": "train", "dev": "test", "test": "test"},
     "dev and test both read the dataset's split 'test', so the model would be selected on the very examples it is "
     "scored on; map test to another split or to a disjoint slice in the same unit (e.g. dev: test[:50%], test: "
     "test[50%:]), or leave dev out to carve it from train, or from test with dev: {from: test, fraction: 0.5}"),
    ({"train": "train", "dev": "train[:10%]", "test": "test"}, "train ('train') and dev ('train[:10%]') both read "
                                                                "rows of the dataset's split 'train'"),
    ({"train": "train[:80%]", "test": "train[50%:]"}, "both read rows of the dataset's split 'train'"),
    ({"train": "train+validation", "test": "validation"}, "both read rows of the dataset's split 'validation'"),
    ({"train": "train[:80%]", "test": "train[1000:]"},
     "train ('train[:80%]') and test ('train[1000:]') may share rows of the dataset's split 'train', so test "
     "examples could be trained on: their bounds count in different units (percent or rows, from the start or the "
     "end, or another rounding), which cannot be compared before the split is loaded; map test to another split"),
    ({"train": "train[:90%]", "test": "train[-10%:]"}, "may share rows"),  # 15 rows: [0, 14) and [13, 15)
    ({"train": "train[:50%]", "test": "train[-50%:]"}, "may share rows"),  # 3 rows: [0, 2) and [1, 3)
])
def test_hub_roles_reading_the_same_rows_are_refused(make_cfg: Make, splits: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        make_cfg({"t": {"source": {"kind": "hub", "name": "org/data", "splits": splits}}})
    assert "tasklist.tasks.t.source.splits: " in str(e.value) and message in str(e.value)


@pytest.mark.parametrize("splits", [
    {"train": "train", "dev": "validation", "test": "test"},
    {"train": "train[:80%]", "dev": "train[80%:90%]", "test": "train[90%:]"},
    {"train": "train[:-2000]", "dev": "train[-2000:-1000]", "test": "train[-1000:]"},
    {"train": "train[1000:]", "dev": "train[:1000]", "test": "test"},
])
def test_disjoint_hub_splits_are_accepted(make_cfg: Make, splits: dict[str, str]) -> None:
    cfg, _ = make_cfg({"t": {"source": {"kind": "hub", "name": "org/data", "splits": splits}}})
    assert cfg.tasklist.tasks["t"].source.splits == splits


def test_a_hub_data_dir_copy_is_checked_like_the_hub(tmp_path: Path, make_cfg: Make) -> None:
    hub = {"kind": "hub", "name": "org/data", "splits": {"train": "train", "test": "train"}}
    with pytest.raises(ConfigError, match=r"tasklist\.tasks\.t\.source\.splits: train and test both read"):
        make_cfg({"t": {"source": hub, "local": {"dir": str(tmp_path)}}})


@pytest.mark.parametrize("kind", ["files", "conll"])
@pytest.mark.parametrize("spelling", ["t.data", "./t.data", "sub/../t.data", "{tmp}/t.data", "link.data"])
def test_a_file_read_by_two_roles_is_refused(tmp_path: Path, make_cfg: Make, kind: str, spelling: str) -> None:
    (tmp_path / "t.data").write_text("x\n")
    (tmp_path / "link.data").symlink_to(tmp_path / "t.data")
    src = {"kind": kind, "train": "t.data", "test": spelling.format(tmp=tmp_path)}
    with pytest.raises(ConfigError) as e:
        make_cfg({"t": {"type": "token", "source": src}})
    assert (f"tasklist.tasks.t.source.test: test reads the same file as train ({tmp_path / 't.data'}), so test "
            "examples would be trained on; give test its own file, or leave test out to carve it from train"
            ) in str(e.value)


def test_a_hard_link_is_the_same_file(tmp_path: Path, make_cfg: Make) -> None:
    (tmp_path / "t.csv").write_text("text,label\n")
    os.link(tmp_path / "t.csv", tmp_path / "dev.csv")
    with pytest.raises(ConfigError, match=r"tasklist\.tasks\.t\.source\.dev: dev reads the same file as train"):
        make_cfg({"t": {"source": {"kind": "files", "train": "t.csv", "dev": "dev.csv"}}})


def test_dev_and_test_in_one_file_are_refused(make_cfg: Make) -> None:
    src = {"kind": "files", "train": "train.csv", "dev": "eval.csv", "test": "eval.csv"}
    with pytest.raises(ConfigError) as e:
        make_cfg({"t": {"source": src}})
    assert "tasklist.tasks.t.source.test: test reads the same file as dev" in str(e.value)
    assert "selected on the very examples it is scored on" in str(e.value)
    assert "or leave dev out to carve it from train, or from test with dev: {from: test, fraction: 0.5}" in str(e.value)


def test_local_files_read_by_two_roles_are_refused(make_cfg: Make) -> None:
    hub = {"kind": "hub", "name": "org/data"}
    with pytest.raises(ConfigError, match=r"tasklist\.tasks\.t\.local\.test: test reads the same file as train"):
        make_cfg({"t": {"source": hub, "local": {"train": "copy.jsonl", "test": "copy.jsonl"}}})


def test_files_of_their_own_are_accepted_even_with_the_same_rows(tmp_path: Path, make_cfg: Make) -> None:
    for name in ("a.csv", "b.csv", "c.csv"):
        (tmp_path / name).write_text("text,label\nx,y\n")
    cfg, _ = make_cfg({"t": {"source": {"kind": "files", "train": "a.csv", "dev": "b.csv", "test": "c.csv"}},
                       "h": {"source": {"kind": "hub", "name": "org/data"},
                             "local": {"train": "a.csv", "dev": "b.csv", "test": "c.csv"}}})
    assert set(cfg.tasklist.tasks) == {"t", "h"}


@pytest.mark.parametrize("source", [
    {"kind": "hub", "name": "org/data", "splits": {"train": "train", "test": "test"}},
    {"kind": "files", "train": "train.jsonl", "test": "test.jsonl"},
])
def test_dev_carved_from_the_test_split_stays_valid(make_cfg: Make, source: dict[str, Any]) -> None:
    """Progressive Prompts' protocol: dev and test both drawn from the dataset's test split, without overlap."""
    cfg, _ = make_cfg({"t": {"source": source, "eval_per_class": 500, "dev": {"from": "test", "fraction": 0.5}}})
    assert cfg.tasklist.tasks["t"].dev.from_ == "test"


def test_every_shipped_tasklist_still_validates(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(TASKLISTS.glob("*.yaml"))
    assert any(f.name == "pp4.yaml" for f in files)  # dev: {from: test, fraction: 0.5}
    assert main(["validate", *map(str, files)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.splitlines() == [f"{f}: ok" for f in files]

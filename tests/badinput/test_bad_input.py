"""Bad input through the real command line: exit 2, one message naming the file, the key path and what
would be valid, no traceback, nothing started and nothing written (the corpus is badinput_cases.py).

Every case writes real files (an experiment, where the mistake lives there a separate tasklist, data files)
and runs `clsweep train ... --out <tmp>/out` or `clsweep run ...`. Data problems (missing files, columns,
empty splits, labels) surface before any run folder exists, exactly like schema problems.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from badinput_cases import CASES, GOOD_TASKLIST, REVIEWS_CSV, SYN, Case, experiment

import clsweep.training.trainer as trainer_module
from clsweep.cli import main

REPO = Path(__file__).parents[2]


def write_case(tmp_path: Path, case: Case) -> Path:
    exp = tmp_path / "exp.yaml"
    exp.write_text(case.exp, encoding="utf-8")
    if case.tl is not None:
        (tmp_path / "tl.yaml").write_text(case.tl, encoding="utf-8")
    for name, text in case.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return exp


def _snapshot(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, int]:
    paths = (p.relative_to(folder) for p in folder.rglob("*"))
    return {str(p): (folder / p).stat().st_mtime_ns for p in paths if p.parts[0] not in skip}


def _argv(case: Case, exp: Path, out: Path) -> list[str]:
    if case.command == "run":
        return ["run", str(exp), *case.argv]
    return ["train", str(exp), "--out", str(out), "--quiet", *case.argv]


def test_the_corpus_covers_every_kind_of_bad_input() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_naming_file_key_and_remedy(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.cpu_only and torch.cuda.is_available():
        pytest.skip("only impossible without a GPU")
    monkeypatch.chdir(tmp_path)  # the default storage path stays inside tmp_path
    # Nothing may start: importing the Ray launcher fails, and so does a trainer starting to train.
    monkeypatch.setitem(sys.modules, "clsweep.tune.launcher", None)
    monkeypatch.setattr(trainer_module.ContinualTrainer, "run", _must_not_train)
    exp = write_case(tmp_path, case)
    before = _snapshot(tmp_path)
    rc = main(_argv(case, exp, tmp_path / "out"))
    err = capsys.readouterr().err
    assert rc == 2, err
    if case.prepares_data:
        err = err[err.find("error: "):]  # the data preparation's log lines come first
    where = {"exp": str(exp), "tl": str(tmp_path / "tl.yaml")}.get(case.where, case.where)
    assert where in err
    if case.where == "exp" and case.tl is not None:
        assert "tl.yaml" not in err  # the tasklist file is blamed only for its own mistakes
    assert case.key in err
    for fragment in case.fragments:
        assert fragment in err
    assert err.startswith("error: ")
    assert all(line.removeprefix("error: ").startswith(where) for line in err.splitlines())  # each names where
    assert "Traceback" not in err
    skip = ("cache",) if case.prepares_data else ()
    assert _snapshot(tmp_path, skip) == before  # no run folder, no cache, no checkpoints, nothing touched


def _must_not_train(*args: object, **kwargs: object) -> None:
    raise AssertionError("training started on bad input")


def test_data_errors_are_found_before_the_run_folder_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A good first task must not get a run folder going when a later task's data is bad."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.yaml").write_text(experiment(), encoding="utf-8")
    (tmp_path / "tl.yaml").write_text(
        f"tasks:\n  topic: {{source: {{{SYN}, task: topic}}}}\n"
        "  reviews: {labels: [neg, pos], source: {kind: files, train: reviews.csv}}\n", encoding="utf-8")
    (tmp_path / "reviews.csv").write_text(REVIEWS_CSV, encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["train", str(tmp_path / "exp.yaml"), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{tmp_path / 'tl.yaml'}: tasks.reviews.labels: label 'neutral'" in err
    assert not out.exists()


def test_real_process_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(experiment("trian: {epochs: 1}"), encoding="utf-8")
    (tmp_path / "tl.yaml").write_text(GOOD_TASKLIST, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "clsweep", "train", "bad.yaml", "--out", "out"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "bad.yaml: trian: unknown key 'trian' (did you mean 'train'?)" in proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "out").exists()


def test_validate_reports_each_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(experiment(), encoding="utf-8")
    (tmp_path / "tl.yaml").write_text(GOOD_TASKLIST, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(experiment("train: {epochs: 0}"), encoding="utf-8")
    bad_tl = tmp_path / "bad_tl.yaml"
    bad_tl.write_text(f"tasks:\n  topic: {{type: tokn, source: {{{SYN}, task: topic}}}}\n", encoding="utf-8")

    rc = main(["validate", str(good), str(bad), str(tmp_path / "tl.yaml"), str(bad_tl)])
    cap = capsys.readouterr()
    assert rc == 2
    assert cap.out.splitlines() == [f"{good}: ok", f"{tmp_path / 'tl.yaml'}: ok"]
    assert f"{bad}: train.epochs: Input should be greater than or equal to 1" in cap.err
    assert f"{bad_tl}: tasks.topic.type: unknown task type 'tokn' (did you mean 'token'?)" in cap.err
    assert "Traceback" not in cap.err

    rc = main(["validate", str(good), str(tmp_path / "tl.yaml")])
    assert rc == 0
    assert capsys.readouterr().err == ""


def test_validate_repo_files(capsys: pytest.CaptureFixture[str]) -> None:
    files = [REPO / "tasklists" / "synthetic.yaml", REPO / "search_spaces" / "ewc.yaml"]
    rc = main(["validate", *map(str, files)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert cap.out.splitlines() == [f"{f}: ok" for f in files]


def test_duplicate_keys_anywhere_in_the_experiment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not just task names: a section given twice would silently drop the first."""
    (tmp_path / "tl.yaml").write_text(GOOD_TASKLIST, encoding="utf-8")
    exp = tmp_path / "exp.yaml"
    exp.write_text(experiment("train: {lr: 0.1}", "train: {epochs: 2}"), encoding="utf-8")
    assert main(["validate", str(exp)]) == 2
    err = capsys.readouterr().err
    assert f"{exp}: train: invalid YAML: line 5, column 1: duplicate key 'train' (first on line 4)" in err
    # Same-named keys in different mappings are fine.
    exp.write_text(experiment("train: {seed: 1}", "eval: {batch_size: 8}", "search: {seeds: [1]}"))
    assert main(["validate", str(exp)]) == 0
    assert capsys.readouterr().out == f"{exp}: ok\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission bits")
def test_storage_without_write_permission(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tl.yaml").write_text(GOOD_TASKLIST, encoding="utf-8")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    exp = tmp_path / "exp.yaml"
    exp.write_text(experiment(run=f"cache_dir: {tmp_path / 'cache'}, storage_path: locked/runs"), encoding="utf-8")
    assert main(["train", str(exp), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{exp}: run.storage_path: {tmp_path / 'locked' / 'runs'}" in err and "no write permission" in err
    assert list(locked.iterdir()) == []

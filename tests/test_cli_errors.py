"""Malformed configs through the real command line: exit 2, the file and key named, no traceback, nothing written.

Every case writes real YAML files (an experiment and, where the mistake lives there, a separate tasklist)
and runs `clsweep train ... --out <tmp>/out`. Data problems (missing files, columns, empty splits, labels)
must surface before the run folder is created, exactly like schema problems.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from clsweep.cli import main

REPO = Path(__file__).parents[1]

# Tiny synthetic sizes: schema cases never get as far as generating data, but keep it cheap if one did.
SYN = "kind: synthetic, train_size: 16, dev_size: 8, test_size: 8"
GOOD_TASKLIST = f"""\
tasks:
  topic: {{source: {{{SYN}, task: topic}}}}
  ner: {{type: token, source: {{{SYN}, task: ner}}}}
"""
FILES_TASKLIST = """\
tasks:
  reviews:
    source: {{kind: files, train: reviews.csv{extra}}}
{spec}"""
REVIEWS_CSV = "text,label\n" + "".join(
    f"{w} movie number {i},{lab}\n"
    for i in range(4) for w, lab in (("great", "pos"), ("awful", "neg"), ("plain", "neutral"))
)


def experiment(*extra: str, tasklist: str = "tasklist: tl.yaml") -> str:
    """A valid experiment (tiny model, cpu) with `extra` top-level YAML lines appended."""
    lines = [
        tasklist,
        "model: {backbone: tiny, max_length: 32, tiny: {hidden_size: 32, intermediate_size: 64}}",
        "run: {cache_dir: cache}",
        *extra,
    ]
    return "\n".join(lines) + "\n"


def files_tasklist(spec: str = "", extra: str = "") -> str:
    return FILES_TASKLIST.format(extra=extra, spec="".join(f"    {line}\n" for line in spec.splitlines()))


@dataclass
class Case:
    id: str
    where: str  # "exp", "tl" or a literal such as "--set": which source the message must name
    key: str  # the key path the message must name
    fragments: tuple[str, ...]  # helpful text the message must hold
    exp: str = field(default_factory=experiment)
    tl: str | None = GOOD_TASKLIST
    files: dict[str, str] = field(default_factory=dict)
    argv: tuple[str, ...] = ()


CASES = [
    # ---------------------------------------------------------------- experiment schema
    Case("unknown-top-level-key", "exp", "trian", ("unknown key 'trian'", "did you mean 'train'"),
         exp=experiment("trian: {epochs: 1}")),
    Case("unknown-nested-key", "exp", "train.lrr", ("unknown key 'lrr'", "did you mean 'lr'", "valid keys:"),
         exp=experiment("train: {lrr: 0.1}")),
    Case("wrong-type", "exp", "train.epochs", ("valid integer", "'three'"),
         exp=experiment("train: {epochs: three}")),
    Case("out-of-range", "exp", "train.lr", ("greater than 0", "(got -1)"),
         exp=experiment("train: {lr: -1}")),
    Case("unknown-approach", "exp", "approach.name", ("unknown approach 'ewk'", "did you mean 'ewc'"),
         exp=experiment("approach: {name: ewk}")),
    Case("unknown-approach-param", "exp", "approach.ewc.lamda", ("unknown key 'lamda'", "did you mean 'lambda'"),
         exp=experiment("approach: {name: ewc, ewc: {lamda: 100}}")),
    Case("approach-param-type", "exp", "approach.ewc.lambda", ("valid number", "'big'"),
         exp=experiment("approach: {name: ewc, ewc: {lambda: big}}")),
    Case("eval-split", "exp", "eval.split", ("'test' or 'dev'", "'validation'"),
         exp=experiment("eval: {split: validation}")),
    Case("search-space-root", "exp", "search.space", ("space key 'optimizer.lr'", "must start with one of"),
         exp=experiment("search: {space: {optimizer.lr: {grid: [0.1, 0.01]}}}")),
    Case("distribution-two-keys", "exp", "search.space.train.lr", ("give exactly one of", "'grid', 'choice'"),
         exp=experiment("search: {space: {train.lr: {grid: [0.1], choice: [0.01]}}}")),
    Case("observe-interval", "exp", "observe.gpu_interval_s", ("greater than 0", "(got 0)"),
         exp=experiment("observe: {gpu_interval_s: 0}")),
    Case("observe-unknown-key", "exp", "observe.gpu", ("unknown key 'gpu'", "valid keys:"),
         exp=experiment("observe: {gpu: false}")),
    Case("order-unknown-task", "exp", "order", ("unknown task 'topc'", "did you mean 'topic'"),
         exp=experiment("order: [ner, topc]")),
    Case("order-duplicate-task", "exp", "order", ("names topic more than once",),
         exp=experiment("order: [topic, ner, topic]")),
    Case("cli-order-unknown-task", "exp", "order", ("unknown task 'nre'", "did you mean 'ner'"),
         argv=("--order", "topic,nre")),
    Case("missing-tasklist-file", "exp", "tasklist", ("file not found", "nope.yaml"),
         exp=experiment(tasklist="tasklist: nope.yaml")),
    Case("invalid-yaml-syntax", "exp", "line 5, column 5", ("invalid YAML", "expected ',' or '}'"),
         exp=experiment("train: {lr: 0.1, epochs: 1", "eval: {split: dev}")),
    Case("set-without-equals", "--set", "train.lr", ("expected KEY=VALUE",), argv=("--set", "train.lr")),
    Case("set-into-non-section", "--set", "train.lr.x", ("'train.lr' is not a section",),
         exp=experiment("train: {lr: 0.1}"), argv=("--set", "train.lr.x=1")),
    # ---------------------------------------------------------------- tasklist schema (named in the tasklist file)
    Case("unknown-task-type", "tl", "tasks.ner.type", ("unknown task type 'tokn'", "did you mean 'token'"),
         tl=f"tasks:\n  ner: {{type: tokn, source: {{{SYN}, task: ner}}}}\n"),
    Case("unknown-synthetic-task", "tl", "tasks.topic.source.task",
         ("unknown synthetic task 'topik'", "did you mean 'topic'"),
         tl=f"tasks:\n  topic: {{source: {{{SYN}, task: topik}}}}\n"),
    Case("unknown-source-key", "tl", "tasks.topic.source.taks", ("unknown key 'taks'", "did you mean 'task'"),
         tl=f"tasks:\n  topic: {{source: {{{SYN}, task: topic, taks: topic}}}}\n"),
    Case("unknown-metric", "tl", "tasks.topic.metrics", ("unknown metric 'acuracy'", "did you mean 'accuracy'"),
         tl=f"tasks:\n  topic: {{metrics: [acuracy], source: {{{SYN}, task: topic}}}}\n"),
    Case("metric-wrong-task-type", "tl", "tasks.topic.metrics", ("entity_f1 do not apply to sequence tasks", "valid:"),
         tl=f"tasks:\n  topic: {{metrics: [entity_f1], source: {{{SYN}, task: topic}}}}\n"),
    Case("task-without-source", "tl", "tasks.topic.source", ("required key is missing",),
         tl="tasks:\n  topic: {type: sequence}\n"),
    Case("duplicate-task-names", "tl", "line 3", ("duplicate key 'topic'", "first on line 2"),
         tl=f"tasks:\n  topic: {{source: {{{SYN}, task: topic}}}}\n  topic: {{source: {{{SYN}, task: intent}}}}\n"),
    # ---------------------------------------------------------------- data problems (found while preparing data)
    Case("missing-data-file", "tl", "tasks.reviews.source.train", ("file not found", "reviews.csv"),
         tl=files_tasklist()),
    Case("missing-column", "tl", "tasks.reviews.text_column",
         ("column 'body' not found in train split", "available: label, text"),
         tl=files_tasklist("text_column: body"), files={"reviews.csv": REVIEWS_CSV}),
    Case("empty-split", "tl", "tasks.reviews.source.test", ("split 'test' is empty",),
         tl=files_tasklist(extra=", test: header_only.csv"),
         files={"reviews.csv": REVIEWS_CSV, "header_only.csv": "text,label\n"}),
    Case("label-missing-from-labels-list", "tl", "tasks.reviews.labels",
         ("label 'neutral' in train split is not one of the listed labels: neg, pos",),
         tl=files_tasklist("labels: [neg, pos]"), files={"reviews.csv": REVIEWS_CSV}),
]


def write_case(tmp_path: Path, case: Case) -> Path:
    exp = tmp_path / "exp.yaml"
    exp.write_text(case.exp, encoding="utf-8")
    if case.tl is not None:
        (tmp_path / "tl.yaml").write_text(case.tl, encoding="utf-8")
    for name, text in case.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return exp


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_config_exits_2_naming_file_and_key(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # run.cache_dir and the default storage path stay inside tmp_path
    exp = write_case(tmp_path, case)
    out = tmp_path / "out"
    rc = main(["train", str(exp), "--out", str(out), "--quiet", *case.argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    where = {"exp": str(exp), "tl": str(tmp_path / "tl.yaml")}.get(case.where, case.where)
    assert where in err
    if case.where == "exp" and case.tl is not None:
        assert "tl.yaml" not in err  # the tasklist file is blamed only for its own mistakes
    assert case.key in err
    for fragment in case.fragments:
        assert fragment in err
    assert err.startswith("error: ")
    assert "Traceback" not in err
    assert not out.exists()  # no run folder, no config.json, no checkpoints
    assert not (tmp_path / "runs").exists()


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
    assert f"{exp}: invalid YAML: line 5, column 1: duplicate key 'train' (first on line 4)" in err
    # Same-named keys in different mappings are fine.
    exp.write_text(experiment("train: {seed: 1}", "eval: {batch_size: 8}", "search: {seeds: [1]}"))
    assert main(["validate", str(exp)]) == 0
    assert capsys.readouterr().out == f"{exp}: ok\n"

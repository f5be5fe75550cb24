"""Bad task data is a ConfigError naming the YAML file and the task's key, raised before tokenizing."""

from __future__ import annotations

import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest
import yaml

from clsweep.errors import ConfigError
from clsweep.loading import load_experiment, load_raw
from clsweep.tasks import prepare_tasks

ROWS = [{"text": "ab", "label": "a"}, {"text": "cd", "label": "b"}, {"text": "e", "label": "c"}]


def _files(**paths):
    return {"kind": "files", **{"train": "t.jsonl", "dev": "t_dev.jsonl", "test": "t_test.jsonl"}, **paths}


def _write(folder, write_jsonl, rows, stem="t"):
    """The same rows for train, dev and test, each in a file of its own (<stem>, <stem>_dev, <stem>_test)."""
    for name in (stem, f"{stem}_dev", f"{stem}_test"):
        write_jsonl(folder / f"{name}.jsonl", rows)


def _error(make_cfg, tok, tasks):
    cfg, sources = make_cfg(tasks)
    with pytest.raises(ConfigError) as info:
        prepare_tasks(cfg, tok, sources, log=lambda _: None)
    return str(info.value)


@pytest.fixture
def exp(tmp_path, write_jsonl):
    _write(tmp_path, write_jsonl, ROWS)
    return str(tmp_path / "exp.yaml")


def test_missing_column_lists_available(make_cfg, tok, exp):
    msg = _error(make_cfg, tok, {"s": {"source": _files(), "text_column": "txt"}})
    assert f"{exp}: tasklist.tasks.s.text_column: column 'txt' not found in train split; available: label, text" in msg


def test_without_sources_the_file_is_a_placeholder(make_cfg, tok, exp):
    cfg, _ = make_cfg({"s": {"source": _files(), "label_column": "y"}})
    with pytest.raises(ConfigError) as info:
        prepare_tasks(cfg, tok, None, log=lambda _: None)
    assert str(info.value).startswith("<config>: tasklist.tasks.s.label_column: column 'y' not found")


def test_missing_file_in_tasklist_file(tmp_path, tok, exp):
    tasklist = {"tasks": {"ner": {"type": "token", "source": {"kind": "conll", "train": "nope.conll"}}}}
    (tmp_path / "tl.yaml").write_text(yaml.safe_dump(tasklist))
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump({"tasklist": "tl.yaml", "approach": {"name": "finetune"}}))
    cfg = load_experiment(tmp_path / "exp.yaml")
    _, sources = load_raw(Path(tmp_path / "exp.yaml"))
    with pytest.raises(ConfigError) as info:
        prepare_tasks(cfg, tok, sources, cache_dir=tmp_path / "c", log=lambda _: None)
    expected = f"{tmp_path / 'tl.yaml'}: tasks.ner.source.train: file not found: {tmp_path / 'nope.conll'}"
    assert str(info.value) == expected


def test_empty_split(tmp_path, make_cfg, tok, exp):
    (tmp_path / "empty.jsonl").write_text("")
    msg = _error(make_cfg, tok, {"s": {"source": _files(dev="empty.jsonl")}})
    assert f"{exp}: tasklist.tasks.s.source.dev: split 'dev' is empty" in msg


def test_header_only_csv_is_empty(tmp_path, make_cfg, tok, exp):
    (tmp_path / "h.csv").write_text("text,label\n")
    msg = _error(make_cfg, tok, {"s": {"source": _files(test="h.csv")}})
    assert "tasklist.tasks.s.source.test: split 'test' is empty" in msg


def test_label_outside_explicit_labels(make_cfg, tok, exp):
    msg = _error(make_cfg, tok, {"s": {"source": _files(), "labels": ["a", "b"]}})
    assert f"{exp}: tasklist.tasks.s.labels: label 'c' in train split is not one of the listed labels: a, b" in msg


def test_dev_label_unseen_in_train(tmp_path, make_cfg, tok, exp, write_jsonl):
    write_jsonl(tmp_path / "d.jsonl", [{"text": "x", "label": "zzz"}])
    msg = _error(make_cfg, tok, {"s": {"source": _files(dev="d.jsonl")}})
    assert "tasklist.tasks.s.labels: label 'zzz' in dev split does not occur in train" in msg


def test_shared_head_label_mismatch(tmp_path, make_cfg, tok, exp, write_jsonl):
    _write(tmp_path, write_jsonl, [{"text": "x", "label": "a"}, {"text": "y", "label": "b"}], stem="u")
    tasks = {"first": {"source": _files(), "head": "shared"},
             "second": {"source": _files(train="u.jsonl", dev="u_dev.jsonl", test="u_test.jsonl"), "head": "shared"}}
    msg = _error(make_cfg, tok, tasks)
    assert (f"{exp}: tasklist.tasks.second.head: task 'second' shares head 'shared' with task 'first' "
            "but their labels differ: [a, b] vs [a, b, c]") in msg


def test_shared_head_type_mismatch(tmp_path, make_cfg, tok, exp):
    for name in ("n", "n_dev", "n_test"):
        (tmp_path / f"{name}.conll").write_text("ab O\n")
    tasks = {"seq": {"source": _files(), "head": "h"},
             "tok": {"type": "token", "source": {"kind": "conll", "train": "n.conll", "dev": "n_dev.conll",
                                                 "test": "n_test.conll"}, "head": "h"}}
    msg = _error(make_cfg, tok, tasks)
    assert "tasklist.tasks.tok.head: task 'tok' (token) shares head 'h' with task 'seq' (sequence)" in msg


def test_token_column_must_hold_word_lists(tmp_path, make_cfg, tok, write_jsonl):
    _write(tmp_path, write_jsonl, [{"tokens": "not a list", "tags": ["O"]}])
    msg = _error(make_cfg, tok, {"n": {"type": "token", "source": _files()}})
    assert "tasklist.tasks.n.text_column: token column 'tokens' in train split must hold lists of strings" in msg


def test_tags_length_mismatch(tmp_path, make_cfg, tok, write_jsonl):
    _write(tmp_path, write_jsonl, [{"tokens": ["a", "b"], "tags": ["O"]}])
    msg = _error(make_cfg, tok, {"n": {"type": "token", "source": _files()}})
    assert "tasklist.tasks.n.label_column: row 0 of the train split has 2 tokens but 1 tags" in msg


def test_unreachable_hub_dataset(make_cfg, tok):
    msg = _error(make_cfg, tok, {"h": {"source": {"kind": "hub", "name": "no-such-user/no-such-data"}}})
    assert "tasklist.tasks.h.source.name: cannot load dataset 'no-such-user/no-such-data':" in msg


def test_synthetic_type_mismatch(make_cfg, tok):
    msg = _error(make_cfg, tok, {"n": {"source": {"kind": "synthetic", "task": "ner"}}})
    assert "tasklist.tasks.n.type: synthetic task 'ner' is a token task; valid type: token" in msg


def test_all_tasks_checked_before_any_tokenization(tmp_path, make_cfg, tok, exp):
    tasks = {"good": {"source": _files()}, "bad": {"source": _files(), "label_column": "y"}}
    msg = _error(make_cfg, tok, tasks)
    assert "tasklist.tasks.bad.label_column: column 'y' not found" in msg
    assert not (tmp_path / "cache" / "tokenized").exists()


def test_bad_conll_line(tmp_path, make_cfg, tok):
    (tmp_path / "b.conll").write_text("ab O\ncd\n")
    src = {"kind": "conll", "train": "b.conll", "tag_column": 1}
    msg = _error(make_cfg, tok, {"n": {"type": "token", "source": src}})
    assert "tasklist.tasks.n.source.train:" in msg and "line 2: no tag column 1" in msg

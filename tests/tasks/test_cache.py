"""The tokenization cache: hits skip loading and tokenizing; any data-relevant change misses."""

from __future__ import annotations

import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import datasets
import pytest

from clsweep.tasks import cache, prepare_tasks

ROWS = [{"text": "ab cd", "label": "x"}, {"text": "e", "label": "y"}, {"text": "fgh", "label": "x"}]
SRC = {"kind": "files", "train": "t.jsonl", "dev": "t_dev.jsonl", "test": "t_test.jsonl"}


@pytest.fixture
def data(tmp_path, write_jsonl, role_copies):
    return role_copies(Path(write_jsonl(tmp_path / "t.jsonl", ROWS)))


def _run(make_cfg, tok, tasks, **sections):
    cfg, sources = make_cfg(tasks, **sections)
    lines: list[str] = []
    return prepare_tasks(cfg, tok, sources, log=lines.append), lines


def _no_work(monkeypatch, tok):
    def boom(*args, **kwargs):
        raise AssertionError("tokenized or loaded despite a cache hit")

    monkeypatch.setattr(type(tok), "__call__", boom)
    monkeypatch.setattr(datasets, "load_dataset", boom)


def test_second_run_hits_cache(tmp_path, make_cfg, tok, data, monkeypatch):
    first, lines1 = _run(make_cfg, tok, {"t": {"source": SRC}})
    assert any("tokenized 3/3/3" in line and "cached at" in line for line in lines1)
    with monkeypatch.context() as m:
        _no_work(m, tok)
        second, lines2 = _run(make_cfg, tok, {"t": {"source": SRC}})
    cache_lines = [line for line in lines2 if "cache" in line]
    assert len(cache_lines) == 1 and cache_lines[0].startswith("task t: using cached tokenization (")
    assert str(tmp_path / "cache" / "tokenized") in cache_lines[0]
    for s in ("train", "dev", "test"):
        assert second["t"].splits[s] == first["t"].splits[s]
    assert second["t"].labels == first["t"].labels and second["t"].stats == first["t"].stats
    (entry,) = (tmp_path / "cache" / "tokenized").iterdir()
    assert entry.name.startswith("t-") and len(entry.name) == 2 + 16
    assert sorted(p.name for p in entry.iterdir()) == ["dev.bin", "dev.json", "meta.json", "test.bin", "test.json",
                                                       "train.bin", "train.json"]


def test_max_length_change_misses(make_cfg, tok, data):
    _run(make_cfg, tok, {"t": {"source": SRC}})
    _, lines = _run(make_cfg, tok, {"t": {"source": SRC}}, model={"max_length": 32})
    assert any("tokenized" in line for line in lines) and not any("using cached" in line for line in lines)
    _, lines = _run(make_cfg, tok, {"t": {"source": SRC, "max_length": 16}}, model={"max_length": 32})
    assert not any("using cached" in line for line in lines)
    _, lines = _run(make_cfg, tok, {"t": {"source": SRC, "max_length": 16}})  # same effective length
    assert any("using cached" in line for line in lines)


def test_changed_file_misses(tmp_path, make_cfg, tok, data, write_jsonl):
    _run(make_cfg, tok, {"t": {"source": SRC}})
    write_jsonl(tmp_path / "t.jsonl", [*ROWS, {"text": "new", "label": "y"}])
    tasks, lines = _run(make_cfg, tok, {"t": {"source": SRC}})
    assert not any("using cached" in line for line in lines)
    assert len(tasks["t"].splits["train"]) == 4


def test_non_data_fields_keep_the_cache(make_cfg, tok, data):
    _run(make_cfg, tok, {"t": {"source": SRC}})
    _, lines = _run(make_cfg, tok, {"t": {"source": SRC, "epochs": 3, "lr": 1e-3}}, train={"epochs": 2})
    assert any("using cached" in line for line in lines)


def test_corrupt_entry_is_rewritten(tmp_path, make_cfg, tok, data):
    _run(make_cfg, tok, {"t": {"source": SRC}})
    (entry,) = (tmp_path / "cache" / "tokenized").iterdir()
    (entry / "train.json").write_text("{trunc")
    tasks, lines = _run(make_cfg, tok, {"t": {"source": SRC}})
    assert not any("using cached" in line for line in lines) and len(tasks["t"].splits["train"]) == 3
    _, lines = _run(make_cfg, tok, {"t": {"source": SRC}})
    assert any("using cached" in line for line in lines)
    assert not [p for p in entry.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_tokenizer_fingerprint_tracks_vocab(tok):
    from clsweep.models.tiny import tiny_tokenizer

    other = tiny_tokenizer()
    assert cache.tokenizer_fingerprint(other) == cache.tokenizer_fingerprint(tok)
    other.add_tokens(["zzzz"])
    assert cache.tokenizer_fingerprint(other) != cache.tokenizer_fingerprint(tok)


def test_cache_dir_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("CLSWEEP_CACHE", str(tmp_path / "env"))
    assert str(cache.default_cache_dir("/x/y")) == "/x/y"
    assert cache.default_cache_dir(None) == tmp_path / "env"
    monkeypatch.delenv("CLSWEEP_CACHE")
    assert str(cache.default_cache_dir(None)).endswith(os.path.join(".cache", "clsweep"))

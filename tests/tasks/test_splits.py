"""Synthetic tasks, carving dev/test from train with a seed, and sample caps."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest

from clsweep.tasks import prepare_tasks
from clsweep.tasks.stats import summary
from clsweep.tasks.synthetic import SYNTHETIC_TASKS


def _run(make_cfg, tok, tasks, **kw):
    cfg, sources = make_cfg(tasks)
    return prepare_tasks(cfg, tok, sources, log=lambda _: None, **kw)


@pytest.mark.parametrize("name", ["topic", "sentiment", "intent", "register", "pair", "ner"])
def test_synthetic_tasks(make_cfg, tok, name):
    syn = SYNTHETIC_TASKS.get(name)
    src = {"kind": "synthetic", "task": name, "train_size": 40, "dev_size": 12, "test_size": 8, "seed": 3}
    t = _run(make_cfg, tok, {name: {"type": syn.type, "source": src}})[name]
    assert [len(t.splits[s]) for s in ("train", "dev", "test")] == [40, 12, 8]
    assert t.type == syn.type and t.labels == list(syn.labels)
    sp = t.splits["train"]
    if syn.type == "token":
        assert all(len(ids) == len(lab) for ids, lab in zip(sp.input_ids, sp.labels, strict=True))
        assert all(lab[0] == -100 and lab[-1] == -100 for lab in sp.labels)
    else:
        assert all(0 <= y < len(syn.labels) for y in sp.labels)
    if syn.pair:
        assert all(" [SEP] " in text for text in sp.texts)
        assert sp.token_type_ids is not None and all(1 in tt for tt in sp.token_type_ids)
    assert t.stats["carved"] == []


def _rows(n):
    return [{"text": f"w{i} x", "label": "ab"[i % 2]} for i in range(n)]


def _dev_texts(make_cfg, tok, tmp_path, seed, cache):
    src = {"kind": "files", "train": "train.jsonl", "test": "test.jsonl"}
    t = _run(make_cfg, tok, {"c": {"source": src, "split_seed": seed}}, cache_dir=tmp_path / cache)["c"]
    return t


def test_dev_carved_deterministically(tmp_path, make_cfg, tok, write_jsonl):
    write_jsonl(tmp_path / "train.jsonl", _rows(50))
    write_jsonl(tmp_path / "test.jsonl", _rows(10))
    a = _dev_texts(make_cfg, tok, tmp_path, 0, "c1")
    b = _dev_texts(make_cfg, tok, tmp_path, 0, "c2")
    c = _dev_texts(make_cfg, tok, tmp_path, 1, "c3")
    assert len(a.splits["dev"]) == 5 and len(a.splits["train"]) == 45  # dev_fraction 0.1
    assert a.splits["dev"].texts == b.splits["dev"].texts
    assert a.splits["dev"].texts != c.splits["dev"].texts
    assert sorted(a.splits["dev"].texts + a.splits["train"].texts) == sorted(r["text"] for r in _rows(50))
    assert a.stats["carved"] == ["dev"]
    assert "carved from train: dev" in summary("c", "sequence", a.stats)


def test_dev_and_test_carved(tmp_path, make_cfg, tok, write_jsonl):
    write_jsonl(tmp_path / "train.jsonl", _rows(100))
    src = {"kind": "files", "train": "train.jsonl"}
    t = _run(make_cfg, tok, {"c": {"source": src, "dev_fraction": 0.2}})["c"]
    assert [len(t.splits[s]) for s in ("train", "dev", "test")] == [64, 20, 16]
    assert not set(t.splits["dev"].texts) & set(t.splits["test"].texts)
    assert t.stats["carved"] == ["dev", "test"]


def test_sample_caps(tmp_path, make_cfg, tok):
    src = {"kind": "synthetic", "task": "topic", "train_size": 60, "dev_size": 20, "test_size": 20}
    full = _run(make_cfg, tok, {"t": {"source": src}}, cache_dir=tmp_path / "a")["t"]
    spec = {"source": src, "max_train_samples": 10, "max_eval_samples": 5}
    capped = _run(make_cfg, tok, {"t": spec}, cache_dir=tmp_path / "b")["t"]
    again = _run(make_cfg, tok, {"t": spec}, cache_dir=tmp_path / "c")["t"]
    assert [len(capped.splits[s]) for s in ("train", "dev", "test")] == [10, 5, 5]
    assert capped.splits["train"].texts == again.splits["train"].texts
    assert set(capped.splits["train"].texts) <= set(full.splits["train"].texts)
    assert capped.splits["train"].texts != full.splits["train"].texts[:10]  # a shuffle, not the head
    assert capped.stats["splits"]["train"]["size"] == 10

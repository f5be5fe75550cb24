"""The CoNLL reader and token-task tag alignment to first sub-tokens."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

from clsweep.tasks import prepare_tasks
from clsweep.tasks.conll import read_conll
from clsweep.tasks.tokenize import IGNORE, align_tags

CONLL = """-DOCSTART- -X- O O

hello NN B-PER
a DT O
kuna NN B-LOC

-DOCSTART- -X- O O
xyz NN I-LOC
b DT O
"""


def test_reader_skips_docstart_and_splits_sentences(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text(CONLL)
    tokens, tags = read_conll(path)
    assert tokens == [["hello", "a", "kuna"], ["xyz", "b"]]
    assert tags == [["B-PER", "O", "B-LOC"], ["I-LOC", "O"]]
    tokens, tags = read_conll(path, token_column=0, tag_column=1)
    assert tags[0] == ["NN", "DT", "NN"]


def test_reader_separator(tmp_path):
    path = tmp_path / "b.conll"
    path.write_text("new york|B-LOC\nis|O\n")
    tokens, tags = read_conll(path, separator="|")
    assert tokens == [["new york", "is"]] and tags == [["B-LOC", "O"]]


def test_align_tags_first_subtoken():
    assert align_tags([None, 0, 0, 1, 2, 2, None], [5, 6, 7]) == [IGNORE, 5, IGNORE, 6, 7, IGNORE, IGNORE]


def test_ner_from_conll(tmp_path, make_cfg, tok):
    (tmp_path / "train.conll").write_text(CONLL)
    (tmp_path / "dev.conll").write_text(CONLL)
    (tmp_path / "test.conll").write_text("hello NN B-PER\nb DT O\n")
    src = {"kind": "conll", "train": "train.conll", "dev": "dev.conll", "test": "test.conll"}
    cfg, sources = make_cfg({"ner": {"type": "token", "source": src}})
    t = prepare_tasks(cfg, tok, sources, log=lambda _: None)["ner"]
    assert t.labels == ["B-LOC", "B-PER", "I-LOC", "O"]
    sp = t.splits["train"]
    assert sp.texts[0] == "hello a kuna"
    enc = tok(["hello", "a", "kuna"], is_split_into_words=True)
    assert sp.input_ids[0] == enc["input_ids"]
    # "hello" is h ##e ##l ##l ##o (5 sub-tokens); "kuna" is one synthetic-vocabulary token.
    assert len(sp.input_ids[0]) == 1 + 5 + 1 + 1 + 1
    assert sp.labels[0] == [IGNORE, 1, IGNORE, IGNORE, IGNORE, IGNORE, 3, 0, IGNORE]
    # "xyz" splits into 3 sub-tokens; only the first carries I-LOC.
    assert sp.labels[1] == [IGNORE, 2, IGNORE, IGNORE, 3, IGNORE]
    assert t.stats["splits"]["train"]["labels"] == {"B-LOC": 1, "B-PER": 1, "I-LOC": 1, "O": 2}
    assert t.stats["splits"]["train"]["mean_words"] == 2.5
    assert t.metric_names[0] == "entity_f1"


def test_conll_truncation_keeps_alignment(tmp_path, make_cfg, tok, role_copies):
    (tmp_path / "t.conll").write_text("hello B-PER\nworld O\nkuna B-LOC\n")
    src = {"kind": "conll", **role_copies(tmp_path / "t.conll")}
    cfg, sources = make_cfg({"ner": {"type": "token", "source": src, "max_length": 8}})
    sp = prepare_tasks(cfg, tok, sources, log=lambda _: None)["ner"].splits["train"]
    assert len(sp.input_ids[0]) == 8
    assert sp.labels[0] == [IGNORE, 1, IGNORE, IGNORE, IGNORE, IGNORE, 2, IGNORE]

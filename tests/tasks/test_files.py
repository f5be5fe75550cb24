"""Local file sources (json/jsonl/csv/tsv/parquet) and a local folder loaded through the hub path."""

from __future__ import annotations

import json
import os

os.environ["HF_HUB_OFFLINE"] = "1"

from datasets import ClassLabel, Dataset, Features, Value

from clsweep.tasks import prepare_tasks

ROWS = [{"text": "good film", "label": "pos"}, {"text": "bad plot", "label": "neg"},
        {"text": "so so", "label": "meh"}, {"text": "great", "label": "pos"}]


def _prepare(make_cfg, tok, tasks, **sections):
    cfg, sources = make_cfg(tasks, **sections)
    lines: list[str] = []
    return prepare_tasks(cfg, tok, sources, log=lines.append), lines


def test_jsonl_string_labels_sorted(tmp_path, make_cfg, tok, write_jsonl):
    write_jsonl(tmp_path / "train.jsonl", ROWS)
    (tmp_path / "dev.json").write_text(json.dumps(ROWS[:2]))
    write_jsonl(tmp_path / "test.jsonl", ROWS[2:])
    src = {"kind": "files", "train": "train.jsonl", "dev": "dev.json", "test": "test.jsonl"}
    tasks, lines = _prepare(make_cfg, tok, {"s": {"source": src}})
    t = tasks["s"]
    assert t.labels == ["meh", "neg", "pos"]
    assert t.splits["train"].labels == [2, 1, 0, 2]
    assert t.splits["dev"].labels == [2, 1]
    assert t.splits["train"].texts[0] == "good film"
    assert t.splits["train"].token_type_ids is not None
    assert set(t.splits) == {"train", "dev", "test"} and len(t.splits["test"]) == 2
    assert t.num_labels == 3 and t.type == "sequence" and t.head_name == "s"
    assert t.metric_names == ["accuracy", "macro_f1"]
    assert t.stats["splits"]["train"]["labels"] == {"meh": 1, "neg": 1, "pos": 2}
    assert any(line.startswith("task s (sequence, 3 labels)") for line in lines)


def test_explicit_labels_win_and_change_ids(tmp_path, make_cfg, tok, write_jsonl, role_copies):
    write_jsonl(tmp_path / "train.jsonl", ROWS)
    src = {"kind": "files", **role_copies(tmp_path / "train.jsonl")}
    tasks, _ = _prepare(make_cfg, tok, {"s": {"source": src, "labels": ["pos", "neg", "meh"]}})
    assert tasks["s"].labels == ["pos", "neg", "meh"]
    assert tasks["s"].splits["train"].labels == [0, 1, 2, 0]


def test_int_labels_sort_numerically(tmp_path, make_cfg, tok, write_jsonl, role_copies):
    rows = [{"text": "a", "label": 10}, {"text": "b", "label": 2}, {"text": "c", "label": 1}]
    write_jsonl(tmp_path / "t.jsonl", rows)
    src = {"kind": "files", **role_copies(tmp_path / "t.jsonl")}
    tasks, _ = _prepare(make_cfg, tok, {"s": {"source": src}})
    assert tasks["s"].labels == ["1", "2", "10"]
    assert tasks["s"].splits["train"].labels == [2, 1, 0]


def test_csv_sentence_pairs(tmp_path, make_cfg, tok, role_copies):
    (tmp_path / "p.csv").write_text("premise,hypothesis,label\nab c,d e,yes\nf,g h i,no\n")
    src = {"kind": "files", **role_copies(tmp_path / "p.csv")}
    spec = {"source": src, "text_column": "premise", "text_pair_column": "hypothesis"}
    tasks, _ = _prepare(make_cfg, tok, {"p": spec})
    sp = tasks["p"].splits["train"]
    assert sp.texts == ["ab c [SEP] d e", "f [SEP] g h i"]
    # [CLS] a ##b c [SEP] | d e [SEP]: the second sentence and its [SEP] are segment 1
    assert sp.token_type_ids is not None
    assert sp.token_type_ids[0] == [0, 0, 0, 0, 0, 1, 1, 1]
    assert sp.input_ids[0] == tok("ab c", "d e")["input_ids"]
    assert tasks["p"].labels == ["no", "yes"] and sp.labels == [1, 0]


def test_tsv(tmp_path, make_cfg, tok, role_copies):
    (tmp_path / "d.tsv").write_text("text\tlabel\nhello, world\t1\nbye\t0\n")
    src = {"kind": "files", **role_copies(tmp_path / "d.tsv")}
    tasks, _ = _prepare(make_cfg, tok, {"t": {"source": src}})
    assert tasks["t"].splits["train"].texts == ["hello, world", "bye"]
    assert tasks["t"].labels == ["0", "1"]


def test_parquet_classlabel_names(tmp_path, make_cfg, tok, role_copies):
    features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "neutral", "pos"])})
    Dataset.from_dict({"text": ["x y", "z"], "label": [2, 0]}, features=features).to_parquet(tmp_path / "d.parquet")
    src = {"kind": "files", **role_copies(tmp_path / "d.parquet")}
    tasks, _ = _prepare(make_cfg, tok, {"t": {"source": src}})
    # The ClassLabel names win over the values seen in train (which lack 'neutral').
    assert tasks["t"].labels == ["neg", "neutral", "pos"]
    assert tasks["t"].splits["train"].labels == [2, 0]


def test_local_folder_through_hub_source(tmp_path, make_cfg, tok, write_jsonl):
    folder = tmp_path / "mydata"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", ROWS)
    write_jsonl(folder / "test.jsonl", ROWS[:2])
    write_jsonl(folder / "validation.jsonl", ROWS[1:])
    src = {"kind": "hub", "name": str(folder), "splits": {"train": "train", "dev": "validation", "test": "test"}}
    tasks, _ = _prepare(make_cfg, tok, {"h": {"source": src}})
    t = tasks["h"]
    assert [len(t.splits[s]) for s in ("train", "dev", "test")] == [4, 3, 2]
    assert t.splits["dev"].texts == [r["text"] for r in ROWS[1:]]
    assert t.stats["carved"] == []
    # Loading the folder leaves it untouched, so its file fingerprint (and the cache entry) stays valid.
    lines: list[str] = []
    cfg, sources = make_cfg({"h": {"source": src}})
    prepare_tasks(cfg, tok, sources, log=lines.append)
    assert any("using cached tokenization" in line for line in lines)

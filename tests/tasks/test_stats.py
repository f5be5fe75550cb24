"""Dataset statistics: nearest-rank length percentiles before truncation and the truncation rate."""

from __future__ import annotations

import json
import os

os.environ["HF_HUB_OFFLINE"] = "1"

from clsweep.tasks import prepare_tasks
from clsweep.tasks.stats import length_stats, percentile


def test_percentile_nearest_rank():
    values = [5, 1, 4, 2, 3]
    assert [percentile(values, p) for p in (50, 90, 99, 100)] == [3, 5, 5, 5]
    assert percentile(values, 20) == 1 and percentile(values, 21) == 2
    assert percentile([], 50) == 0


def test_length_stats_by_hand():
    stats = length_stats([3, 4, 5, 6, 7, 8, 9, 10, 11, 12], max_length=8)
    assert stats == {"p50": 7, "p90": 11, "p95": 12, "p99": 12, "max": 12, "truncated": 0.4}


def test_task_stats_from_data(tmp_path, make_cfg, tok, write_jsonl, role_copies):
    # Single letters are one token each, so row i has i+1 words and i+3 tokens with [CLS]/[SEP].
    rows = [{"text": " ".join("abcdefghij"[: i + 1]), "label": "ab"[i % 2]} for i in range(10)]
    write_jsonl(tmp_path / "t.jsonl", rows)
    src = {"kind": "files", **role_copies(tmp_path / "t.jsonl")}
    cfg, sources = make_cfg({"s": {"source": src, "max_length": 8}})
    lines: list[str] = []
    t = prepare_tasks(cfg, tok, sources, log=lines.append)["s"]
    train = t.stats["splits"]["train"]
    assert train["length"] == {"p50": 7, "p90": 11, "p95": 12, "p99": 12, "max": 12, "truncated": 0.4}
    assert train["size"] == 10 and train["mean_words"] == 5.5 and train["labels"] == {"a": 5, "b": 5}
    assert t.stats["max_length"] == 8 and t.stats["num_labels"] == 2 and t.stats["carved"] == []
    assert [len(ids) for ids in t.splits["train"].input_ids] == [3, 4, 5, 6, 7, 8, 8, 8, 8, 8]
    assert t.splits["train"].input_ids[9][-1] == tok.sep_token_id
    json.dumps(t.stats)  # JSON-able
    summary = [line for line in lines if line.startswith("task s (sequence, 2 labels)")]
    assert len(summary) == 1 and "p50 7" in summary[0] and "40.0% over max_length 8" in summary[0]


def test_shared_inputs_by_hand():
    from clsweep.tasks.stats import shared_inputs

    train = ["a b", "c d", "e f", "g h"]
    dev = ["a b", "x y", "c d"]  # 2 in train
    test = ["e f", "x y", "z z", "e f"]  # "e f" twice (both count), "x y" is a dev row
    assert shared_inputs({"train": (train, None), "dev": (dev, None), "test": (test, None)}) == \
        {"dev_in_train": 2, "test_in_train": 2, "test_in_dev": 1}
    # A pair counts only when both segments match; token tasks compare their token lists.
    pairs = {"train": (["a", "a"], ["b", "c"]), "dev": (["a"], ["d"]), "test": (["a"], ["c"])}
    assert shared_inputs(pairs) == {"dev_in_train": 0, "test_in_train": 1, "test_in_dev": 0}
    tokens = {"train": ([["a", "b"]], None), "dev": ([["a", "b"]], None), "test": ([["b", "a"]], None)}
    assert shared_inputs(tokens) == {"dev_in_train": 1, "test_in_train": 0, "test_in_dev": 0}


def test_rows_shared_between_splits_are_counted_and_reported(tmp_path, make_cfg, tok, write_jsonl):
    """A test file that repeats 3 training rows (and 1 dev row): the dataset facts say so, and so does the log."""
    train = [{"text": f"train row {i}", "label": "ab"[i % 2]} for i in range(8)]
    dev = [{"text": "dev row 0", "label": "a"}, train[1], {"text": "dev row 2", "label": "b"}]
    test = [train[0], train[5], train[6], dev[0], {"text": "test row 4", "label": "a"}]
    src = {"kind": "files"}
    for split, rows in (("train", train), ("dev", dev), ("test", test)):
        src[split] = write_jsonl(tmp_path / f"{split}.jsonl", rows)
    cfg, sources = make_cfg({"s": {"source": src}})
    lines: list[str] = []
    t = prepare_tasks(cfg, tok, sources, log=lines.append)["s"]
    assert t.stats["shared_inputs"] == {"dev_in_train": 1, "test_in_train": 3, "test_in_dev": 1}
    summary = next(line for line in lines if line.startswith("task s (sequence"))
    assert "same input in two splits: 1 dev row(s) in train, 3 test row(s) in train, 1 test row(s) in dev" in summary

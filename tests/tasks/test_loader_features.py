"""Loader features the benchmarks need: filter, per_class, label names/maps, union heads, local data, split_by."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from datasets import ClassLabel, Dataset, Features, Value

from clsweep.cli import main
from clsweep.errors import ConfigError, Sources
from clsweep.loading import read_tasklist, validate
from clsweep.tasks import prepare_tasks
from clsweep.tasks.labels import remap

ROWS = [{"text": f"w{i}", "label": i % 3, "lang": "en" if i % 2 else "de"} for i in range(12)]


def _files(tmp_path: Path, write_jsonl: Any, rows: list[dict[str, Any]] = ROWS) -> dict[str, Any]:
    roles = {"train": "d.jsonl", "dev": "d_dev.jsonl", "test": "d_test.jsonl"}  # one file per role, same rows
    for name in roles.values():
        write_jsonl(tmp_path / name, rows)
    return {"kind": "files", **roles}


def _prepare(make_cfg: Any, tok: Any, tasks: dict[str, Any], **sections: Any) -> Any:
    cfg, sources = make_cfg(tasks, **sections)
    return prepare_tasks(cfg, tok, sources, log=lambda m: None)


def test_filter_by_value_and_by_label_name(tmp_path, make_cfg, tok, write_jsonl):
    src = _files(tmp_path, write_jsonl)
    spec = {"source": src, "filter": {"lang": "en", "label": ["b", "c"]}, "label_names": ["a", "b", "c"]}
    t = _prepare(make_cfg, tok, {"t": spec})["t"]
    # Rows 1..11 odd are 'en'; of those, label 1 ('b') or 2 ('c'): rows 1, 5, 7, 11.
    assert t.splits["test"].texts == ["w1", "w5", "w7", "w11"]
    assert t.labels == ["a", "b", "c"] and t.splits["test"].labels == [1, 2, 1, 2]


def test_per_class_caps_each_label_deterministically(tmp_path, make_cfg, tok, write_jsonl):
    rows = [{"text": f"a{i}", "label": "a"} for i in range(10)] + [{"text": f"b{i}", "label": "b"} for i in range(3)]
    src = _files(tmp_path, write_jsonl, rows)

    def train(seed: int) -> list[str]:
        spec = {"source": src, "per_class": 4, "split_seed": seed}
        return _prepare(make_cfg, tok, {"t": spec})["t"].splits["train"].texts

    first = train(0)
    assert sorted(t[0] for t in first) == ["a"] * 4 + ["b"] * 3  # 4 of 10 a's, all 3 b's
    assert first == train(0) and first != train(1)
    assert len(_prepare(make_cfg, tok, {"t": {"source": src, "per_class": 4}})["t"].splits["test"]) == 13


def test_label_map_and_multi_column_text(tmp_path, make_cfg, tok, write_jsonl):
    rows = [{"premise": "it rained", "question": "cause", "choice1": "wet", "choice2": "dry", "label": i % 2}
            for i in range(4)]
    spec = {"source": _files(tmp_path, write_jsonl, rows), "text_column": ["premise", "question"],
            "text_pair_column": ["choice1", "choice2"], "label_map": {0: "first", 1: "second"}}
    t = _prepare(make_cfg, tok, {"t": spec})["t"]
    assert t.labels == ["first", "second"] and t.splits["test"].labels == [0, 1, 0, 1]
    assert t.splits["test"].texts[0] == "premise: it rained question: cause [SEP] choice1: wet choice2: dry"


def test_union_label_space_remaps_ids(tmp_path, make_cfg, tok, write_jsonl):
    roles = ("train", "dev", "test")
    for n, text, labels in (("a", "x", ("pos", "neg")), ("b", "y", ("pos", "meh", "bad"))):
        for role in roles:
            write_jsonl(tmp_path / f"{n}_{role}.jsonl", [{"text": text, "label": v} for v in labels])
    tasks = {n: {"source": {"kind": "files", **{r: f"{n}_{r}.jsonl" for r in roles}},
                 "head": "one", "label_space": "union"} for n in ("a", "b")}
    out = _prepare(make_cfg, tok, tasks)
    assert out["a"].labels == out["b"].labels == ["neg", "pos", "bad", "meh"]
    assert out["a"].splits["test"].labels == [1, 0] and out["b"].splits["test"].labels == [1, 3, 2]
    assert remap([[0, -100, 1]], ["x", "y"], ["y", "x"]) == [[1, -100, 0]]  # token rows keep ignore marks


def test_union_needs_every_sharer(make_cfg, tok):
    syn = {"kind": "synthetic", "task": "topic", "train_size": 16, "dev_size": 8, "test_size": 8}
    tasks = {"a": {"source": syn, "head": "h", "label_space": "union"}, "b": {"source": syn, "head": "h"}}
    with pytest.raises(ConfigError, match="label_space differs"):
        _prepare(make_cfg, tok, tasks)


def _hub_folder(folder: Path) -> None:
    """A hub-shaped local copy: parquet keeps the ClassLabel names, as a downloaded dataset has them."""
    feats = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
    folder.mkdir(parents=True)
    for split, n in (("train", 10), ("validation", 4)):
        Dataset.from_dict({"text": [f"t{i}" for i in range(n)], "label": [i % 2 for i in range(n)]},
                          features=feats).to_parquet(str(folder / f"{split}.parquet"))


def test_data_dir_reads_hub_split_files_with_slices(tmp_path, make_cfg, tok):
    _hub_folder(tmp_path / "data" / "sst")
    hub = {"kind": "hub", "name": "org/never-downloaded", "splits": {"train": "train[:50%]", "test": "validation"}}
    cfg, sources = make_cfg({"sst": {"source": hub, "dev_fraction": 0.2}})
    assert cfg.tasklist.tasks["sst"].local is None  # without data_dir the hub is asked
    raw_tl = {"data_dir": "data", "tasks": {"sst": {"source": hub, "dev_fraction": 0.2}}}
    cfg = validate({"tasklist": raw_tl, "run": {"cache_dir": str(tmp_path / "c")}},
                   sources, base_dir=tmp_path)
    assert cfg.tasklist.tasks["sst"].local.dir == str(tmp_path / "data" / "sst")
    t = prepare_tasks(cfg, tok, sources, log=lambda m: None)["sst"]
    assert t.labels == ["neg", "pos"]  # from the ClassLabel
    assert len(t.splits["train"]) + len(t.splits["dev"]) == 5 and len(t.splits["test"]) == 4


def test_local_errors_name_the_key(tmp_path, make_cfg, tok):
    _hub_folder(tmp_path / "copy")
    hub = {"kind": "hub", "name": "org/x", "splits": {"train": "train", "test": "test"}}
    with pytest.raises(ConfigError) as e:
        _prepare(make_cfg, tok, {"t": {"source": hub, "local": {"dir": "copy"}}})
    assert "tasks.t.local.dir" in str(e.value) and "no file for hub split 'test'" in str(e.value)
    hub["splits"] = {"train": "train", "test": "validation"}
    with pytest.raises(ConfigError) as e:
        _prepare(make_cfg, tok, {"t": {"source": hub, "local": {"dir": "copy"}, "label_names": ["a", "b"]}})
    assert "tasks.t.label_names" in str(e.value) and "[neg, pos]" in str(e.value)


def test_split_by_groups_keep_and_per_task_settings(make_cfg):
    split = {"column": "label", "groups": {"g1": ["a", "b"], "g2": ["c", "d"]}, "keep": ["z"],
             "tasks": {"g2": {"epochs": 3}}}
    src = {"kind": "files", "train": "x.jsonl"}
    cfg, _ = make_cfg({"t": {"source": src, "split_by": split}})
    tl = cfg.tasklist.tasks
    assert list(tl) == ["t_g1", "t_g2"]
    assert tl["t_g1"].labels == ["a", "b", "z"] and tl["t_g1"].filter == {"label": ["a", "b", "z"]}
    assert tl["t_g2"].epochs == 3 and tl["t_g1"].epochs is None


def test_split_by_name_clash(make_cfg):
    src = {"kind": "files", "train": "x.jsonl"}
    with pytest.raises(ConfigError, match="makes a task 't_a', a name the tasklist already has"):
        make_cfg({"t": {"source": src, "split_by": {"column": "c", "values": ["a"]}}, "t_a": {"source": src}})


@pytest.mark.parametrize(("split_by", "message"), [
    ({"column": "label", "values": ["a"], "groups": {"g": ["a"]}}, "exactly one of values"),
    ({"column": "label", "values": ["a"], "tasks": {"b": {}}}, "not a value or group"),
])
def test_split_by_errors(make_cfg, split_by, message):
    with pytest.raises(ConfigError) as e:
        make_cfg({"t": {"source": {"kind": "files", "train": "x.jsonl"}, "split_by": split_by}})
    assert "tasklist.tasks.t.split_by" in str(e.value) and message in str(e.value)


def test_extends_merges_drops_and_replaces_orders(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "defaults: {max_length: 64}\ntasks:\n  a: {source: {kind: files, train: a.csv}, epochs: 2}\n"
        "  b: {source: {kind: files, train: b.csv}}\norders: {ab: [a, b]}\n")
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\ndefaults: {dev_fraction: 0.2}\ntasks:\n  a: {lr: 0.1}\n  b: null\n"
        "orders: {only: [a]}\n")
    merged = read_tasklist(tmp_path / "child.yaml")
    assert merged["defaults"] == {"max_length": 64, "dev_fraction": 0.2}
    assert merged["tasks"] == {"a": {"source": {"kind": "files", "train": "a.csv"}, "epochs": 2, "lr": 0.1}}
    assert merged["orders"] == {"only": ["a"]}
    (tmp_path / "loop.yaml").write_text("extends: loop.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        read_tasklist(tmp_path / "loop.yaml")


@pytest.mark.parametrize(("order", "message"), [
    ("[ag, nope]", "unknown task 'nope'"),
    ("[ag, ag]", "names ag more than once"),
])
def test_bad_named_order_exits_2(tmp_path, capsys, order, message):
    tl = tmp_path / "tl.yaml"
    tl.write_text("extends: " + str(Path(__file__).resolve().parents[2] / "tasklists" / "pp4.yaml")
                  + f"\norders: {{mine: {order}}}\n")
    assert main(["validate", str(tl)]) == 2
    err = capsys.readouterr().err
    assert "orders.mine" in err and message in err and "Traceback" not in err


def test_named_orders_reach_the_sweep_plan():
    from clsweep.loading import load_experiment
    from clsweep.sweep.plan import make_plan

    path = Path(__file__).resolve().parents[2] / "search_spaces" / "mbpa_text5.yaml"
    plan = make_plan(load_experiment(path), str(path))
    runs = list(dict.fromkeys((r.order_id, tuple(r.order)) for r in plan.runs))
    assert runs[0] == ("mbpa_i", ("yelp", "ag", "dbpedia", "amazon", "yahoo"))
    assert runs[3] == ("mbpa_iv", ("ag", "yelp", "amazon", "yahoo", "dbpedia"))
    assert len(runs) == 4 and len(plan) == 8 and set(plan.approaches) == {"finetune", "replay"}


def test_fetch_then_offline_from_data_dir(tmp_path, tok, capsys):
    import shutil

    _hub_folder(tmp_path / "hubcopy")  # stands in for the hub: load_dataset reads a local folder the same way
    (tmp_path / "tl.yaml").write_text(
        "tasks:\n  sst: {source: {kind: hub, name: ./hubcopy, splits: {train: train, test: validation}}}\n")
    assert main(["fetch", str(tmp_path / "tl.yaml"), "--data-dir", str(tmp_path / "dl")]) == 0
    assert sorted(p.name for p in (tmp_path / "dl" / "sst").iterdir()) == ["train.parquet", "validation.parquet"]
    shutil.rmtree(tmp_path / "hubcopy")  # from now on only the fetched copy exists
    assert main(["fetch", str(tmp_path / "tl.yaml"), "--data-dir", str(tmp_path / "dl")]) == 0  # kept, no reload
    raw = {"tasklist": read_tasklist(tmp_path / "tl.yaml") | {"data_dir": "dl"}, "run": {"cache_dir": "c"}}
    cfg = validate(raw, Sources(str(tmp_path / "exp.yaml"), None), base_dir=tmp_path)
    t = prepare_tasks(cfg, tok, None, cache_dir=tmp_path / "c", log=lambda m: None)["sst"]
    assert t.labels == ["neg", "pos"] and len(t.splits["test"]) == 4  # ClassLabel names survived the Parquet copy
    assert t.splits["test"].labels == [0, 1, 0, 1]

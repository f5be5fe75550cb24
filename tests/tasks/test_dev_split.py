"""Per-label sampling options: `dev:` carved label by label (from train or test) and `eval_per_class` caps."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from clsweep.cli import main
from clsweep.errors import ConfigError
from clsweep.tasks import prepare_tasks
from clsweep.tasks.stats import summary

# Label a: 40 train / 9 test rows, b: 20 / 5, c: 10 / 4; texts say where they come from.
COUNTS = {"a": (40, 9), "b": (20, 5), "c": (10, 4)}


def _write(tmp_path: Path, write_jsonl: Any) -> dict[str, Any]:
    for split, col in (("train", 0), ("test", 1)):
        rows = [{"text": f"{split} {lab} {i}", "label": lab} for lab, n in COUNTS.items() for i in range(n[col])]
        write_jsonl(tmp_path / f"{split}.jsonl", rows)
    return {"kind": "files", "train": "train.jsonl", "test": "test.jsonl"}


def _prepare(make_cfg: Any, tok: Any, spec: dict[str, Any], cache: Path | None = None) -> Any:
    cfg, sources = make_cfg({"t": spec})
    return prepare_tasks(cfg, tok, sources, log=lambda m: None, cache_dir=cache)["t"]


def _per_label(task: Any, split: str) -> dict[str, int]:
    return dict(sorted(Counter(task.labels[y] for y in task.splits[split].labels).items()))


def test_dev_per_class_from_train_then_per_class(tmp_path, make_cfg, tok, write_jsonl):
    src = _write(tmp_path, write_jsonl)
    spec = {"source": src, "dev": {"from": "train", "per_class": 6}, "per_class": 8}
    t = _prepare(make_cfg, tok, spec)
    assert _per_label(t, "dev") == {"a": 6, "b": 6, "c": 6}
    assert _per_label(t, "train") == {"a": 8, "b": 8, "c": 4}  # c: 10 - 6 left
    assert _per_label(t, "test") == {"a": 9, "b": 5, "c": 4}
    assert not set(t.splits["dev"].texts) & set(t.splits["train"].texts)
    assert all(x.startswith("train") for x in t.splits["dev"].texts)
    assert t.stats["carved"] == ["dev"] and t.stats["carved_from"] == {"dev": "train"}
    again = _prepare(make_cfg, tok, spec, tmp_path / "c2")
    other = _prepare(make_cfg, tok, {**spec, "split_seed": 1}, tmp_path / "c3")
    assert again.splits["dev"].texts == t.splits["dev"].texts != other.splits["dev"].texts


def test_dev_and_test_halve_the_capped_test_split(tmp_path, make_cfg, tok, write_jsonl):
    src = _write(tmp_path, write_jsonl)
    spec = {"source": src, "eval_per_class": 8, "dev": {"from": "test", "fraction": 0.5}, "max_eval_samples": 2}
    t = _prepare(make_cfg, tok, spec)
    # The test pool: a 8 (capped from 9), b 5, c 4; dev takes half of each, rounded down; test keeps the rest,
    # then max_eval_samples caps test only: dev's size is the one `dev:` asked for.
    assert _per_label(t, "dev") == {"a": 4, "b": 2, "c": 2}
    assert len(t.splits["test"]) == 2
    assert all(x.startswith("test") for x in t.splits["dev"].texts)
    assert _per_label(t, "train") == {"a": 40, "b": 20, "c": 10}
    assert t.stats["carved_from"] == {"dev": "test"}
    assert summary("t", "sequence", t.stats).endswith("; carved from test: dev")


def test_without_the_test_cap_dev_and_test_are_disjoint_halves(tmp_path, make_cfg, tok, write_jsonl):
    src = _write(tmp_path, write_jsonl)
    t = _prepare(make_cfg, tok, {"source": src, "eval_per_class": 8, "dev": {"from": "test", "fraction": 0.5}})
    assert _per_label(t, "test") == {"a": 4, "b": 3, "c": 2}
    assert not set(t.splits["dev"].texts) & set(t.splits["test"].texts)


def test_dev_from_a_test_split_that_is_itself_carved(tmp_path, make_cfg, tok, write_jsonl):
    src = _write(tmp_path, write_jsonl)
    spec = {"source": {"kind": "files", "train": src["train"]}, "dev_fraction": 0.5,
            "dev": {"from": "test", "fraction": 0.5}}
    t = _prepare(make_cfg, tok, spec)
    assert t.stats["carved_from"] == {"dev": "test", "test": "train"}
    assert len(t.splits["train"]) == 35 and len(t.splits["dev"]) + len(t.splits["test"]) == 35
    assert "carved from test: dev; carved from train: test" in summary("t", "sequence", t.stats)


def test_too_few_rows_for_dev_per_class_names_the_key(tmp_path, make_cfg, tok, write_jsonl):
    src = _write(tmp_path, write_jsonl)
    with pytest.raises(ConfigError) as e:
        _prepare(make_cfg, tok, {"source": src, "dev": {"per_class": 10}})
    assert str(e.value) == (f"{tmp_path / 'exp.yaml'}: tasklist.tasks.t.dev.per_class: cannot carve 10 dev examples "
                            "of label 'c' from the train split: it has 10, and some must stay in train; give a "
                            "smaller dev.per_class")


def test_per_label_sampling_needs_the_label_column(tmp_path, make_cfg, tok, write_jsonl):
    src = _write(tmp_path, write_jsonl)
    with pytest.raises(ConfigError) as e:
        _prepare(make_cfg, tok, {"source": src, "label_column": "y", "eval_per_class": 3})
    assert "tasks.t.label_column: column 'y' not found in test split; available: label, text" in str(e.value)


@pytest.mark.parametrize(("spec", "message"), [
    ({"dev": {"per_class": 5, "fraction": 0.5}}, "give exactly one of per_class"),
    ({"dev": {}}, "give exactly one of per_class"),
    ({"dev": {"from": "dev", "per_class": 5}}, "'train' or 'test'"),
    ({"dev": {"fraction": 1.5}}, "less than 1"),
    ({"eval_per_class": 0}, "greater than or equal to 1"),
    ({"dev": {"per_class": 5}, "source": {"kind": "files", "train": "x.jsonl", "dev": "y.jsonl"}},
     "the source already gives one"),
    ({"dev": {"per_class": 5}, "type": "token"}, "are for sequence tasks"),
    ({"eval_per_class": 5, "source": {"kind": "files", "train": "x.jsonl"}}, "this source gives neither"),
])
def test_bad_dev_settings(make_cfg, spec, message):
    with pytest.raises(ConfigError) as e:
        make_cfg({"t": {"source": {"kind": "files", "train": "x.jsonl", "test": "z.jsonl"}, **spec}})
    assert "tasklist.tasks.t" in str(e.value) and message in str(e.value)


def test_unknown_key_in_dev_lists_its_own_keys(tmp_path, capsys):
    (tmp_path / "tl.yaml").write_text("tasks:\n  t:\n    source: {kind: files, train: x.jsonl}\n"
                                      "    dev: {from: train, per_clas: 5}\n")
    assert main(["validate", str(tmp_path / "tl.yaml")]) == 2
    err = capsys.readouterr().err
    assert (f"{tmp_path / 'tl.yaml'}: tasks.t.dev.per_clas: unknown key 'per_clas' (did you mean 'per_class'?); "
            "valid keys: fraction, from, per_class") in err


def test_the_cache_key_follows_the_dev_settings(tmp_path, make_cfg, tok, write_jsonl):
    src = _write(tmp_path, write_jsonl)
    cache = tmp_path / "cache"
    a = _prepare(make_cfg, tok, {"source": src, "dev": {"per_class": 2}}, cache)
    b = _prepare(make_cfg, tok, {"source": src, "dev": {"per_class": 3}}, cache)
    c = _prepare(make_cfg, tok, {"source": src, "dev": {"per_class": 2}, "eval_per_class": 2}, cache)
    assert (len(a.splits["dev"]), len(b.splits["dev"]), len(c.splits["test"])) == (6, 9, 6)


def test_config_json_keeps_dev_as_written_and_validates_back(tmp_path, make_cfg):
    """Runs and sweep trials rebuild their config from config.json (`to_dict`): `from` must survive it."""
    import json

    from clsweep.config import ExperimentConfig

    spec = {"source": {"kind": "files", "train": "x.jsonl", "test": "z.jsonl"},
            "dev": {"from": "test", "fraction": 0.5}}
    cfg, _ = make_cfg({"t": spec})
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["tasklist"]["tasks"]["t"]["dev"] == {"from": "test", "per_class": None, "fraction": 0.5}
    assert ExperimentConfig.model_validate(data, context={"base_dir": str(tmp_path)}) == cfg

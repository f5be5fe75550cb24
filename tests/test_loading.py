"""`--set` overrides and the config checks that need no data: parsing, dotted paths, search.space keys, empty lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clsweep.errors import ConfigError
from clsweep.loading import apply_override, load_experiment, load_raw, parse_override

EXPERIMENT = """\
tasklist:
  tasks:
    topic: {source: {kind: synthetic, task: topic, train_size: 16, dev_size: 8, test_size: 8}}
    sentiment: {source: {kind: synthetic, task: sentiment, train_size: 16, dev_size: 8, test_size: 8}}
"""


@pytest.fixture
def exp(tmp_path: Path) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    return path


def test_override_values_are_read_as_yaml_with_exponents_as_floats() -> None:
    assert parse_override("train.lr=1e-4") == ("train.lr", 1e-4)
    assert isinstance(parse_override("train.lr=1e-4")[1], float)
    assert parse_override("train.epochs=3") == ("train.epochs", 3)
    assert parse_override("search.seeds=[0, 1, 2]") == ("search.seeds", [0, 1, 2])
    assert parse_override(" run.tensorboard = false") == ("run.tensorboard", False)
    assert parse_override("run.name=") == ("run.name", "")
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_override("train.lr")


def test_dotted_key_makes_missing_sections() -> None:
    data: dict[str, Any] = {"train": {"lr": 0.1}}
    apply_override(data, "approach.ewc.lambda", 300)
    apply_override(data, "train.epochs", 2)
    assert data == {"train": {"lr": 0.1, "epochs": 2}, "approach": {"ewc": {"lambda": 300}}}


def test_search_space_key_after_the_prefix_is_one_key() -> None:
    data: dict[str, Any] = {"search": {"space": {"approach.name": {"grid": ["finetune"]}}}}
    apply_override(data, *parse_override("search.space.train.lr={grid: [0.1, 0.2]}"))
    apply_override(data, "search.space.approach.ewc.lambda", {"choice": [1, 2]})
    assert data["search"]["space"] == {
        "approach.name": {"grid": ["finetune"]},
        "train.lr": {"grid": [0.1, 0.2]},
        "approach.ewc.lambda": {"choice": [1, 2]},
    }
    whole: dict[str, Any] = {}
    apply_override(whole, "search.space", {"train.lr": {"grid": [0.1]}})  # the section itself, replaced whole
    assert whole == {"search": {"space": {"train.lr": {"grid": [0.1]}}}}


def test_search_space_override_validates_end_to_end(exp: Path) -> None:
    cfg = load_experiment(exp, ["search.space.train.lr={grid: [0.1, 0.2]}", "search.space.model.head_dropout="
                                "{uniform: [0.0, 0.5]}"])
    assert list(cfg.search.space) == ["train.lr", "model.head_dropout"]
    assert cfg.search.space["train.lr"].grid == [0.1, 0.2]
    assert cfg.search.space["model.head_dropout"].uniform == (0.0, 0.5)


def test_override_through_a_value_is_not_a_section(exp: Path) -> None:
    data: dict[str, Any] = {"train": {"lr": 0.1}}
    with pytest.raises(ConfigError, match=r"--set: train\.lr\.x: 'train\.lr' is not a section"):
        apply_override(data, "train.lr.x", 1)
    with pytest.raises(ConfigError, match=r"'search\.space' is not a section"):
        apply_override({"search": {"space": 3}}, "search.space.train.lr", {"grid": [1]})
    with pytest.raises(ConfigError, match=r"'tasklist\.tasks\.topic\.source\.kind' is not a section"):
        load_raw(exp, ["tasklist.tasks.topic.source.kind.x=1"])


def test_seeds_and_explicit_orderings_must_not_be_empty(exp: Path) -> None:
    # Typed after --set, so blamed on --set rather than on exp.yaml
    with pytest.raises(ConfigError, match=r"^--set: search\.seeds: list at least one seed$"):
        load_experiment(exp, ["search.seeds=[]"])
    with pytest.raises(ConfigError, match=r"^--set: search\.orderings: list at least one ordering"):
        load_experiment(exp, ["search.orderings=[]"])
    cfg = load_experiment(exp, ["search.seeds=[3]", "search.orderings=[[sentiment, topic]]"])
    assert cfg.search.seeds == [3] and cfg.search.orderings == [["sentiment", "topic"]]


def test_sweeps_select_on_dev_never_on_test(tmp_path: Path) -> None:
    from clsweep.config import SearchConfig

    assert SearchConfig(metric="dev/topic").metric == "dev/topic"
    with pytest.raises(ValueError, match="select on dev"):
        SearchConfig(metric="test_acc")
    with pytest.raises(ValueError, match="mode: min"):
        SearchConfig(metric="dev_forgetting")
    assert SearchConfig(metric="dev_forgetting", mode="min").mode == "min"


def test_hub_source_local_folder_is_relative_to_the_yaml(tmp_path: Path) -> None:
    (tmp_path / "data" / "mine").mkdir(parents=True)
    (tmp_path / "exp.yaml").write_text(
        "tasklist:\n  tasks:\n"
        "    a: {source: {kind: hub, name: data/mine}}\n"
        "    b: {source: {kind: hub, name: ./elsewhere}}\n"
        "    c: {source: {kind: hub, name: glue, config: sst2}}\n")
    cfg = load_experiment(tmp_path / "exp.yaml")
    names = {t: cfg.task(t).source.name for t in "abc"}  # type: ignore[union-attr]
    assert names == {"a": str(tmp_path / "data" / "mine"), "b": str(tmp_path / "elsewhere"), "c": "glue"}

"""Every shipped benchmark tasklist runs offline on fixture files shaped like its hub datasets."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hub_fixtures import HUB, classes, write_split

from clsweep.config import ExperimentConfig
from clsweep.errors import Sources
from clsweep.loading import load_raw, validate
from clsweep.tasks import prepare_tasks
from clsweep.training.run import run_experiment

TASKLISTS = Path(__file__).resolve().parents[2] / "tasklists"

# Label counts a correct mapping must give (from the datasets' cards), per tasklist and task.
TEXT5 = {"ag": 4, "yelp": 5, "amazon": 5, "dbpedia": 14, "yahoo": 10}
EXPECTED: dict[str, dict[str, int]] = {
    "text5.yaml": TEXT5,
    "text5_shared.yaml": dict.fromkeys(TEXT5, 33),  # MbPA++: one head over 4 + 5 + 14 + 10 classes
    "text5_idbr.yaml": TEXT5,
    "pp4.yaml": {k: v for k, v in TEXT5.items() if k != "yelp"},
    "pp15.yaml": {**TEXT5, "mnli": 3, "cb": 3, "wic": 2, "copa": 2, "qqp": 2, "boolq": 2, "rte": 2, "imdb": 2,
                  "multirc": 2, "sst2": 2},
    "clinc150.yaml": {f"clinc_{d}": 15 for d in ("banking", "credit_cards", "kitchen_and_dining", "home",
                                                 "auto_and_commute", "travel", "utility", "work", "small_talk",
                                                 "meta")},
    "ner.yaml": {"conll2003": 9, "wnut17": 13, "wikiann": 7},
    "mixed.yaml": {"ag": 4, "conll2003": 9, "sst2": 2, "wnut17": 13, "rte": 2},
}


def _config(tmp_path: Path, tasklist: str, *extra: str, short: bool = True) -> tuple[ExperimentConfig, Sources]:
    """An experiment over a shipped tasklist, pointed at tmp_path/data through the documented override."""
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({
        "tasklist": str(TASKLISTS / tasklist),
        "model": {"backbone": "tiny", "tiny": {"hidden_size": 32, "intermediate_size": 64, "num_layers": 1}},
        "train": {"lr": 2e-3, "epochs": 1, "batch_size": 16, "device": "cpu"},
        "eval": {"batch_size": 64, "misclassified": 0},
        "observe": {"resources": False, "misclassified": False},
        "run": {"cache_dir": str(tmp_path / "cache"), "tensorboard": False},
    }))
    short_inputs = ["tasklist.defaults.max_length=24"] if short else []
    raw, sources = load_raw(exp, [f"tasklist.data_dir={tmp_path / 'data'}", *short_inputs, *extra])
    return validate(raw, sources), sources


def write_fixtures(cfg: ExperimentConfig) -> None:
    """One jsonl per hub split each task reads, named after the split, in the task's local folder."""
    for spec in cfg.tasklist.tasks.values():
        assert spec.local is not None and spec.local.dir is not None, spec.name  # data_dir reached every task
        schema = HUB[(spec.source.name, spec.source.config)]  # type: ignore[union-attr]
        for i, split in enumerate(spec.source.splits.values()):  # type: ignore[union-attr]
            path = Path(spec.local.dir) / f"{split}.jsonl"
            if not path.exists():
                write_split(path.parent, split, schema, 2 * classes(schema) + 4, seed=i)


@pytest.mark.parametrize("tasklist", sorted(EXPECTED))
def test_tasklist_trains_offline(tmp_path: Path, tasklist: str) -> None:
    cfg, sources = _config(tmp_path, tasklist)
    first_order = next(iter(cfg.tasklist.orders))
    # text5 keeps its 256-token inputs: the tiny backbone must grow its position table to fit them.
    cfg, sources = _config(tmp_path, tasklist, f"order=[{','.join(cfg.tasklist.orders[first_order])}]",
                           short=tasklist != "text5.yaml")
    write_fixtures(cfg)
    result = run_experiment(cfg, tmp_path / "run", sources=sources, progress=False, log=lambda m: None)
    order = cfg.tasklist.orders[first_order]
    assert result["order"] == order
    assert {t: len(result["labels"][t]) for t in order} == {t: EXPECTED[tasklist][t] for t in order}
    assert len(result["matrix"]) == len(order) and all(len(row) == len(order) for row in result["matrix"])
    assert all(math.isfinite(v) for row in result["matrix"] for v in row)


def test_task_longer_than_the_backbone_is_refused(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from clsweep.errors import ConfigError
    from clsweep.training.run import _check_positions

    cfg, sources = _config(tmp_path, "ner.yaml", "tasklist.tasks.wnut17.max_length=600")
    model = SimpleNamespace(backbone=SimpleNamespace(config=SimpleNamespace(max_position_embeddings=512)))
    lengths = {t: cfg.task(t).max_length or cfg.model.max_length for t in cfg.task_order}
    with pytest.raises(ConfigError) as e:
        _check_positions(model, lengths, cfg, sources)
    assert str(e.value).endswith("tasks.wnut17.max_length: 600 tokens exceed the backbone's 512 positions; "
                                 "set max_length <= 512")


def test_shared_head_is_the_union_with_shared_ratings(tmp_path: Path) -> None:
    cfg, sources = _config(tmp_path, "text5_shared.yaml")
    write_fixtures(cfg)
    tasks = prepare_tasks(cfg, _tok(), sources, log=lambda m: None)
    union = tasks["ag"].labels
    assert all(t.labels == union and t.head_name == "shared" for t in tasks.values())
    # Tasklist order: ag's 4, then yelp's 5 ratings (amazon adds none), dbpedia's 14, yahoo's 10.
    assert union[:4] == ["World", "Sports", "Business", "Sci/Tech"] and union[4] == "1 star" and len(union) == 33
    yelp, amazon = tasks["yelp"].splits["test"], tasks["amazon"].splits["test"]
    # Fixture labels cycle 0, 1, 2, ...: row i holds rating i % 5, i.e. union id 4 + i % 5 for both datasets.
    assert yelp.labels[:5] == [4, 5, 6, 7, 8] and amazon.labels[:5] == [4, 5, 6, 7, 8]
    assert tasks["dbpedia"].splits["test"].labels[:2] == [9, 10]


@pytest.mark.parametrize("keep", [False, True])
def test_clinc_split_by_domain(tmp_path: Path, keep: bool) -> None:
    extra = ["tasklist.tasks.clinc.split_by.keep=[oos]"] if keep else []
    cfg, sources = _config(tmp_path, "clinc150.yaml", *extra)
    assert list(cfg.tasklist.tasks) == cfg.tasklist.orders["domains"] and len(cfg.tasklist.tasks) == 10
    write_fixtures(cfg)
    tasks = prepare_tasks(cfg, _tok(), sources, log=lambda m: None)
    ids = cfg.tasklist.tasks["clinc_banking"].label_names or []
    for name, task in tasks.items():
        assert len(task.labels) == 15 + keep and ("oos" in task.labels) == keep
        counts = task.stats["splits"]["test"]["labels"]
        # The fixture's 306 rows cycle through the 151 intent ids: ids 0-3 get 3 rows, the others 2.
        # The filter kept exactly this domain's intents (and oos), with all of their rows.
        assert counts == {lab: 2 + (ids.index(lab) < 4) for lab in task.labels}, name
    banking = tasks["clinc_banking"]
    assert banking.labels[:3] == ["freeze_account", "routing", "pin_change"]


def _tok() -> Any:
    from clsweep.models.tiny import tiny_tokenizer

    return tiny_tokenizer()

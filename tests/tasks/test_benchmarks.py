"""Every shipped benchmark tasklist, read from folders shaped like its Hub repositories: fetched, then trained."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hub_fixtures import CLINC, as_args, hub_overrides

from clsweep.cli import main
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
    "text5_idbr.yaml": dict.fromkeys(TEXT5, 33),  # IDBR: the same shared head
    "pp4.yaml": {k: v for k, v in TEXT5.items() if k != "yelp"},
    "pp15.yaml": {**TEXT5, "mnli": 3, "cb": 3, "wic": 2, "copa": 2, "qqp": 2, "boolq": 2, "rte": 2, "imdb": 2,
                  "multirc": 2, "sst2": 2},
    "pp4_text2text.yaml": {k: v for k, v in TEXT5.items() if k != "yelp"},
    "clinc150.yaml": {f"clinc_{d}": 15 for d in ("banking", "credit_cards", "kitchen_and_dining", "home",
                                                 "auto_and_commute", "travel", "utility", "work", "small_talk",
                                                 "meta")},
    "ner.yaml": {"conll2003": 9, "wnut17": 13, "wikiann": 7},
    "mixed.yaml": {"ag": 4, "conll2003": 9, "sst2": 2, "wnut17": 13, "rte": 2},
}
# The fixtures hold 3 train rows per class: IDBR's 2,000 dev examples per class cannot be carved from them.
SMALL = {"text5_idbr.yaml": ["tasklist.defaults.dev.per_class=1"]}


def _config(tmp_path: Path, tasklist: str, *extra: str, short: bool = True) -> tuple[ExperimentConfig, Sources]:
    """An experiment over a shipped tasklist with a tiny backbone; `extra` are `--set` overrides."""
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({
        "tasklist": str(TASKLISTS / tasklist),
        "model": {"backbone": "tiny-t5" if "text2text" in tasklist else "tiny",
                  "tiny": {"hidden_size": 32, "intermediate_size": 64, "num_layers": 1}},
        "train": {"lr": 2e-3, "epochs": 1, "batch_size": 16, "device": "cpu"},
        "eval": {"batch_size": 64, "misclassified": 0},
        "observe": {"resources": False, "misclassified": False},
        "run": {"cache_dir": str(tmp_path / "cache"), "tensorboard": False},
    }))
    short_inputs = ["tasklist.defaults.max_length=24"] if short else []
    raw, sources = load_raw(exp, [*short_inputs, *SMALL.get(tasklist, []), *extra])
    return validate(raw, sources), sources


@pytest.mark.parametrize("tasklist", sorted(EXPECTED))
def test_tasklist_trains_from_fetched_hub_copies(tmp_path: Path, tasklist: str) -> None:
    hub = hub_overrides(TASKLISTS / tasklist, tmp_path / "hub")
    data = tmp_path / "data"
    assert main(["fetch", str(TASKLISTS / tasklist), "--data-dir", str(data), *as_args(hub)]) == 0
    cfg, _ = _config(tmp_path, tasklist, f"tasklist.data_dir={data}")
    order = next(iter(cfg.tasklist.orders.values()))
    # text5 keeps its 256-token inputs: the tiny backbone must grow its position table to fit them.
    cfg, sources = _config(tmp_path, tasklist, f"tasklist.data_dir={data}", f"order=[{','.join(order)}]",
                           short=tasklist not in ("text5.yaml", "pp4_text2text.yaml"))
    assert all(s.local is not None and Path(s.local.dir or "").parent == data for s in cfg.tasklist.tasks.values())
    result = run_experiment(cfg, tmp_path / "run", sources=sources, progress=False, log=lambda m: None)
    assert result["order"] == order
    assert {t: len(result["labels"][t]) for t in order} == {t: EXPECTED[tasklist][t] for t in order}
    assert len(result["matrix"]) == len(order) and all(len(row) == len(order) for row in result["matrix"])
    assert all(math.isfinite(v) for row in result["matrix"] for v in row)
    if "text2text" in tasklist:  # O-LoRA's label strings, and the layout with its instruction
        assert "Educational Institution" in result["labels"]["dbpedia"]
        assert "very positive" in result["labels"]["amazon"] and result["scenario"] == "generative"


@pytest.mark.parametrize("tasklist", ["pp4_text2text.yaml", "pp15_text2text.yaml"])
def test_text2text_benchmarks_keep_olora_lengths(tmp_path: Path, tasklist: str) -> None:
    """O-LoRA's scripts read 512 source and 50 target tokens (text5's 256 cut 8.6% of BoolQ's prompts)."""
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({"tasklist": str(TASKLISTS / tasklist), "model": {"backbone": "tiny-t5"}}))
    raw, sources = load_raw(exp)
    cfg = validate(raw, sources)
    assert {(t.max_length, t.max_target_length) for t in cfg.tasklist.tasks.values()} == {(512, 50)}


def test_task_longer_than_the_backbone_is_refused(tmp_path: Path) -> None:
    from clsweep.errors import ConfigError
    from clsweep.training.positions import check_positions

    cfg, sources = _config(tmp_path, "ner.yaml", "tasklist.tasks.wnut17.max_length=600")
    with pytest.raises(ConfigError) as e:
        check_positions(cfg, 512, dict.fromkeys(cfg.task_order, 0), sources)  # token tasks: no target
    assert str(e.value).endswith("tasks.wnut17.max_length: 600 tokens exceed the backbone's 512 positions; "
                                 "set max_length <= 512")


def test_shared_head_is_the_union_with_shared_ratings(tmp_path: Path) -> None:
    cfg, sources = _config(tmp_path, "text5_shared.yaml", *hub_overrides(TASKLISTS / "text5_shared.yaml",
                                                                        tmp_path / "hub"))
    tasks = prepare_tasks(cfg, _tok(), sources, log=lambda m: None)
    union = tasks["ag"].labels
    assert all(t.labels == union and t.head_name == "shared" for t in tasks.values())
    # Tasklist order: ag's 4, then yelp's 5 ratings (amazon adds none), dbpedia's 14, yahoo's 10.
    assert union[:4] == ["World", "Sports", "Business", "Sci/Tech"] and union[4] == "1 star" and len(union) == 33
    yelp, amazon = tasks["yelp"].splits["test"], tasks["amazon"].splits["test"]
    # The fixture's test splits hold 2 rows of each class in class order: ratings 0, 0, 1, 1, ... = union 4, 4, 5 ...
    assert sorted(yelp.labels) == sorted(amazon.labels) == [4, 4, 5, 5, 6, 6, 7, 7, 8, 8]
    assert sorted(set(tasks["dbpedia"].splits["test"].labels)) == list(range(9, 23))


@pytest.mark.parametrize("keep", [False, True])
def test_clinc_split_by_domain(tmp_path: Path, keep: bool) -> None:
    extra = ["tasklist.tasks.clinc.split_by.keep=[oos]"] if keep else []
    # Realistic proportions, scaled down: per intent 4 train, 2 validation, 3 test; out-of-scope 10 / 10 / 100.
    sizes = {"train": (4, 10), "validation": (2, 10), "test": (3, 100)}
    hub = hub_overrides(TASKLISTS / "clinc150.yaml", tmp_path / "hub", lambda key, config, split: [
        sizes[split][name == "oos"] for name in CLINC])
    cfg, sources = _config(tmp_path, "clinc150.yaml", *hub, *extra)
    assert list(cfg.tasklist.tasks) == cfg.tasklist.orders["domains"] and len(cfg.tasklist.tasks) == 10
    tasks = prepare_tasks(cfg, _tok(), sources, log=lambda m: None)
    for name, task in tasks.items():
        assert len(task.labels) == 15 + keep and ("oos" in task.labels) == keep
        counts = task.stats["splits"]["test"]["labels"]
        # The filter kept exactly this domain's intents (and, with keep, every out-of-scope row).
        assert counts == {lab: 100 if lab == "oos" else 3 for lab in task.labels}, name
    assert tasks["clinc_banking"].labels[:3] == ["freeze_account", "routing", "pin_change"]


def test_clinc_oos_sampled_to_an_intents_size(tmp_path: Path) -> None:
    """The caps the tasklist's comment documents bring oos down to an intent's share in every split."""
    sizes = {"train": (5, 12), "validation": (2, 10), "test": (3, 100)}
    hub = hub_overrides(TASKLISTS / "clinc150.yaml", tmp_path / "hub", lambda key, config, split: [
        sizes[split][name == "oos"] for name in CLINC])
    caps = ["tasklist.tasks.clinc.split_by.keep=[oos]", "tasklist.tasks.clinc.per_class=5",
            "tasklist.tasks.clinc.eval_per_class=3"]
    cfg, sources = _config(tmp_path, "clinc150.yaml", *hub, *caps)
    task = prepare_tasks(cfg, _tok(), sources, log=lambda m: None)["clinc_travel"]
    split_counts = {s: task.stats["splits"][s]["labels"] for s in ("train", "dev", "test")}
    assert split_counts["train"] == dict.fromkeys(task.labels, 5)
    assert split_counts["dev"] == {lab: 3 if lab == "oos" else 2 for lab in task.labels}
    assert split_counts["test"] == dict.fromkeys(task.labels, 3)


def _tok() -> Any:
    from clsweep.models.tiny import tiny_tokenizer

    return tiny_tokenizer()


def test_every_tasklist_has_its_section_in_docs_and_the_readme_links_it() -> None:
    docs = (TASKLISTS.parent / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    sections = [line for line in docs.splitlines() if line.startswith("## ")]
    for tasklist in sorted(p.name for p in TASKLISTS.glob("*.yaml")):
        assert any(tasklist in line for line in sections), tasklist
    assert "](docs/benchmarks.md)" in (TASKLISTS.parent / "README.md").read_text(encoding="utf-8")

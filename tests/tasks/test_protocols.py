"""The papers' sampling protocols, counted on Hub-shaped fixtures with their real split proportions.

Progressive Prompts (t5_continual.py, get_tasks_data_dict): 1,000 train examples per class, RTE/CB/COPA
their full train set; dev and test both from the evaluation split (GLUE/SuperGLUE validation, else test):
500 per class (SST-2 400; RTE/CB/COPA all of it), halved. IDBR (read_data.py): dev 2,000 per class carved
from train, then 2,000 train per class from the rest; the test set as it is (LAMOL's 7,600 per dataset).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hub_fixtures import HIDDEN, REPOS, hub_overrides

from clsweep.loading import load_raw, validate
from clsweep.tasks.errors import TaskErrors
from clsweep.tasks.sampling import value_names
from clsweep.tasks.sources import load_splits
from clsweep.tasks.spec import TaskSpec

TASKLISTS = Path(__file__).resolve().parents[2] / "tasklists"
TEXT5 = ("fancyzhx/ag_news", "Yelp/yelp_review_full", "mteb/AmazonReviewsClassification", "fancyzhx/dbpedia_14",
         "community-datasets/yahoo_answers_topics")
# Rows per class where a split is not the default (train 1,010, evaluation 505): small tasks with their
# real, uneven class sizes; SST-2's 872-row validation; WiC's 638; DBpedia's test above LAMOL's 7,600.
ROWS: dict[tuple[str, str], list[int] | int] = {
    ("rte", "train"): [1249, 1241], ("rte", "validation"): [146, 131],
    ("cb", "train"): [115, 119, 16], ("cb", "validation"): [23, 28, 5],
    ("copa", "train"): [195, 205], ("copa", "validation"): [55, 45],
    ("sst2", "validation"): [428, 444], ("wic", "validation"): [319, 319],
    ("dbpedia_14", "test"): 600,
}


def _rows(key: str, config: str, split: str) -> int | list[int]:
    if split == "unsupervised" or (REPOS[key].hidden and split in HIDDEN):  # unlabelled: never read
        return 2
    if (config, split) in ROWS:
        return ROWS[config, split]
    if split == "train":
        return 4010 if key in TEXT5 else 1010  # IDBR carves 2,000 + 2,000 per class from train
    return 505


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hub")


def _specs(tasklist: str, hub: Path) -> dict[str, TaskSpec]:
    exp = hub.parent / f"{tasklist}.exp.yaml"
    exp.write_text(f"tasklist: {TASKLISTS / tasklist}\n")
    raw, sources = load_raw(exp, hub_overrides(TASKLISTS / tasklist, hub, _rows))
    return dict(validate(raw, sources).tasklist.tasks)


def _counts(spec: TaskSpec, hub: Path) -> dict[str, Counter[str]]:
    splits, _, _ = load_splits(spec, TaskErrors(None, spec.name), hub.parent / "cache")
    return {s: Counter(value_names(ds, spec.label_col, spec.label_names)) for s, ds in splits.items()}


def _per_class(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items()))


PP_SMALL = {"rte", "cb", "copa"}


@pytest.mark.parametrize("tasklist", ["pp4.yaml", "pp15.yaml"])
def test_progressive_prompts_sizes(hub: Path, tasklist: str) -> None:
    specs = _specs(tasklist, hub)
    assert len(specs) == (4 if tasklist == "pp4.yaml" else 15)
    for name, spec in specs.items():
        got = _counts(spec, hub)
        full = _counts(spec.model_copy(update={"per_class": None, "eval_per_class": None, "dev": None,
                                               "max_train_samples": None, "max_eval_samples": None}), hub)
        source_train = full["train"] + full["dev"]  # the whole train split (dev_fraction carved some off)
        evaluation = full["test"]
        k = None if name in PP_SMALL else 1000
        k_val = None if name in PP_SMALL else 400 if name == "sst2" else 500
        pool = {c: n if k_val is None else min(n, k_val) for c, n in evaluation.items()}
        assert _per_class(got["train"]) == {c: n if k is None else min(n, k) for c, n in sorted(source_train.items())}
        assert _per_class(got["dev"]) == {c: n // 2 for c, n in sorted(pool.items())}, name
        assert _per_class(got["test"]) == {c: n - n // 2 for c, n in sorted(pool.items())}, name
        if name not in PP_SMALL | {"sst2", "wic"}:
            assert set(got["dev"].values()) == set(got["test"].values()) == {250}, name


def test_progressive_prompts_dev_and_test_are_disjoint_halves(hub: Path) -> None:
    spec = _specs("pp4.yaml", hub)["ag"]
    splits, carved, _ = load_splits(spec, TaskErrors(None, "ag"), hub.parent / "cache")
    dev, test = set(splits["dev"]["text"]), set(splits["test"]["text"])
    assert carved == {"dev": "test"} and not dev & test and len(dev) == len(test) == 1000
    assert all(t.split()[-1].startswith("test") for t in dev | test)  # both from the hub's test split


def test_idbr_dev_and_train_per_class_and_one_shared_head(hub: Path) -> None:
    specs = _specs("text5_idbr.yaml", hub)
    assert {s.head_name for s in specs.values()} == {"shared"}
    assert {s.label_space for s in specs.values()} == {"union"}
    for name, spec in specs.items():
        splits, carved, _ = load_splits(spec, TaskErrors(None, name), hub.parent / "cache")
        counts = {s: Counter(value_names(ds, spec.label_col, spec.label_names)) for s, ds in splits.items()}
        assert carved == {"dev": "train"}
        assert set(counts["dev"].values()) == {2000} and set(counts["train"].values()) == {2000}, name
        text = spec.text_cols[0]
        assert not set(splits["dev"][text]) & set(splits["train"][text]), name
        hub_test = 14 * 600 if name == "dbpedia" else 505 * len(counts["test"])
        assert len(splits["test"]) == min(7600, hub_test), name

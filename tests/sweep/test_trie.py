"""The ordering trie: how many task-trainings a sweep's runs share, counted by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from math import factorial, perm
from pathlib import Path

import pytest

from clsweep.loading import load_experiment
from clsweep.sweep.plan import make_plan
from clsweep.sweep.trie import Trie, build_trie

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"


def trie_of(file: str, *overrides: str) -> Trie:
    cfg = load_experiment(SPACES / file, list(overrides))
    return build_trie(make_plan(cfg, file).trials, cfg.approach.name, cfg.eval.cells)


def test_all_orders_of_four_tasks_share_prefixes() -> None:
    trie = trie_of("orders_all.yaml")
    assert trie.unshared == 24 * 4
    assert trie.shared == 4 + 4 * 3 + 4 * 3 * 2 + 24 == 64  # distinct prefixes of length 1, 2, 3, 4


def test_all_orders_of_five_tasks() -> None:
    trie = trie_of("orders_all.yaml", "order=[topic, sentiment, pair, intent, ner]")
    assert trie.unshared == 120 * 5 == 600
    assert trie.shared == sum(perm(5, k) for k in range(1, 6)) == 325
    leaves = [n for n in trie.nodes.values() if len(n.prefix) == 5]
    assert len(leaves) == factorial(5) and all(len(n.runs) == 1 for n in leaves)
    firsts = [n for n in trie.nodes.values() if len(n.prefix) == 1]
    assert sorted(len(n.runs) for n in firsts) == [24] * 5 and all(n.parent is None for n in firsts)


@pytest.mark.parametrize(("space", "configs"), [
    ({"approach.name": {"grid": ["finetune", "ewc"]}}, 2),
    ({"approach.name": {"grid": ["finetune", "ewc"]}, "approach.ewc.lambda": {"grid": [500, 2000]}}, 3),
])
def test_the_first_task_is_trained_once_for_finetune_and_ewc(space: dict[str, object], configs: int) -> None:
    trie = trie_of("ewc.yaml", f"search.space={json.dumps(space)}")
    runs = 6 * 2  # 6 Williams orderings of the 6 synthetic tasks x 2 seeds
    assert trie.unshared == configs * runs * 6
    # Per run, tasks 2..6 belong to one configuration; the first task is one node for all configurations.
    assert trie.shared == configs * runs * 5 + runs
    assert trie.first_task_shared == ("ewc", "finetune")
    firsts = [n for n in trie.nodes.values() if len(n.prefix) == 1]
    assert len(firsts) == runs and all(len(n.runs) == configs for n in firsts)


def test_configurations_that_change_the_first_task_do_not_share_it() -> None:
    # replay fills its buffer while it trains (state before after_task), and a learning rate changes everything.
    replay = trie_of("ewc.yaml", 'search.space={"approach.name": {"grid": ["finetune", "replay"]}}')
    assert replay.shared == replay.unshared and replay.first_task_shared == ()
    lr = trie_of("ewc.yaml", 'search.space={"train.lr": {"grid": [0.001, 0.002]}}')
    assert lr.shared == lr.unshared


def test_needed_cells_key_the_next_task_too() -> None:
    # A `needed` row after task k scores task k+1: runs agree on a row only when they agree on the next task.
    trie = trie_of("orders_all.yaml", "eval.cells=needed")
    assert trie.shared == 4 * 3 + 4 * 3 * 2 + 24 + 24 == 84  # prefixes of length 2, 3, 4, 4 (the last row)


def test_dry_run_prints_the_trie() -> None:
    out = subprocess.run([sys.executable, "-m", "clsweep", "run", str(SPACES / "orders_all.yaml"), "--dry-run"],
                         capture_output=True, text=True, check=True).stdout
    assert "ordering trie: 64 task-trainings instead of 96 (1.50x fewer; shared prefixes are trained once" in out

"""Sweep plans: configurations per approach, sampling, optuna spaces, ids and errors, all without Ray."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError
from clsweep.loading import load_experiment
from clsweep.sweep.plan import SweepPlan, make_plan
from clsweep.sweep.space import apply_overrides

EWC_YAML = Path(__file__).resolve().parents[2] / "search_spaces" / "ewc.yaml"
SYNTHETIC = ["topic", "sentiment", "pair", "intent", "ner", "register"]


def load(*overrides: str, space: dict[str, object] | None = None) -> ExperimentConfig:
    """search_spaces/ewc.yaml with overrides; `space` replaces search.space whole (its keys are dotted)."""
    extra = [f"search.space={json.dumps(space)}"] if space is not None else []
    return load_experiment(EWC_YAML, [*overrides, *extra])


def plan_of(*overrides: str, space: dict[str, object] | None = None) -> SweepPlan:
    return make_plan(load(*overrides, space=space), "ewc.yaml")


EWC_LAMBDAS = {"approach.name": {"grid": ["finetune", "ewc"]}, "approach.ewc.lambda": {"grid": [500, 2000]}}


def test_approach_specific_keys_give_three_configurations() -> None:
    plan = plan_of("search.seeds=[0, 1]", space=EWC_LAMBDAS)
    assert plan.config_ids() == ["finetune", "ewc lambda=500", "ewc lambda=2000"]
    assert plan.approaches == ("finetune", "ewc")
    assert [r.order_id for r in plan.runs[::2]] == [f"williams-0{i}" for i in range(1, 7)]
    assert all(sorted(r.order) == sorted(SYNTHETIC) for r in plan.runs)
    assert len(plan.runs) == 6 * 2 and len(plan) == len(plan.trials) == 3 * 6 * 2
    assert all(len(t.runs) == 1 for t in plan.trials)
    # Config-major, and the finetune trials never carry EWC's lambda.
    assert [t.config_id for t in plan.trials[:12]] == ["finetune"] * 12
    assert plan.trials[0].overrides == {"approach.name": "finetune"}
    assert plan.trials[12].overrides == {"approach.name": "ewc", "approach.ewc.lambda": 500}


def test_keys_of_one_approach_do_not_multiply_another() -> None:
    space = {"approach.name": {"grid": ["finetune", "ewc", "joint"]}, "approach.ewc.lambda": {"grid": [1, 2]},
             "approach.ewc.mode": {"choice": ["online", "separate"]}, "train.lr": {"grid": [0.001, 0.002]}}
    plan = plan_of(space=space)
    ids = plan.config_ids()
    assert len(ids) == 2 + 2 * 2 * 2 + 2
    assert "finetune train.lr=0.001" in ids and "ewc lambda=2 mode=separate train.lr=0.002" in ids
    for t in plan.trials:
        assert t.overrides["approach.name"] == "ewc" or not any(k.startswith("approach.ewc") for k in t.overrides)


def test_no_duplicate_trials_and_safe_unique_ids() -> None:
    plan = plan_of("search.seeds=[0, 0, 3]", space={"approach.name": {"grid": ["ewc", "ewc", "finetune"]},
                                                    "model.pooling": {"choice": ["cls", "mean"]}})
    keys = [(json.dumps(t.overrides, sort_keys=True), t.runs) for t in plan.trials]
    assert len(keys) == len(set(keys)) == 4 * 6 * 2
    ids = [t.trial_id for t in plan.trials]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9._=+-]+", i) and len(i) < 200 for i in ids)
    assert ids[0] == "ewc_model.pooling=cls__williams-01_seed0"


def test_random_sampling_reproducible_in_bounds_and_log_spaced() -> None:
    space = {"approach.name": {"grid": ["finetune", "ewc"]}, "approach.ewc.lambda": {"loguniform": [1, 1e6]},
             "approach.ewc.fisher_samples": {"randint": [8, 12]}, "train.lr": {"quniform": [0.1, 0.5, 0.1]}}
    args = ("search.algorithm=random", "search.num_samples=60", "search.orderings=given", "search.seeds=[0]")
    plan = plan_of(*args, space=space)
    assert plan.config_ids() == plan_of(*args, space=space).config_ids()
    assert [t.config_id for t in plan.trials].count("finetune") == 0  # finetune draws train.lr too
    ewc = [t.overrides for t in plan.trials if t.overrides["approach.name"] == "ewc"]
    assert len(ewc) == 60
    lams = [o["approach.ewc.lambda"] for o in ewc]
    assert all(1 <= x <= 1e6 for x in lams)
    # Log-uniform: about a sixth of the draws per decade, so many fall below 1e3 (uniform would put ~0.1% there).
    assert sum(x < 1e3 for x in lams) > 15 and sum(x > 1e3 for x in lams) > 15
    assert {o["approach.ewc.fisher_samples"] for o in ewc} <= {8, 9, 10, 11}
    lrs = {o["train.lr"] for o in ewc}
    assert lrs <= {0.1, 0.2, 0.3, 0.4, 0.5} and len(lrs) > 2


def test_random_gives_unsampled_configurations_one_trial() -> None:
    space = {"approach.name": {"grid": ["finetune", "ewc"]}, "approach.ewc.lambda": {"loguniform": [10, 1e4]}}
    plan = plan_of("search.algorithm=random", "search.num_samples=5", "search.orderings=given", "search.seeds=[0]",
                   space=space)
    ids = [t.config_id for t in plan.trials]
    assert ids.count("finetune") == 1 and len(ids) == 6
    assert all(math.log10(10) <= math.log10(t.overrides.get("approach.ewc.lambda", 10)) <= 4 for t in plan.trials)


@pytest.mark.parametrize("space, key, words", [
    ({"approach.ewc.lambda": {"loguniform": [1, 10]}}, "approach.ewc.lambda", "use algorithm: random or optuna"),
    ({"approach.ewc.lamb": {"grid": [1]}}, "approach.ewc.lamb", "did you mean 'lambda'"),
    ({"approach.nope.x": {"grid": [1]}}, "approach.nope.x", "unknown approach 'nope'"),
    ({"approach.finetune.lr": {"grid": [1]}}, "approach.finetune.lr", "finetune has no parameters"),
    ({"train.lrr": {"grid": [1]}}, "train.lrr", "did you mean 'lr'"),
    ({"train.lr": {"grid": [0.1, -1]}}, "train.lr", "greater than 0"),
    ({"approach.name": {"grid": ["ewc", "nope"]}}, "approach.name", "unknown approach 'nope'"),
    ({"approach.finetune.x": {"grid": [1]}}, "approach.finetune.x", "finetune has no parameters"),
])
def test_space_errors_name_the_key(space: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as e:
        plan_of(space=space)
    issue = e.value.issues[0]
    assert (issue.file, issue.path) == ("ewc.yaml", f"search.space.{key}")
    assert words in issue.message


def test_key_for_an_approach_outside_the_sweep() -> None:
    with pytest.raises(ConfigError, match="applies to ewc, which this sweep does not run"):
        plan_of("approach.name=finetune", space={"approach.ewc.lambda": {"grid": [1]}})


def test_float_range_on_an_integer_field_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"search\.space\.train\.epochs: .*integer"):
        plan_of("search.algorithm=random", space={"train.epochs": {"uniform": [1, 4]}})


def test_optuna_plan_shape() -> None:
    space = {"approach.name": {"grid": ["finetune", "ewc"]}, "approach.ewc.lambda": {"loguniform": [10, 1e4]},
             "train.lr": {"grid": [0.001, 0.002]}}
    plan = plan_of("search.algorithm=optuna", "search.num_samples=12", "search.seeds=[0, 1]", space=space)
    assert plan.trials == () and len(plan) == 12 and len(plan.runs) == 12
    assert set(plan.optuna_space) == {"finetune", "ewc"}
    assert list(plan.optuna_space["finetune"]) == ["train.lr"]
    assert plan.optuna_space["finetune"]["train.lr"].choice == [0.001, 0.002]  # grid -> categorical
    assert plan.optuna_space["ewc"]["approach.ewc.lambda"].loguniform == (10, 1e4)
    assert "12 Optuna trials, each over 12 runs (6 orderings x 2 seeds)" in plan.describe()


def test_describe_lists_counts_orderings_and_configurations() -> None:
    text = plan_of().describe()  # the shipped main job: one comparison, 12 paired runs over 6 orderings
    assert text.splitlines()[0] == "grid: 2 configurations x 12 runs (6 orderings x 2 seeds) = 24 trials"
    assert "  williams-01  topic>sentiment>register>pair>ner>intent" in text
    assert text.splitlines()[-2:] == ["  finetune", "  ewc"]
    assert "  ewc lambda=2000" in plan_of(space=EWC_LAMBDAS).describe()


def test_apply_overrides_validates_and_leaves_the_base_alone() -> None:
    cfg = load()
    base = cfg.to_dict()
    plan = make_plan(cfg)
    last = plan.trials[-1].overrides
    data = apply_overrides(base, {**last, "train.lr": 0.01})
    out = ExperimentConfig.model_validate(data)
    assert out.approach.name == "ewc" and out.approach.params_for("ewc").lam == 2000  # type: ignore[attr-defined]
    assert out.train.lr == 0.01 and out.approach.params_for("ewc").mode == "online"  # type: ignore[attr-defined]
    assert base == cfg.to_dict()


def test_grid_refuses_num_samples_and_no_seeds() -> None:
    with pytest.raises(ConfigError, match=r"search\.num_samples"):
        plan_of("search.num_samples=3")
    with pytest.raises(ConfigError, match=r"search\.seeds: list at least one seed"):
        plan_of("search.seeds=[]")


def test_importing_sweep_does_not_import_ray() -> None:
    code = "import sys, clsweep.sweep\nassert not [m for m in sys.modules if m.split('.')[0] == 'ray']"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sampled_config_ids_are_short_and_readable() -> None:
    from clsweep.sweep.plan import sampled_config_id

    cid = sampled_config_id("ewc", {"approach.ewc.lambda": 1761.3763016070661, "train.lr": 0.0013262481883797377})
    assert cid == "ewc lambda=1761 train.lr=0.001326"
    assert sampled_config_id("finetune", {"approach.name": "finetune"}) == "finetune"


def test_the_main_job_can_reach_a_verdict() -> None:
    """`clsweep run search_spaces/ewc.yaml` must be able to call its comparison distinguishable: with every
    pair agreeing, the smallest Wilcoxon p of its paired runs, Holm-adjusted over its comparisons, is < 0.05."""
    from clsweep.analysis.stats import holm, paired

    plan = plan_of()
    comparisons = math.comb(len(plan.config_ids()), 2)
    pairs = len(plan.runs)  # every configuration runs every (ordering, seed): one pair each
    assert {r.order_id for r in plan.runs} == {f"williams-0{i}" for i in range(1, 7)}  # 6 orderings to resample
    best = paired([1.0] * pairs, [0.0] * pairs)  # the most extreme outcome
    assert best.wilcoxon_p == pytest.approx(best.min_p)
    assert holm([best.min_p] * comparisons)[0] < 0.05


def test_text2text_space_compares_seq_lora_and_olora_with_the_same_lora() -> None:
    """O-LoRA against its SeqLoRA baseline: only O-LoRA's own terms may differ, not rank, scale or dropout."""
    cfg = load_experiment(Path(__file__).resolve().parents[2] / "search_spaces" / "text2text.yaml")
    seq, olora = cfg.approach.params_for("seq_lora"), cfg.approach.params_for("olora")
    for key in ("r", "alpha", "dropout", "target_modules"):
        assert getattr(seq, key) == getattr(olora, key), key

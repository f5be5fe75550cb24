"""Tests for clsweep.analysis.stats against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clsweep.analysis import bootstrap_ci, describe, holm, paired, t_critical, variance_shares


def test_t_critical_matches_table() -> None:
    table = {1: 12.7062, 2: 4.3027, 3: 3.1824, 5: 2.5706, 10: 2.2281, 30: 2.0423, 120: 1.9799}
    for df, t in table.items():
        assert t_critical(df) == pytest.approx(t, abs=1e-4)
    assert t_critical(10, level=0.99) == pytest.approx(3.1693, abs=1e-4)
    with pytest.raises(ValueError):
        t_critical(0)


def test_describe_hand_computed() -> None:
    d = describe([1.0, 2.0, 3.0, 4.0, math.nan])  # NaN: an undefined metric, left out
    # mean 2.5; squared deviations 2.25 + .25 + .25 + 2.25 = 5, std sqrt(5/3)
    std = math.sqrt(5 / 3)
    assert (d["n"], d["mean"], d["min"], d["max"]) == (4, 2.5, 1.0, 4.0)
    assert d["std"] == pytest.approx(std)
    assert d["sem"] == pytest.approx(std / 2)
    assert d["ci95"] == pytest.approx(3.1824 * std / 2, rel=1e-4)
    assert 1.0 <= d["ci_low"] < 2.5 < d["ci_high"] <= 4.0
    one = describe([0.7])
    assert one["mean"] == 0.7 and math.isnan(one["std"]) and math.isnan(one["ci_low"])


def test_bootstrap_ci_properties() -> None:
    assert bootstrap_ci([0.3, 0.3, 0.3]) == (0.3, 0.3)  # no spread, no interval
    assert bootstrap_ci([0.1, 0.9]) == bootstrap_ci([0.1, 0.9])  # fixed seed: reproducible
    # two values: the resampled means are .1 (1/4), .5 (1/2), .9 (1/4): the 2.5%/97.5% quantiles are .1 and .9
    assert bootstrap_ci([0.1, 0.9]) == pytest.approx((0.1, 0.9))
    rng = np.random.default_rng(1)
    big = rng.normal(0.5, 0.1, size=400)
    low, high = bootstrap_ci(big)
    half = 1.96 * big.std(ddof=1) / math.sqrt(len(big))  # the normal approximation is good at n = 400
    assert low == pytest.approx(big.mean() - half, abs=0.15 * half)
    assert high == pytest.approx(big.mean() + half, abs=0.15 * half)


def test_paired_hand_computed() -> None:
    a = [0.6, 0.7, 0.8, 0.45, 0.9, 1.0]
    b = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    p = paired(a, b)  # differences .1 .2 .3 -.05 .4 .5
    assert p.n == 6 and (p.a_higher, p.a_lower, p.ties) == (5, 1, 0)
    assert p.mean_diff == pytest.approx(1.45 / 6)
    # sign test: P(X <= 1 | n=6, 1/2) = (1 + 6)/64, doubled
    assert p.sign_p == pytest.approx(14 / 64)
    # signed ranks: |-.05| has rank 1, so W- = 1; sign patterns with W- <= 1: {} and {1}: p = 2 * 2/64
    assert p.wilcoxon_p == pytest.approx(4 / 64)
    assert p.min_p == pytest.approx(2 / 64)
    assert p.ci_low < p.mean_diff < p.ci_high


def test_paired_ties_and_small_samples() -> None:
    p = paired([1, 2, 3, 5], [0, 0, 0, 9])  # differences 1 2 3 -4: W+ = 6, W- = 4
    # subsets of {1,2,3,4} with sum <= 4: {}, 1, 2, 3, 4, 1+2, 1+3 -> 7 of 16, doubled
    assert p.wilcoxon_p == pytest.approx(14 / 16)
    same = paired([0.5, 0.6], [0.5, 0.6])
    assert (same.ties, same.sign_p, same.wilcoxon_p, same.mean_diff) == (2, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="equal lengths"):
        paired([1.0], [1.0, 2.0])


def test_holm_hand_computed() -> None:
    # sorted .01, .03, .04 -> x3, x2, x1 = .03, .06, .04 -> running max .03, .06, .06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]) == []


def test_variance_shares_balanced_grid() -> None:
    shares = variance_shares({("a", 0): 1.0, ("a", 1): 2.0, ("b", 0): 3.0, ("b", 1): 5.0})
    # grand mean 2.75; total SS 3.0625 + .5625 + .0625 + 5.0625 = 8.75
    # orderings: means 1.5, 4 -> SS 2 * 1.25^2 * 2 = 6.25; seeds: means 2, 3.5 -> SS 2 * .75^2 * 2 = 2.25
    assert shares["total_ss"] == pytest.approx(8.75)
    assert shares["order_share"] == pytest.approx(6.25 / 8.75)
    assert shares["seed_share"] == pytest.approx(2.25 / 8.75)
    assert shares["residual_share"] == pytest.approx(0.25 / 8.75)


def test_variance_shares_unbalanced_and_constant() -> None:
    shares = variance_shares({("a", 0): 1.0, ("a", 1): 3.0, ("b", 0): 5.0})
    # mean 3; SS 4 + 0 + 4 = 8; orderings: a mean 2 (n 2), b 5 -> SS 2 * 1 + 4 = 6
    assert shares["order_share"] == pytest.approx(6 / 8)
    assert math.isnan(shares["seed_share"]) and shares["residual_share"] == pytest.approx(2 / 8)
    flat = variance_shares({("a", 0): 1.0, ("b", 1): 1.0})
    assert math.isnan(flat["order_share"])


# ------------------------------------------------------------------ seeds nested in orderings: cluster intervals

# 4 orderings that differ a lot, 5 seeds each that hardly differ: 20 runs but only 4 independent orderings.
ORDER_MEANS = [0.2, 0.4, 0.6, 0.8]
NESTED = [m + 1e-4 * s for m in ORDER_MEANS for s in range(5)]
NESTED_ORDERS = [f"o{i}" for i in range(4) for _ in range(5)]


def _numpy_bootstrap(values: list[float], seed: int = 0, samples: int = 10_000) -> tuple[float, float]:
    """The percentile bootstrap of the mean written out with numpy, for comparison."""
    v = np.asarray(values, dtype=float)
    draws = np.random.default_rng(seed).integers(0, len(v), size=(samples, len(v)))
    low, high = np.quantile(v[draws].mean(axis=1), [0.025, 0.975])
    return float(low), float(high)


def test_cluster_bootstrap_is_the_bootstrap_of_the_ordering_means() -> None:
    means = [float(np.mean(NESTED[5 * i: 5 * i + 5])) for i in range(4)]
    clustered = bootstrap_ci(NESTED, clusters=NESTED_ORDERS)
    assert clustered == pytest.approx(_numpy_bootstrap(means), abs=1e-12)
    assert clustered == pytest.approx(bootstrap_ci(means), abs=1e-12)
    # resampling the 20 runs as if independent gives an interval far too narrow for 4 orderings
    naive_low, naive_high = bootstrap_ci(NESTED)
    assert clustered[1] - clustered[0] > 1.8 * (naive_high - naive_low)


def test_duplicated_seeds_do_not_narrow_the_interval() -> None:
    values, orders = [0.3, 0.5, 0.55, 0.9, 0.1, 0.15], ["a", "b", "b", "c", "d", "d"]
    once = bootstrap_ci(values, clusters=orders)
    twice = bootstrap_ci(values * 2, clusters=orders * 2)  # every run repeated under its own ordering
    assert twice == pytest.approx(once, abs=1e-12)
    d_once, d_twice = describe(values, clusters=orders), describe(values * 2, clusters=orders * 2)
    assert (d_twice["sem"], d_twice["ci95"], d_twice["clusters"]) == pytest.approx(
        (d_once["sem"], d_once["ci95"], 4))
    assert describe(values * 2)["sem"] < describe(values)["sem"]  # without clusters duplicates look like evidence


def test_one_run_per_cluster_is_the_plain_bootstrap_and_nans_leave_with_their_label() -> None:
    values = [0.1, 0.4, 0.35, 0.8, 0.6]
    assert bootstrap_ci(values, clusters=["a", "b", "c", "d", "e"]) == bootstrap_ci(values)
    with_nan = bootstrap_ci([0.1, math.nan, 0.4, 0.35], clusters=["a", "z", "b", "c"])
    assert with_nan == bootstrap_ci([0.1, 0.4, 0.35])  # cluster z held only a NaN: 3 clusters remain
    assert bootstrap_ci([0.1, 0.2, 0.3], clusters=["a", "a", "a"]) == pytest.approx((math.nan, math.nan),
                                                                                   nan_ok=True)
    with pytest.raises(ValueError, match="one label per value"):
        bootstrap_ci([0.1, 0.2], clusters=["a"])


def test_describe_with_clusters_hand_computed() -> None:
    # orderings a: .2 .4 (mean .3), b: .5 .7 (.6), c: .8 1.0 (.9); ordering means sd .3, k = 3
    d = describe([0.2, 0.4, 0.5, 0.7, 0.8, 1.0], clusters=["a", "a", "b", "b", "c", "c"])
    assert (d["n"], d["clusters"], d["mean"]) == pytest.approx((6, 3, 0.6))
    assert d["std"] == pytest.approx(math.sqrt(0.42 / 5))  # over the 6 runs: squared deviations sum to .42
    assert d["sem"] == pytest.approx(0.3 / math.sqrt(3))
    assert d["ci95"] == pytest.approx(4.3027 * 0.3 / math.sqrt(3), rel=1e-4)
    assert (d["ci_low"], d["ci_high"]) == pytest.approx(_numpy_bootstrap([0.3, 0.6, 0.9]))


def test_paired_resamples_orderings_but_counts_pairs() -> None:
    # differences by (ordering, seed): o1 .1 .1 .1, o2 .3 .3 .3 (nearly the same within an ordering)
    a = [0.6, 0.61, 0.62, 0.8, 0.81, 0.82]
    b = [0.5, 0.51, 0.52, 0.5, 0.51, 0.52]
    orders = ["o1"] * 3 + ["o2"] * 3
    p = paired(a, b, clusters=orders)
    assert (p.n, p.clusters, p.a_higher) == (6, 2, 6)
    assert p.wilcoxon_p == pytest.approx(2 / 64)  # the test counts the (ordering, seed) pairs
    assert (p.ci_low, p.ci_high) == pytest.approx(_numpy_bootstrap([0.1, 0.3]))  # the CI, the 2 orderings
    assert (p.ci_low, p.ci_high) == pytest.approx((0.1, 0.3))
    unclustered = paired(a, b)
    assert unclustered.clusters == 6 and unclustered.ci_high - unclustered.ci_low < 0.2 - 1e-9
    with pytest.raises(ValueError, match="cluster labels"):
        paired(a, b, clusters=orders[:-1])

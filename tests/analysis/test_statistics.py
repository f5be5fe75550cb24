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

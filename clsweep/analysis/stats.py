"""Pure statistics on plain numbers: t and bootstrap intervals, paired tests, Holm correction, variance shares."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

Values = Sequence[float] | np.ndarray
BOOTSTRAP_SAMPLES = 10_000
BOOTSTRAP_SEED = 0  # fixed: the same runs always give the same interval


def t_critical(df: int, level: float = 0.95) -> float:
    """Two-sided Student t critical value with df degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return float(stats.t.ppf(0.5 + level / 2, df))


def _clean(values: Values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[~np.isnan(arr)]


def _clusters(values: Values, clusters: Sequence[object] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(the non-NaN values, their cluster index 0..k-1 in order of first appearance, or None)."""
    arr = np.asarray(values, dtype=float)
    keep = ~np.isnan(arr)
    if clusters is None:
        return arr[keep], None
    labels = list(clusters)
    if len(labels) != len(arr):
        raise ValueError(f"clusters need one label per value, got {len(labels)} for {len(arr)}")
    index: dict[object, int] = {}
    codes = [index.setdefault(label, len(index)) for label, kept in zip(labels, keep, strict=True) if kept]
    return arr[keep], np.array(codes, dtype=int)


def cluster_means(values: Values, clusters: Sequence[object]) -> np.ndarray:
    """The mean of each cluster's non-NaN values, clusters in order of first appearance."""
    v, codes = _clusters(values, clusters)
    assert codes is not None
    return np.bincount(codes, weights=v) / np.bincount(codes) if len(v) else v


def t_halfwidth(values: Values, level: float = 0.95, clusters: Sequence[object] | None = None) -> float:
    """Half-width of the Student-t interval of the mean; NaN with fewer than two values.

    With clusters (e.g. the ordering of each run, seeds nested in orderings) the interval is that of the
    per-cluster means, with k - 1 degrees of freedom for k clusters: repeated seeds of one ordering are not
    independent evidence about orderings.
    """
    v = _clean(values) if clusters is None else cluster_means(values, clusters)
    if len(v) < 2:
        return math.nan
    return t_critical(len(v) - 1, level) * float(v.std(ddof=1)) / math.sqrt(len(v))


def bootstrap_ci(values: Values, level: float = 0.95, samples: int = BOOTSTRAP_SAMPLES,
                 seed: int = BOOTSTRAP_SEED, clusters: Sequence[object] | None = None) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; NaNs with fewer than two values (or clusters).

    Without clusters the values are resampled with replacement. With clusters (one label per value, e.g.
    the ordering of each run) it is a cluster bootstrap: clusters are drawn with replacement and every value
    of a drawn cluster is taken, so the width reflects the number of clusters, not of values. With one value
    per cluster the two coincide draw for draw; with equal cluster sizes it equals the plain bootstrap of the
    cluster means.
    """
    v, codes = _clusters(values, clusters)
    if codes is None:
        sums, counts = v, np.ones(len(v))
    else:
        sums, counts = np.bincount(codes, weights=v), np.bincount(codes).astype(float)
    k = len(sums)
    if k < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, k, size=(samples, k))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def describe(values: Values, clusters: Sequence[object] | None = None) -> dict[str, float]:
    """n, mean, std (ddof 1), sem, t half-width (ci95), bootstrap interval (ci_low, ci_high), min, max.

    n, mean, std, min and max are over the values. With clusters (one label per value, e.g. the ordering
    of each run) sem, ci95 and the bootstrap interval are cluster-level: sem and ci95 from the per-cluster
    means (k - 1 degrees of freedom), the interval a cluster bootstrap; `clusters` is their number k.
    """
    v = _clean(values)
    n = len(v)
    std = float(v.std(ddof=1)) if n > 1 else math.nan
    low, high = bootstrap_ci(values, clusters=clusters)
    means = v if clusters is None else cluster_means(values, clusters)
    k = len(means)
    sem = float(means.std(ddof=1)) / math.sqrt(k) if k > 1 else math.nan
    return {"n": n, "clusters": k, "mean": float(v.mean()) if n else math.nan, "std": std, "sem": sem,
            "ci95": t_halfwidth(values, clusters=clusters), "ci_low": low, "ci_high": high,
            "min": float(v.min()) if n else math.nan, "max": float(v.max()) if n else math.nan}


@dataclass(frozen=True)
class Paired:
    """A paired comparison of a and b over matched runs: differences are a - b."""

    n: int
    clusters: int  # distinct cluster labels (orderings) among the pairs; n when none were given
    mean_diff: float
    ci_low: float  # bootstrap CI of the mean difference: over clusters when they were given
    ci_high: float
    a_higher: int  # a > b
    a_lower: int  # a < b
    ties: int
    sign_p: float  # exact two-sided binomial test on a_higher vs a_lower
    wilcoxon_p: float  # two-sided Wilcoxon signed-rank (exact for small n without ties)
    min_p: float  # the smallest two-sided p an exact signed-rank test can reach with n non-zero pairs


def sign_test(a_higher: int, a_lower: int) -> float:
    """Exact two-sided sign test; ties are left out beforehand, no decisive pair gives p = 1."""
    if a_higher + a_lower == 0:
        return 1.0
    return float(stats.binomtest(a_higher, a_higher + a_lower, 0.5).pvalue)


def wilcoxon_p(diffs: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p of the differences (zeros dropped); 1 when none is non-zero."""
    d = _clean(diffs)
    d = d[d != 0]
    if len(d) == 0:
        return 1.0
    return float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def paired(a: Sequence[float], b: Sequence[float], clusters: Sequence[object] | None = None) -> Paired:
    """Compare matched values a[i] vs b[i] (same ordering and seed): mean difference, CI, sign and Wilcoxon.

    clusters labels each pair (e.g. with its ordering when several seeds share one): the CI of the mean
    difference is then a cluster bootstrap over them. The tests count the pairs, treating the clusters as
    fixed blocks of the design (a Latin square of orderings), so a difference is only called distinguishable
    when the cluster-level CI agrees.
    """
    if len(a) != len(b) or (clusters is not None and len(clusters) != len(a)):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}"
                         + ("" if clusters is None else f" with {len(clusters)} cluster labels"))
    raw = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    keep = ~np.isnan(raw)
    diffs = raw[keep]
    labels = None if clusters is None else [c for c, k in zip(clusters, keep, strict=True) if k]
    a_higher, a_lower = int((diffs > 0).sum()), int((diffs < 0).sum())
    low, high = bootstrap_ci(diffs, clusters=labels)
    nonzero = a_higher + a_lower
    return Paired(n=len(diffs), clusters=len(diffs) if labels is None else len(set(labels)),
                  mean_diff=float(diffs.mean()) if len(diffs) else math.nan, ci_low=low,
                  ci_high=high, a_higher=a_higher, a_lower=a_lower, ties=len(diffs) - nonzero,
                  sign_p=sign_test(a_higher, a_lower),
                  wilcoxon_p=wilcoxon_p(diffs), min_p=min(1.0, 2 / 2**nonzero) if nonzero else 1.0)


def holm(pvalues: Values) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def variance_shares(values: Mapping[tuple[str, int], float]) -> dict[str, float]:
    """How much of the spread comes from the ordering and from the seed: shares of the total sum of squares.

    values maps (ordering, seed) -> metric. order_share is the between-orderings sum of squares over the
    total (one-way eta squared). When every ordering ran every seed (a balanced grid) seed_share is the
    between-seeds share and residual_share the interaction left over (the three add up to 1); otherwise
    seed_share is NaN and residual_share is everything within orderings.
    """
    keys = list(values)
    y = np.array([values[k] for k in keys], dtype=float)
    orders = sorted({o for o, _ in keys})
    seeds = sorted({s for _, s in keys})
    total = float(((y - y.mean()) ** 2).sum())
    out = {"n_orders": float(len(orders)), "n_seeds": float(len(seeds)), "total_ss": total,
           "order_share": math.nan, "seed_share": math.nan, "residual_share": math.nan}
    if total == 0.0 or len(keys) < 2:
        return out
    ss_order = _between(keys, y, 0)
    out["order_share"] = ss_order / total
    balanced = len(keys) == len(orders) * len(seeds)
    if balanced and len(seeds) > 1:
        out["seed_share"] = _between(keys, y, 1) / total
        out["residual_share"] = 1.0 - out["order_share"] - out["seed_share"]
    else:
        out["residual_share"] = 1.0 - out["order_share"]
    return out


def _between(keys: list[tuple[str, int]], y: np.ndarray, axis: int) -> float:
    """Between-groups sum of squares, grouping by key[axis]."""
    grand = y.mean()
    groups: dict[object, list[float]] = {}
    for key, value in zip(keys, y, strict=True):
        groups.setdefault(key[axis], []).append(float(value))
    return float(sum(len(g) * (np.mean(g) - grand) ** 2 for g in groups.values()))

"""Check the expected ACC ranking of approach families: joint >= replay family >= fine-tune."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

REPLAY_FAMILY = ("replay", "agem", "derpp")


@dataclass(frozen=True)
class OrderingCheck:
    holds: bool
    means: dict[str, float]  # mean metric per approach in the check, over all its runs
    failures: list[str]  # the comparisons that do not hold, e.g. "agem < finetune"

    def describe(self, metric: str = "acc") -> str:
        values = ", ".join(f"{a} {v:.4f}" for a, v in self.means.items())
        verdict = "holds" if self.holds else "does NOT hold (" + "; ".join(self.failures) + ")"
        return f"{metric.upper()} ordering joint >= replay family >= finetune {verdict}: {values}"


def family_ordering(runs: pd.DataFrame, metric: str = "acc", upper: str = "joint", lower: str = "finetune",
                    family: Sequence[str] = REPLAY_FAMILY) -> OrderingCheck | None:
    """Mean `metric` per approach; every family member present must lie between `lower` and `upper`.

    None when the runs lack the upper or lower bound or every family member.
    """
    means = pd.to_numeric(runs[metric], errors="coerce").groupby(runs["approach"]).mean()
    members = [a for a in family if a in means.index]
    if upper not in means.index or lower not in means.index or not members:
        return None
    failures = [f"{a} > {upper}" for a in members if means[a] > means[upper]]
    failures += [f"{a} < {lower}" for a in members if means[a] < means[lower]]
    shown = {a: float(means[a]) for a in [upper, *members, lower]}
    return OrderingCheck(not failures, shown, failures)

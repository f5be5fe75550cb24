"""The ACC family check: joint >= replay family >= fine-tune, on per-approach means over all runs."""

from __future__ import annotations

import pandas as pd
import pytest

from clsweep.analysis.ordering import family_ordering


def _runs(**accs: list[float]) -> pd.DataFrame:
    return pd.DataFrame([{"approach": a, "acc": v} for a, vs in accs.items() for v in vs])


def test_holds_on_means_across_orderings() -> None:
    check = family_ordering(_runs(joint=[0.9, 1.0], replay=[0.7, 0.9], agem=[0.6, 0.6], finetune=[0.5, 0.6],
                                  ewc=[0.1, 0.1]))
    assert check is not None and check.holds and check.failures == []
    assert check.means == pytest.approx({"joint": 0.95, "replay": 0.8, "agem": 0.6, "finetune": 0.55})
    assert "holds" in check.describe() and "ewc" not in check.describe()  # only the compared approaches


def test_names_every_comparison_that_fails() -> None:
    check = family_ordering(_runs(joint=[0.8], replay=[0.85], derpp=[0.4], finetune=[0.5]))
    assert check is not None and not check.holds
    assert check.failures == ["replay > joint", "derpp < finetune"]
    assert "does NOT hold (replay > joint; derpp < finetune)" in check.describe()


def test_ties_hold_and_missing_bounds_give_none() -> None:
    check = family_ordering(_runs(joint=[0.5], replay=[0.5], finetune=[0.5]))
    assert check is not None and check.holds
    assert family_ordering(_runs(joint=[0.9], replay=[0.8])) is None
    assert family_ordering(_runs(joint=[0.9], finetune=[0.5], ewc=[0.6])) is None

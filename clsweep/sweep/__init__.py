"""Ray-free sweep planning: task-ordering designs and the expansion of `search:` into trials."""

from clsweep.sweep.orderings import all_orders, order_key, random_orders, resolve_orderings, williams
from clsweep.sweep.plan import RunSpec, SweepPlan, TrialSpec, make_plan
from clsweep.sweep.space import apply_overrides

__all__ = ["RunSpec", "SweepPlan", "TrialSpec", "all_orders", "apply_overrides", "make_plan", "order_key",
           "random_orders", "resolve_orderings", "williams"]

"""Per-trial resources, checked against the live cluster before any trial is queued."""

from __future__ import annotations

import ray

from clsweep.sweep.resources import describe, trial_resources

__all__ = ["describe", "node_capacity", "trial_resources"]


def node_capacity() -> list[dict[str, float]]:
    """CPU and GPU totals of each alive node: a trial must fit on one node, not on the cluster's sum."""
    return [{"CPU": float(n["Resources"].get("CPU", 0)), "GPU": float(n["Resources"].get("GPU", 0))}
            for n in ray.nodes() if n.get("Alive")]

"""A sweep on a two-node local Ray cluster whose second node is removed mid-sweep (run by test_multinode.py).

Usage: python multinode_sweep.py WORKDIR CACHE_DIR. Prints one JSON line with what happened.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import ray
from conftest import _sweep_raw
from faults import NodeMarker
from ray.cluster_utils import Cluster

from clsweep.errors import Sources
from clsweep.loading import validate
from clsweep.sweep.plan import make_plan
from clsweep.tune.launcher import SweepOptions, experiment_dir, run_sweep

MB = 1024**2


def _remove_when_busy(cluster: Cluster, node: object, node_id: str, marks: Path, removed: dict[str, float]) -> None:
    """Pull the worker node once a trial on it has finished a task (so a checkpoint of it exists)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if any(p.name.startswith(node_id) and not p.name.endswith("-0") for p in marks.iterdir()):
            cluster.remove_node(node)
            removed["at"] = time.monotonic()
            return
        time.sleep(0.2)


def main() -> None:
    work, cache = Path(sys.argv[1]), Path(sys.argv[2])
    marks = work / "marks"
    marks.mkdir()
    fast_failure = {"health_check_period_ms": 500, "health_check_failure_threshold": 3}
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False, "object_store_memory": 100 * MB, "_system_config": fast_failure})
    worker = cluster.add_node(num_cpus=1, object_store_memory=100 * MB)
    here = str(Path(__file__).parent)
    ray.init(address=cluster.address, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": here}})
    cluster.wait_for_nodes()
    raw = _sweep_raw(cache, work / "runs", orderings="given", seeds=[0, 1])  # one trial per node
    raw["run"]["max_failures"] = 3
    cfg = validate(raw, Sources(str(work / "exp.yaml"), None), work)
    removed: dict[str, float] = {}
    watcher = threading.Thread(target=_remove_when_busy, args=(cluster, worker, worker.node_id, marks, removed),
                               daemon=True)
    watcher.start()
    opts = SweepOptions(name="multinode", file=str(work / "exp.yaml"), log=lambda m: None,
                        extra_callbacks=lambda i: [NodeMarker(marks, pause_s=0.05)])
    code = run_sweep(cfg, make_plan(cfg), None, opts)
    exp = experiment_dir(cfg, "multinode")
    results = [p for p in exp.glob("*/run-*/result.json")]
    nodes = sorted({p.name.split("-")[0] for p in marks.iterdir()})
    print(json.dumps({"code": code, "results": len(results), "removed": bool(removed), "nodes": len(nodes),
                      "alive": sum(n["Alive"] for n in ray.nodes()), "worker": worker.node_id,
                      "marks": sorted(p.name for p in marks.iterdir()),
                      "status": json.loads((exp / "sweep.json").read_text())}))
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main()

"""Per-trial resources checked against node capacities (a live Ray cluster's, or this machine's): Ray-free."""

from __future__ import annotations

from typing import Any

from clsweep.config import ResourcesConfig
from clsweep.errors import ConfigError


def trial_resources(res: ResourcesConfig, nodes: list[dict[str, float]], file: str = "<config>") -> dict[str, float]:
    """{"cpu": c, "gpu": g} for `tune.with_resources`; a request no node can meet is a ConfigError.

    Ray would otherwise leave such trials PENDING forever with only a warning.
    """
    max_gpu = max((n["GPU"] for n in nodes), default=0.0)
    max_cpu = max((n["CPU"] for n in nodes), default=0.0)
    gpu = (1.0 if max_gpu >= 1 else 0.0) if res.gpu == "auto" else float(res.gpu)
    if gpu > 1 and not gpu.is_integer():
        raise ConfigError.one(file, "resources.gpu", f"{gpu} GPUs: above 1 a trial takes whole GPUs; use 1, 2, ... "
                              "or a fraction below 1 such as 0.5")
    if gpu > max_gpu:
        have = "no GPU" if max_gpu == 0 else f"at most {max_gpu:g} GPU(s) per node"
        raise ConfigError.one(file, "resources.gpu", f"each trial asks for {gpu:g} GPU(s) but the cluster has {have}; "
                              "use gpu: 0, a fraction such as 0.25, or gpu: auto")
    if res.cpu > max_cpu:
        raise ConfigError.one(file, "resources.cpu", f"each trial asks for {res.cpu:g} CPUs but the largest node "
                              f"has {max_cpu:g}; ask for at most {max_cpu:g}")
    return {"cpu": res.cpu, "gpu": gpu}


def describe(resources: dict[str, float], nodes: list[dict[str, Any]]) -> str:
    cpus = sum(n["CPU"] for n in nodes)
    gpus = sum(n["GPU"] for n in nodes)
    per = min(cpus / resources["cpu"], gpus / resources["gpu"]) if resources["gpu"] else cpus / resources["cpu"]
    return (f"cluster: {len(nodes)} node(s), {cpus:g} CPU, {gpus:g} GPU; per trial {resources['cpu']:g} CPU, "
            f"{resources['gpu']:g} GPU -> up to {int(per)} trial(s) at once")

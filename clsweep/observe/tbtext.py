"""Plain renderings for TensorBoard: dataset facts as a markdown table, a run's hyperparameters as a flat dict."""

from __future__ import annotations

from typing import Any

HPARAM_ROOTS = ("approach", "train", "model", "eval")


def stats_markdown(task: str, stats: dict[str, Any]) -> str:
    """One table per task: a row per split with size, label counts and token-length facts."""
    lines = [f"**{task}**: {stats.get('num_labels', '?')} labels, max_length {stats.get('max_length', '?')}"
             + (f", carved from train: {', '.join(stats['carved'])}" if stats.get("carved") else ""), "",
             "| split | size | labels | length p50 / p90 / p95 / p99 / max | truncated | mean words |",
             "|---|---|---|---|---|---|"]
    for split, sp in stats.get("splits", {}).items():
        ln = sp["length"]
        labels = ", ".join(f"{k}: {v}" for k, v in sp["labels"].items())
        lengths = " / ".join(str(ln[k]) for k in ("p50", "p90", "p95", "p99", "max"))
        lines.append(f"| {split} | {sp['size']} | {labels} | {lengths} | {ln['truncated']:.1%} | {sp['mean_words']} |")
    return "\n".join(lines)


def flat_hparams(result: dict[str, Any]) -> dict[str, Any]:
    """The run's settings as scalar hyperparameters (dotted keys), plus its order and seed."""
    out: dict[str, Any] = {"order": " > ".join(result["order"]), "seed": result["seed"],
                           "approach": result["approach"]}
    config = result.get("config", {})
    for root in HPARAM_ROOTS:
        _flatten(config.get(root, {}), root, out)
    return out


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{path}.{k}", out)
    elif isinstance(value, bool | int | float | str):
        out[path] = value
    elif value is not None:  # lists and the like: compared as text
        out[path] = str(value)

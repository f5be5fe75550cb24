"""JSON-able dataset statistics of a task (sizes, labels, token lengths) and their one-line summary."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

PERCENTILES = (50, 90, 95, 99)


def percentile(values: list[int], p: float) -> int:
    """Nearest-rank percentile: always a length that occurs, and easy to check by hand."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def length_stats(lengths: list[int], max_length: int) -> dict[str, Any]:
    """Percentiles of token lengths measured before truncation, and the share cut by `max_length`."""
    out: dict[str, Any] = {f"p{p}": percentile(lengths, p) for p in PERCENTILES}
    out["max"] = max(lengths, default=0)
    out["truncated"] = sum(n > max_length for n in lengths) / len(lengths) if lengths else 0.0
    return out


def label_counts(labels: list[Any], names: list[str], token: bool) -> dict[str, int]:
    """Label name -> count in `names` order (zeros kept, so a label missing from a split shows)."""
    counts = Counter(v for row in labels for v in row) if token else Counter(labels)
    return {n: counts.get(n, 0) for n in names}


def mean_words(texts: list[Any], pairs: list[str] | None) -> float:
    if not texts:
        return 0.0
    total = sum(len(t) if isinstance(t, list) else len(t.split()) for t in texts)
    total += sum(len(p.split()) for p in pairs or [])
    return round(total / len(texts), 2)


def split_stats(texts: list[Any], pairs: list[str] | None, labels: list[Any], names: list[str], token: bool,
                lengths: list[int], max_length: int) -> dict[str, Any]:
    return {
        "size": len(texts),
        "labels": label_counts(labels, names, token),
        "length": length_stats(lengths, max_length),
        "mean_words": mean_words(texts, pairs),
    }


def shared_inputs(inputs: dict[str, tuple[list[Any], list[str] | None]]) -> dict[str, int]:
    """How many dev and test rows have exactly the input (text, and pair) of a row of an earlier split: a model
    that memorised train scores those rows without generalising, so a reader wants the count next to a score."""

    def keys(split: str) -> list[tuple[str, str | None]]:
        texts, pairs = inputs[split]
        flat = [" ".join(t) if isinstance(t, list) else t for t in texts]
        second: list[str | None] = list(pairs) if pairs else [None] * len(flat)
        return list(zip(flat, second, strict=True))

    train, dev, test = (keys(s) for s in ("train", "dev", "test"))
    seen_train, seen_dev = set(train), set(dev)
    return {"dev_in_train": sum(k in seen_train for k in dev), "test_in_train": sum(k in seen_train for k in test),
            "test_in_dev": sum(k in seen_dev for k in test)}


def task_stats(splits: dict[str, dict[str, Any]], carved: dict[str, str], max_length: int,
               num_labels: int) -> dict[str, Any]:
    """`carved` lists the splits carved from another; `carved_from` says which (dev may come from test)."""
    return {"splits": splits, "carved": list(carved), "carved_from": dict(carved), "max_length": max_length,
            "num_labels": num_labels}


def summary(name: str, task_type: str, stats: dict[str, Any]) -> str:
    """e.g. `task ner (token, 7 labels): 480/60/60 train/dev/test; train length p50 14 p95 22 max 31 ...`"""
    sp = stats["splits"]
    sizes = "/".join(str(sp[s]["size"]) for s in ("train", "dev", "test"))
    ln = sp["train"]["length"]
    line = (f"task {name} ({task_type}, {stats['num_labels']} labels): {sizes} train/dev/test; "
            f"train length p50 {ln['p50']} p95 {ln['p95']} max {ln['max']}, "
            f"{ln['truncated']:.1%} over max_length {stats['max_length']}")
    line += "; train labels " + label_shares(sp["train"]["labels"])
    origins = stats.get("carved_from") or dict.fromkeys(stats["carved"], "train")  # older cache entries
    for origin in dict.fromkeys(origins.values()):
        line += f"; carved from {origin}: {', '.join(s for s, o in origins.items() if o == origin)}"
    shared = {k: n for k, n in (stats.get("shared_inputs") or {}).items() if n}  # absent in older cache entries
    if shared:
        line += "; same input in two splits: " + ", ".join(
            f"{n} {k.replace('_in_', ' row(s) in ')}" for k, n in shared.items())
    empty = stats.get("empty_text")
    if empty:
        done = "dropped" if empty["policy"] == "drop" else 'read as ""'
        line += f"; empty text {done} in " + ", ".join(f"{n} {s} row(s)" for s, n in empty["rows"].items())
    return line


def label_shares(counts: dict[str, int], top: int = 8) -> str:
    """`arts 26%, sports 25%, ...`: the most frequent labels first, the rest counted, not listed."""
    total = sum(counts.values()) or 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{k} {v / total:.0%}" for k, v in ranked[:top])
    return text + (f" (+{len(ranked) - top} more)" if len(ranked) > top else "")

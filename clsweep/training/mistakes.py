"""Misclassified examples of one evaluation stage: bounded records, complete counts, and forgetting events.

A stage is one evaluation of every task: stage 0 before training, stage k after the k-th task. An example
is newly wrong when it was right at the previous stage and is wrong now: after learning task k, the newly
wrong examples of earlier tasks are its forgetting events. Correctness travels between stages (and through
checkpoints) as a compact hex bitmask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class StageMistakes:
    records: list[dict[str, Any]]  # at most `keep`: newly wrong first, then the rest, each in dataset order
    counts: dict[str, Any]  # complete, whatever `keep` is
    correct: str  # bitmask of correct examples, for the next stage


def pack(correct: Sequence[bool]) -> str:
    """Bit i (from the left, like the dataset) = example i is correct."""
    if not correct:
        return ""
    return format(int("".join("1" if c else "0" for c in correct), 2), f"0{(len(correct) + 3) // 4}x")


def unpack(mask: str, n: int) -> list[bool]:
    if n == 0:
        return []
    bits = format(int(mask, 16), "b").zfill(n)[-n:]
    return [b == "1" for b in bits]


def stage_mistakes(task: str, task_type: str, split: str, texts: Sequence[str], truth: Sequence[Any],
                   preds: Sequence[Any], confidence: Sequence[float], previous: str | None, stage: int,
                   after: str | None, keep: int) -> StageMistakes:
    """Compare predictions with gold labels (a token-task example is right when every word's tag is)."""
    n = len(truth)
    correct = [t == p for t, p in zip(truth, preds, strict=True)]
    before = unpack(previous, n) if previous is not None else None
    newly = [bool(before and before[i] and not correct[i]) for i in range(n)]
    fixed = sum(bool(before and not before[i] and correct[i]) for i in range(n))
    wrong = [i for i in range(n) if not correct[i]]
    chosen = ([i for i in wrong if newly[i]] + [i for i in wrong if not newly[i]])[:keep]
    records = [_record(task, task_type, split, stage, after, i, texts[i], truth[i], preds[i], confidence[i],
                       newly[i]) for i in chosen]
    counts = {"stage": stage, "after": after, "split": split, "total": n, "wrong": len(wrong),
              "newly_wrong": sum(newly), "fixed": fixed, "written": len(records)}
    return StageMistakes(records, counts, pack(correct))


def _record(task: str, task_type: str, split: str, stage: int, after: str | None, index: int, text: str,
            gold: Any, pred: Any, confidence: float, newly_wrong: bool) -> dict[str, Any]:
    rec = {"task": task, "split": split, "stage": stage, "after": after, "index": index, "text": text,
           "gold": gold, "pred": pred, "confidence": round(float(confidence), 6), "newly_wrong": newly_wrong}
    if task_type == "token":
        rec.update(wrong_spans(text.split(" "), gold, pred))
    return rec


def wrong_spans(words: Sequence[str], gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Entity spans that differ (missed, spurious or mistyped) and the sentence with them [bracketed]."""
    from seqeval.metrics.sequence_labeling import get_entities  # lazy: seqeval pulls in sklearn

    g = {(s, e): t for t, s, e in get_entities(list(gold))}
    p = {(s, e): t for t, s, e in get_entities(list(pred))}
    spans = [{"start": s, "end": e + 1, "words": " ".join(words[s : e + 1]), "gold": g.get((s, e)),
              "pred": p.get((s, e))} for s, e in sorted(set(g) | set(p)) if g.get((s, e)) != p.get((s, e))]
    return {"wrong_spans": spans, "marked": _mark(words, spans)}


def _mark(words: Sequence[str], spans: list[dict[str, Any]]) -> str:
    out = list(words)
    # Right to left, so earlier indices stay valid; overlapping spans nest their brackets.
    for sp in sorted(spans, key=lambda s: (s["start"], s["end"]), reverse=True):
        s, e = sp["start"], min(sp["end"], len(out)) - 1
        if s > e:
            continue
        out[s] = "[" + out[s]
        out[e] = f"{out[e]}]{{gold={sp['gold'] or 'O'} pred={sp['pred'] or 'O'}}}"
    return " ".join(out)

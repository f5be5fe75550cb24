"""Tokenize a task's splits with a fast tokenizer, aligning token-task tags to each word's first sub-token."""

from __future__ import annotations

from typing import Any

from clsweep.tasks.columns import RawSplit

IGNORE = -100
_CHUNK = 2048  # examples per batched tokenizer call: fast, with bounded memory


def _call(tokenizer: Any, first: list[Any], second: list[str] | None, words: bool,
          max_length: int | None) -> Any:
    kwargs: dict[str, Any] = {"is_split_into_words": words, "verbose": False}
    kwargs.update({"truncation": True, "max_length": max_length} if max_length else {"truncation": False})
    return tokenizer(first, second, **kwargs) if second is not None else tokenizer(first, **kwargs)


def align_tags(word_ids: list[int | None], tags: list[int]) -> list[int]:
    """The tag of each word on its first sub-token; IGNORE on specials and later sub-tokens."""
    out = []
    prev = None
    for w in word_ids:
        out.append(IGNORE if w is None or w == prev else tags[w])
        prev = w
    return out


def _encode_chunk(tokenizer: Any, raw: RawSplit, labels: list[Any], start: int, stop: int, token: bool,
                  max_length: int, out: dict[str, Any]) -> None:
    first = raw.texts[start:stop]
    second = raw.pairs[start:stop] if raw.pairs is not None else None
    # Measure once without truncation (for the statistics); only the too-long examples need a second call.
    full = _call(tokenizer, first, second, token, None)
    lengths = [len(ids) for ids in full["input_ids"]]
    long = [i for i, n in enumerate(lengths) if n > max_length]
    cut: Any = None
    if long:
        cut = _call(tokenizer, [first[i] for i in long], [second[i] for i in long] if second else None,
                    token, max_length)
    where = {i: j for j, i in enumerate(long)}
    for i in range(len(first)):
        enc, k = (cut, where[i]) if i in where else (full, i)
        out["input_ids"].append(enc["input_ids"][k])
        if out["token_type_ids"] is not None:
            out["token_type_ids"].append(enc["token_type_ids"][k])
        out["labels"].append(align_tags(enc.word_ids(k), labels[start + i]) if token else labels[start + i])
    out["lengths"].extend(lengths)


def encode_split(tokenizer: Any, raw: RawSplit, labels: list[Any], token: bool, max_length: int) -> dict[str, Any]:
    """input_ids, token_type_ids (None when the tokenizer has none), labels, and pre-truncation lengths."""
    if token and not getattr(tokenizer, "is_fast", False):
        raise ValueError("token tasks need a fast tokenizer (word_ids() aligns tags to sub-tokens)")
    probe = _call(tokenizer, raw.texts[:1], raw.pairs[:1] if raw.pairs is not None else None, token, None)
    out: dict[str, Any] = {"input_ids": [], "token_type_ids": [] if "token_type_ids" in probe else None,
                           "labels": [], "lengths": []}
    for start in range(0, len(raw), _CHUNK):
        _encode_chunk(tokenizer, raw, labels, start, min(start + _CHUNK, len(raw)), token, max_length, out)
    return out


def display_texts(raw: RawSplit, token: bool) -> list[str]:
    if token:
        return [" ".join(words) for words in raw.texts]
    if raw.pairs is not None:
        return [f"{a} [SEP] {b}" for a, b in zip(raw.texts, raw.pairs, strict=True)]
    return list(raw.texts)

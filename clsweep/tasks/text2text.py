"""Tokenize text-to-text tasks: the rendered prompt as input, the target (a label name or free text) plus EOS.

The prompt keeps its instruction, options and answer prefix whole: a prompt over `max_length` loses the end of
its text (of the longer part first, for a pair), never the "Answer:" the model continues from. Targets are
stored without padding; the model lays prompt and target out as its architecture needs (encoder input and
decoder labels, or one causal sequence).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clsweep.tasks.columns import RawSplit
from clsweep.tasks.spec import TaskSpec

NO_LABEL = -1  # the class id of a free-text example


class PromptTooLong(ValueError):
    """The template alone (instruction, options, answer prefix) leaves no room for the text."""

    def __init__(self, tokens: int) -> None:
        super().__init__(f"the template without the text takes {tokens} tokens")
        self.tokens = tokens


def normalize(text: str) -> str:
    """How generated and gold strings are compared: case and runs of whitespace do not count."""
    return " ".join(text.lower().split())


def label_forms(tokenizer: Any, labels: Sequence[str]) -> list[str]:
    """Each label as the model can write it: encoded, decoded and normalized (tokenizers lowercase, split
    punctuation ...); generated text is scored against these."""
    return [normalize(tokenizer.decode(_ids(tokenizer, name), skip_special_tokens=True)) for name in labels]


def label_problems(tokenizer: Any, labels: Sequence[str]) -> list[str]:
    """Why some labels cannot be generated and told apart: unknown tokens, or two labels written alike."""
    problems = []
    unk = getattr(tokenizer, "unk_token_id", None)
    for name in labels:
        ids = _ids(tokenizer, name)
        if not ids or (unk is not None and unk in ids):
            problems.append(f"label '{name}' encodes to {ids}: the tokenizer cannot produce it")
    forms = label_forms(tokenizer, labels)
    for i, form in enumerate(forms):
        j = forms.index(form)
        if j < i:
            problems.append(f"labels '{labels[j]}' and '{labels[i]}' both decode to '{form}'")
    return problems


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def render(spec: TaskSpec, raw: RawSplit, options: list[str]) -> list[str]:
    t = spec.prompt
    if raw.pairs is None:
        return [t.render(x, options) for x in raw.texts]
    if t.uses_pair():
        return [t.render(x, options, y) for x, y in zip(raw.texts, raw.pairs, strict=True)]
    return [t.render(f"{x}\n{y}", options) for x, y in zip(raw.texts, raw.pairs, strict=True)]


def _fit(tokenizer: Any, spec: TaskSpec, raw: RawSplit, i: int, options: list[str], max_length: int) -> list[int]:
    """The prompt of row i with its text (and pair) cut so the whole prompt fits in `max_length` tokens. A pair
    is cut longest first, as tokenizers cut sentence pairs, and each part stays in its own slot."""
    pair = None if raw.pairs is None else raw.pairs[i]
    single = RawSplit([""], None if pair is None else [""], [None])
    frame = len(tokenizer(render(spec, single, options)[0], verbose=False)["input_ids"])
    if frame >= max_length:
        raise PromptTooLong(frame)
    text = _ids(tokenizer, raw.texts[i])
    if pair is None:
        kept = RawSplit([tokenizer.decode(text[: max_length - frame])], None, [None])
    else:
        second = _ids(tokenizer, pair)
        a, b = _longest_first(len(text), len(second), max_length - frame)
        kept = RawSplit([tokenizer.decode(text[:a])], [tokenizer.decode(second[:b])], [None])
    ids = list(tokenizer(render(spec, kept, options)[0], verbose=False)["input_ids"])
    return ids[:max_length]  # re-tokenizing the cut text can merge differently; never go over


def _longest_first(a: int, b: int, budget: int) -> tuple[int, int]:
    """How many tokens of each part to keep: tokens come off the longer part until both fit."""
    while a + b > budget:
        if a >= b:
            a -= 1
        else:
            b -= 1
    return a, b


def encode_text2text(tokenizer: Any, spec: TaskSpec, raw: RawSplit, classes: list[int], options: list[str],
                     max_length: int) -> dict[str, Any]:
    """input_ids (prompts), labels (class ids, NO_LABEL for free text), targets (ids + EOS) and prompt lengths."""
    prompts = render(spec, raw, options)
    enc = tokenizer(prompts, verbose=False)["input_ids"]
    lengths = [len(x) for x in enc]
    ids = [list(x) if len(x) <= max_length else _fit(tokenizer, spec, raw, i, options, max_length)
           for i, x in enumerate(enc)]
    golds = raw.labels  # label names, or the free-text targets
    target_ids = tokenizer([str(g) for g in golds], add_special_tokens=False, verbose=False)["input_ids"]
    cap = spec.max_target_length
    eos = int(tokenizer.eos_token_id)
    targets = [(list(t) if cap is None else list(t)[: cap - 1]) + [eos] for t in target_ids]
    return {"input_ids": ids, "token_type_ids": None, "labels": classes, "targets": targets, "lengths": lengths}

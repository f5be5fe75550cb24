"""The built-in synthetic suite: seeded tasks over one shared vocabulary, built so that tasks interfere.

Every task reads the same small pool of signal words but groups them differently (its own seeded
partition), inside filler words shared by all tasks. A backbone that learns one grouping has to
reorganise the same word representations for the next, which is exactly the interference continual
learning studies, while each task alone is an easy bag-of-words problem a tiny model learns quickly.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clsweep.registry import Registry

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
N_SIGNAL, N_FILLER, N_SUFFIX = 36, 160, 6


def _make_vocabulary() -> tuple[list[str], list[str], list[str]]:
    # Fixed seed: the vocabulary (and so the tiny tokenizer) never depends on a task's seed.
    rng = random.Random(20261125)
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < N_SIGNAL + N_FILLER + N_SUFFIX:
        w = "".join(rng.choice(syllables) for _ in range(2))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words[:N_SIGNAL], words[N_SIGNAL : N_SIGNAL + N_FILLER], words[N_SIGNAL + N_FILLER :]


SIGNAL_WORDS, FILLER_WORDS, SUFFIX_WORDS = _make_vocabulary()
VOCABULARY: list[str] = SIGNAL_WORDS + FILLER_WORDS + SUFFIX_WORDS


@dataclass(frozen=True)
class SyntheticTask:
    """How one synthetic task looks: its type, label names and the example generator."""

    name: str
    type: str  # "sequence" or "token"
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    make: Callable[[random.Random, list[list[str]]], dict[str, Any]]
    partition_seed: int
    pair: bool = False


SYNTHETIC_TASKS: Registry[SyntheticTask] = Registry("synthetic task")


def _partition(seed: int, groups: int) -> list[list[str]]:
    """A task's own grouping of the shared signal words."""
    words = list(SIGNAL_WORDS)
    random.Random(seed).shuffle(words)
    return [words[i::groups] for i in range(groups)]


def _sentence(rng: random.Random, signal: list[str]) -> list[str]:
    words = [rng.choice(FILLER_WORDS) for _ in range(rng.randint(6, 12))]
    for w in signal:
        words.insert(rng.randint(0, len(words)), w)
    return words


def _classify(labels: tuple[str, ...]) -> Callable[[random.Random, list[list[str]]], dict[str, Any]]:
    def make(rng: random.Random, groups: list[list[str]]) -> dict[str, Any]:
        y = rng.randrange(len(labels))
        signal = rng.sample(groups[y], rng.randint(2, 3))
        return {"text": " ".join(_sentence(rng, signal)), "label": labels[y]}

    return make


def _pair(rng: random.Random, groups: list[list[str]]) -> dict[str, Any]:
    # The label is the group of the signal words in the SECOND sentence; the first carries signal
    # words of every group as distractors, so the model must tell the two segments apart.
    y = rng.randrange(len(groups))
    premise = _sentence(rng, rng.sample(SIGNAL_WORDS, 3))
    hypothesis = _sentence(rng, rng.sample(groups[y], 2))
    return {"text": " ".join(premise), "text_pair": " ".join(hypothesis), "label": y}


_ENTITY_TYPES = ("PER", "LOC", "ORG")


def _ner(rng: random.Random, groups: list[list[str]]) -> dict[str, Any]:
    # An entity is a signal word of its type's group, optionally followed by one of that type's two
    # reserved suffix words (tagged I-). The fourth group is a decoy: signal words that are O here.
    tokens = [rng.choice(FILLER_WORDS) for _ in range(rng.randint(6, 12))]
    tags = ["O"] * len(tokens)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(len(_ENTITY_TYPES))
        span = [rng.choice(groups[kind])]
        if rng.random() < 0.4:
            span.append(SUFFIX_WORDS[2 * kind + rng.randrange(2)])
        at = rng.randint(0, len(tokens))
        tokens[at:at] = span
        tags[at:at] = [("B-" if i == 0 else "I-") + _ENTITY_TYPES[kind] for i in range(len(span))]
    decoy = rng.randint(0, len(tokens))
    tokens.insert(decoy, rng.choice(groups[3]))
    tags.insert(decoy, "O")
    return {"tokens": tokens, "tags": tags}


def _corpus(rng: random.Random, groups: list[list[str]]) -> dict[str, Any]:
    # Raw text for masked-LM pre-training: runs of a group's signal words in a fixed cyclic order among
    # a few fillers, so a masked signal word is predictable from its neighbours (fillers are not).
    words = [rng.choice(FILLER_WORDS) for _ in range(rng.randint(2, 4))]
    for _ in range(2):
        group = rng.choice(groups)
        start = rng.randrange(len(group))
        run = [group[(start + k) % len(group)] for k in range(4)]
        at = rng.randint(0, len(words))
        words[at:at] = run
    return {"text": " ".join(words)}


def _register(task: SyntheticTask) -> None:
    SYNTHETIC_TASKS.add(task.name, task)


_register(SyntheticTask("topic", "sequence", ("arts", "science", "sports", "travel"), ("text", "label"),
                        _classify(("arts", "science", "sports", "travel")), partition_seed=1))
_register(SyntheticTask("sentiment", "sequence", ("negative", "positive"), ("text", "label"),
                        _classify(("negative", "positive")), partition_seed=2))
_register(SyntheticTask("intent", "sequence", ("ask", "book", "cancel"), ("text", "label"),
                        _classify(("ask", "book", "cancel")), partition_seed=3))
_register(SyntheticTask("register", "sequence", ("casual", "formal"), ("text", "label"),
                        _classify(("casual", "formal")), partition_seed=4))
_register(SyntheticTask("pair", "sequence", ("0", "1"), ("text", "text_pair", "label"),
                        _pair, partition_seed=5, pair=True))
_register(SyntheticTask("ner", "token", ("B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER", "O"),
                        ("tokens", "tags"), _ner, partition_seed=6))

_register(SyntheticTask("corpus", "mlm", (), ("text",), _corpus, partition_seed=7))

_GROUPS = {"topic": 4, "sentiment": 2, "intent": 3, "register": 2, "pair": 2, "ner": 4, "corpus": 6}


def generate(task: str, n: int, seed: int, split: str) -> dict[str, list[Any]]:
    """`n` examples of `task` as columns; each split draws from its own seeded stream."""
    spec = SYNTHETIC_TASKS.get(task)
    groups = _partition(spec.partition_seed, _GROUPS[task])
    rng = random.Random(f"{task}/{split}/{seed}")
    rows = [spec.make(rng, groups) for _ in range(n)]
    return {c: [r[c] for r in rows] for c in spec.columns}

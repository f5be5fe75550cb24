"""Tiny local stand-ins for hub datasets, with each dataset's exact column names and label format."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

# (hub id, config) -> columns: "text", "int"/"sid" (an id, int or string), ("class", n) a ClassLabel id,
# ("int", n) a plain int label, ("tags", n) a list of ClassLabel ids (BIO: odd ids are B- tags, the id
# after each is its I- tag), "tokens", "dict".
# Written from the datasets' cards; the tests check the tasklists against this, not against themselves.
HUB: dict[tuple[str, str | None], dict[str, Any]] = {
    ("fancyzhx/ag_news", None): {"text": "text", "label": ("class", 4)},
    ("Yelp/yelp_review_full", None): {"label": ("class", 5), "text": "text"},
    ("mteb/AmazonReviewsClassification", "en"): {"text": "text", "label": ("int", 5)},
    ("fancyzhx/dbpedia_14", None): {"label": ("class", 14), "title": "text", "content": "text"},
    ("community-datasets/yahoo_answers_topics", None): {
        "id": "int", "topic": ("class", 10), "question_title": "text", "question_content": "text",
        "best_answer": "text"},
    ("nyu-mll/glue", "mnli"): {"premise": "text", "hypothesis": "text", "label": ("class", 3), "idx": "int"},
    ("nyu-mll/glue", "qqp"): {"question1": "text", "question2": "text", "label": ("class", 2), "idx": "int"},
    ("nyu-mll/glue", "rte"): {"sentence1": "text", "sentence2": "text", "label": ("class", 2), "idx": "int"},
    ("nyu-mll/glue", "sst2"): {"sentence": "text", "label": ("class", 2), "idx": "int"},
    ("aps/super_glue", "cb"): {"premise": "text", "hypothesis": "text", "idx": "int", "label": ("class", 3)},
    ("aps/super_glue", "wic"): {"word": "text", "sentence1": "text", "sentence2": "text", "start1": "int",
                                "start2": "int", "end1": "int", "end2": "int", "idx": "int", "label": ("class", 2)},
    ("aps/super_glue", "copa"): {"premise": "text", "choice1": "text", "choice2": "text", "question": "text",
                                 "idx": "int", "label": ("class", 2)},
    ("aps/super_glue", "boolq"): {"question": "text", "passage": "text", "idx": "int", "label": ("class", 2)},
    ("aps/super_glue", "multirc"): {"paragraph": "text", "question": "text", "answer": "text", "idx": "dict",
                                    "label": ("class", 2)},
    ("stanfordnlp/imdb", None): {"text": "text", "label": ("class", 2)},
    ("clinc/clinc_oos", "plus"): {"text": "text", "intent": ("class", 151)},
    ("lhoestq/conll2003", None): {"id": "sid", "tokens": "tokens", "pos_tags": ("tags", 47),
                                  "chunk_tags": ("tags", 23), "ner_tags": ("tags", 9)},
    ("leondz/wnut_17", None): {"id": "sid", "tokens": "tokens", "ner_tags": ("tags", 13)},
    ("unimelb-nlp/wikiann", "en"): {"tokens": "tokens", "ner_tags": ("tags", 7), "langs": "langs", "spans": "spans"},
}

WORDS = ["alpha", "beta", "gamma", "delta", "river", "stone", "cloud", "paper", "music", "engine", "market",
         "player", "forest", "doctor"]


def _value(kind: Any, rng: random.Random, label: int, length: int) -> Any:
    if kind == "text":
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))
    if kind in ("int", "sid"):
        return rng.randint(0, 10_000) if kind == "int" else str(rng.randint(0, 10_000))
    if kind == "dict":
        return {"paragraph": rng.randint(0, 9), "question": rng.randint(0, 9), "answer": rng.randint(0, 9)}
    if kind == "tokens":
        return [rng.choice(WORDS).capitalize() for _ in range(length)]
    if kind in ("langs", "spans"):
        return ["en"] * length if kind == "langs" else []
    if kind[0] in ("class", "int"):
        return label % kind[1]
    return _tags(kind[1], rng, length)


def _tags(n: int, rng: random.Random, length: int) -> list[int]:
    tags = [0] * length
    i = rng.randrange(length)
    b = rng.choice(range(1, n - 1, 2)) if n > 2 else 1
    tags[i] = b
    if i + 1 < length:
        tags[i + 1] = b + 1  # a two-word entity: B- then its I- tag
    return tags


def rows(schema: dict[str, Any], n: int, seed: int) -> list[dict[str, Any]]:
    """`n` rows; class labels cycle through every class, so each split holds them all when n >= classes."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        length = rng.randint(3, 6)
        out.append({col: _value(kind, rng, i, length) for col, kind in schema.items()})
    return out


def write_split(folder: Path, split: str, schema: dict[str, Any], n: int, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{split}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows(schema, n, seed)), encoding="utf-8")
    return path


def classes(schema: dict[str, Any]) -> int:
    return max((k[1] for k in schema.values() if isinstance(k, tuple) and k[0] in ("class", "int")), default=4)

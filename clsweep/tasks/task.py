"""Prepared tasks: load, validate, label and tokenize every task of an experiment, cached on disk."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError, Sources
from clsweep.tasks import cache, mlm
from clsweep.tasks import labels as lab
from clsweep.tasks import sources as src
from clsweep.tasks import stats as st
from clsweep.tasks.columns import RawSplit, check_columns, extract, task_columns
from clsweep.tasks.errors import TaskErrors
from clsweep.tasks.spec import TaskSpec
from clsweep.tasks.text2text import PromptTooLong, encode_text2text, label_forms, label_problems
from clsweep.tasks.tokenize import display_texts, encode_split


@dataclass
class Split:
    """One tokenized split in memory as Python lists; the trainer pads per batch."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    labels: list[int] | list[list[int]]
    texts: list[str]
    targets: list[list[int]] | None = None  # text2text: the target's token ids and EOS (labels: class ids)

    def __len__(self) -> int:
        return len(self.input_ids)

    def to_json(self) -> dict[str, Any]:
        return {"input_ids": self.input_ids, "token_type_ids": self.token_type_ids, "labels": self.labels,
                "texts": self.texts, "targets": self.targets}


@dataclass
class Task:
    spec: TaskSpec
    labels: list[str]
    splits: dict[str, Split]
    stats: dict[str, Any] = field(default_factory=dict)
    num_classes: int | None = None  # mlm: the vocabulary size (its labels list stays empty)
    prepare_s: float = 0.0  # loading, checking and tokenizing (or reading the cache) in this process
    classes: list[int] | None = None  # on a union head: the ids of the task's own labels; None: every label
    forms: list[str] = field(default_factory=list)  # text2text: each label as the model writes it (normalized)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def type(self) -> str:
        return self.spec.type

    @property
    def num_labels(self) -> int:
        return self.num_classes if self.num_classes is not None else len(self.labels)

    @property
    def metric_names(self) -> list[str]:
        return self.spec.metric_names

    @property
    def head_name(self) -> str:
        return self.spec.head_name

    @property
    def max_new_tokens(self) -> int:
        """text2text: tokens generated at most: the configured cap, else the longest train target (EOS included)."""
        targets = self.splits["train"].targets or [[]]
        return self.spec.max_target_length or max(len(t) for t in targets)


@dataclass
class _Plan:
    """One task between validation and tokenization: either a cache hit or validated raw data."""

    spec: TaskSpec
    key: str
    dir: Path
    max_length: int
    labels: list[str]
    cached: tuple[dict[str, Any], dict[str, dict[str, Any]]] | None = None
    raw: dict[str, RawSplit] | None = None
    carved: dict[str, str] = field(default_factory=dict)  # split -> the split it was carved from
    emptied: dict[str, int] = field(default_factory=dict)  # per split read: rows `empty_text` filled or dropped


def prepare_tasks(cfg: ExperimentConfig, tokenizer: Any, sources: Sources | None = None,
                  cache_dir: str | Path | None = None, log: Callable[[str], None] = print,
                  cache_only: bool = False) -> dict[str, Task]:
    """Every task of the tasklist (in tasklist order), keyed by name; all data is checked before tokenizing.

    `cache_only` is for sweep trials: the driver tokenized everything, so a miss is a bug, not work to do.
    """
    root = (Path(cache_dir).expanduser() if cache_dir is not None
            else cache.default_cache_dir(cfg.run.cache_dir)).absolute()
    specs = list(cfg.tasklist.tasks.values())
    errs = {s.name: TaskErrors(sources, s.name) for s in specs}
    missing = [i for s in specs for i in src.missing_files(s, errs[s.name])]
    if missing:
        raise ConfigError(missing)
    for s in specs:
        if s.type == "mlm" and getattr(tokenizer, "mask_token_id", None) is None:
            raise errs[s.name].error("type", "mlm tasks need a tokenizer with a mask token; this one has none")
        if s.type == "text2text" and getattr(tokenizer, "eos_token_id", None) is None:
            raise errs[s.name].error("type", "text2text tasks need a tokenizer with an end-of-sequence token; "
                                             "this one has none (use a seq2seq or causal LM's tokenizer)")
    tok_fp = cache.tokenizer_fingerprint(tokenizer)
    plans, seconds = [], {}
    for s in specs:
        t0 = time.perf_counter()
        plans.append(_plan(s, s.max_length or cfg.model.max_length, tok_fp, root, errs[s.name], cache_only,
                           tokenizer))
        seconds[s.name] = time.perf_counter() - t0
    lab.check_shared_heads([(p.spec, p.labels) for p in plans], errs)
    tasks = {}
    for p in plans:
        t0 = time.perf_counter()
        tasks[p.spec.name] = _from_cache(p, log) if p.cached else _tokenize(p, tokenizer, log,
                                                                                       errs[p.spec.name])
        tasks[p.spec.name].prepare_s = seconds[p.spec.name] + time.perf_counter() - t0
        log(st.summary(p.spec.name, p.spec.type, tasks[p.spec.name].stats))
        if p.spec.type == "text2text" and not p.spec.free_text:
            tasks[p.spec.name].forms = label_forms(tokenizer, p.labels)
    _union_heads(tasks)
    return tasks


def _union_heads(tasks: dict[str, Task]) -> None:
    """Tasks with `label_space: union` on one head predict over the union of their labels (MbPA++'s one head)."""
    members = [(t.head_name, t.name, t.labels) for t in tasks.values() if t.spec.label_space == "union"]
    for head, union in lab.union_labels(members).items():
        for t in tasks.values():
            if t.spec.label_space == "union" and t.head_name == head and t.labels != union:
                for split in t.splits.values():
                    split.labels = lab.remap(split.labels, t.labels, union)
                t.classes = sorted(union.index(name) for name in t.labels)
                t.labels = union


def _plan(spec: TaskSpec, max_length: int, tok_fp: dict[str, Any], root: Path, err: TaskErrors,
          cache_only: bool = False, tokenizer: Any = None) -> _Plan:
    cols = task_columns(spec)
    files = src.file_fingerprint(src.source_files(spec))
    key = cache.cache_key(cache.spec_data(spec, cols), files, tok_fp, max_length)
    path = cache.entry_dir(root, spec.name, key)
    hit = cache.read_entry(path, key)
    if hit is not None:
        return _Plan(spec, key, path, max_length, list(hit[0]["labels"]), cached=hit)
    if cache_only:
        raise RuntimeError(f"task {spec.name}: no tokenization cache entry at {path}; data must be prepared first")
    splits, carved, emptied = src.load_splits(spec, err, root)
    check_columns(splits, cols, err)
    if spec.type == "mlm" or spec.free_text:
        return _Plan(spec, key, path, max_length, [], raw=extract(splits, cols, spec.type, err), carved=carved,
                     emptied=emptied)
    names = lab.dataset_names(spec, lab.class_names(splits["train"].features[cols.label]), err)
    token = spec.type == "token"
    values = extract(splits, cols, spec.type, err)
    labels = lab.resolve_labels(spec, values["train"], names)  # before str(): ints sort numerically
    raw = {s: lab.as_names(r, names, token, spec.label_map) for s, r in values.items()}
    lab.check_labels(spec, raw, labels, lab.label_origin(spec, names), err)
    if spec.type == "text2text":
        problems = label_problems(tokenizer, labels)
        if problems:
            raise err.error("labels", "; ".join(problems) + "; rename the labels with label_map")
    return _Plan(spec, key, path, max_length, labels, raw=raw, carved=carved, emptied=emptied)


def _from_cache(p: _Plan, log: Callable[[str], None]) -> Task:
    assert p.cached is not None
    meta, splits = p.cached
    log(f"task {p.spec.name}: using cached tokenization ({p.dir})")
    classes = int(meta["stats"]["num_labels"]) if p.spec.type == "mlm" else None
    return Task(p.spec, p.labels, {s: Split(**d) for s, d in splits.items()}, meta["stats"], classes)


def _tokenize(p: _Plan, tokenizer: Any, log: Callable[[str], None], err: TaskErrors) -> Task:
    assert p.raw is not None
    token = p.spec.type == "token"
    masking = mlm.masking_for(tokenizer) if p.spec.type == "mlm" else None
    splits: dict[str, Split] = {}
    split_stats = {}
    for name, raw in p.raw.items():
        if p.spec.type == "text2text":
            try:
                enc = _text2text(tokenizer, p, raw)
            except PromptTooLong as e:
                raise err.error(
                    "max_length", f"{p.max_length} tokens cannot hold the prompt: {e}; raise max_length above "
                                  f"{e.tokens} or shorten the template") from None
            splits[name] = Split(enc["input_ids"], None, enc["labels"], display_texts(raw, False), enc["targets"])
            split_stats[name] = st.split_stats(raw.texts, raw.pairs, [] if p.spec.free_text else raw.labels,
                                               p.labels, False, enc["lengths"], p.max_length)
            continue
        labels = raw.labels if masking else lab.encode(raw, p.labels, token)
        enc = encode_split(tokenizer, raw, labels, token, p.max_length)
        if masking is not None:  # the targets are masked tokens of the text itself
            enc["input_ids"], enc["labels"] = mlm.mask_split(enc["input_ids"], masking, f"{p.spec.name}/{name}")
        splits[name] = Split(enc["input_ids"], enc["token_type_ids"], enc["labels"], display_texts(raw, token))
        split_stats[name] = st.split_stats(raw.texts, raw.pairs, [] if masking else raw.labels, p.labels, token,
                                           enc["lengths"], p.max_length)
    classes = masking.vocab_size if masking else None
    stats = st.task_stats(split_stats, p.carved, p.max_length, classes or len(p.labels))
    stats["shared_inputs"] = st.shared_inputs({s: (raw.texts, raw.pairs) for s, raw in p.raw.items()})
    if p.spec.empty_text != "error":
        stats["empty_text"] = {"policy": p.spec.empty_text, "rows": p.emptied}
    cache.write_entry(p.dir, p.key, {"task": p.spec.name, "labels": p.labels, "stats": stats},
                      {s: sp.to_json() for s, sp in splits.items()})
    sizes = "/".join(str(len(splits[s])) for s in src.SPLITS)
    log(f"task {p.spec.name}: tokenized {sizes} train/dev/test examples -> cached at {p.dir}")
    return Task(p.spec, p.labels, splits, stats, classes)


def _text2text(tokenizer: Any, p: _Plan, raw: RawSplit) -> dict[str, Any]:
    if p.spec.free_text:
        raw = RawSplit(raw.texts, raw.pairs, [str(x) for x in raw.labels])
        return encode_text2text(tokenizer, p.spec, raw, [-1] * len(raw), [], p.max_length)
    classes = lab.encode(raw, p.labels, False)
    return encode_text2text(tokenizer, p.spec, raw, classes, p.labels, p.max_length)

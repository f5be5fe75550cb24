"""A short pre-training of the tiny generative LMs on unlabelled synthetic text, cached by its settings.

Adapters and prompts learn little on random features (as LoRA does on the random-init tiny BERT), so a tiny
LM can start from weights that have seen the synthetic vocabulary: each sentence of the synthetic corpus and
of the suite's texts (no labels), and as many strings of instruction and label words, is either copied or
cut at a random word and continued. The result is
keyed like a released checkpoint (architecture, size, tokenizer, pre-training settings, its own seed) and
stored under the cache directory, so every run, ordering and seed of a sweep starts from the same weights.
Those weights are a function of the key alone: the LM is initialised from the pre-training seed (not from
whatever state the caller's random generator is in) and trained on one CPU thread (float sums differ with
the thread count), so two machines with empty caches pre-train the same checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from clsweep.tasks.cache import tokenizer_fingerprint

VERSION = 4  # 3: copying, prompt words mixed in; 4: initialised from its own seed, on one thread
_SOURCES = ("corpus", "topic", "sentiment", "intent", "register")  # unlabelled text of the synthetic suite


def pretrained_path(model_cfg: Any, tokenizer: Any, root: Path) -> Path:
    key = {"version": VERSION, "backbone": model_cfg.backbone, "size": model_cfg.tiny.model_dump(),
           "max_length": model_cfg.max_length, "pretrain": model_cfg.pretrain.model_dump(),
           "tokenizer": tokenizer_fingerprint(tokenizer)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return root / "pretrained" / f"{model_cfg.backbone}-{digest}.safetensors"


def _texts(n: int, seed: int) -> list[str]:
    """Unlabelled synthetic sentences, and as many again of the instruction and label words (PROMPT_WORDS)
    around synthetic words, so that those words are ones the LM has learnt to write (no task's labels)."""
    from clsweep.models.tiny import PROMPT_WORDS
    from clsweep.tasks.synthetic import VOCABULARY, generate

    per = n // (2 * len(_SOURCES)) + 1
    texts = [t for name in _SOURCES for t in generate(name, per, seed, "pretrain")["text"]]
    rng = random.Random(seed)
    words = [rng.choice(PROMPT_WORDS if rng.random() < 0.5 else VOCABULARY) for _ in range(8 * n)]
    mixed = [" ".join(words[i : i + 8]) for i in range(0, 8 * n, 8)]
    out = [x for pair in zip(texts, mixed, strict=False) for x in pair]
    return out[:n]


def _batches(tokenizer: Any, cfg: Any, max_length: int) -> list[dict[str, torch.Tensor]]:
    """Every step's batch: a sentence's first words as the prompt, the rest (and EOS) as the target."""
    from clsweep.tasks.task import Split
    from clsweep.training.batching import collate

    rng = random.Random(cfg.seed)
    texts = _texts(cfg.steps * cfg.batch_size, cfg.seed)
    prompts, targets = [], []
    for t in texts:
        words = t.split()
        cut = rng.randint(1, max(1, len(words) - 1))
        # Half the examples copy the sentence, half continue it from a random cut: copying is what makes the
        # LM write any word confidently (its output scale grows), continuing what makes it read context.
        prompt, target = (t, t) if rng.random() < 0.5 else (" ".join(words[:cut]), " ".join(words[cut:]))
        prompts.append(tokenizer(prompt, truncation=True, max_length=max_length)["input_ids"])
        rest = tokenizer(target, add_special_tokens=False)["input_ids"][: max_length - 1]
        targets.append([*rest, tokenizer.eos_token_id])
    split = Split(prompts, None, [0] * len(prompts), texts, targets)
    cpu = torch.device("cpu")
    return [collate(split, list(range(i, i + cfg.batch_size)), tokenizer.pad_token_id, cpu)
            for i in range(0, len(texts), cfg.batch_size)]


def pretrain(lm: Any, tokenizer: Any, model_cfg: Any, log: Callable[[str], None] = print) -> Any:
    """A fresh LM of `lm`'s architecture, initialised and trained from the pre-training seed alone
    (`model_cfg.pretrain.steps` steps, AdamW, linear decay, on one CPU thread); `lm` itself is not touched."""
    from clsweep.models.clmodel import task_loss
    from clsweep.models.generative import GenerativeLM

    cfg = model_cfg.pretrain
    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    with torch.random.fork_rng():  # the run's own random stream stays untouched
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(1)
        try:
            fresh = type(lm)(lm.config)
            model = GenerativeLM(fresh, ["pretrain"], tokenizer).train()
            opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / cfg.steps)
            loss = torch.zeros(())
            for batch in _batches(tokenizer, cfg, model_cfg.max_length):
                loss = task_loss(model("pretrain", batch), batch["labels"])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
        finally:
            torch.set_num_threads(threads)
    log(f"pre-trained {model_cfg.backbone} for {cfg.steps} steps on synthetic text in "
        f"{time.perf_counter() - t0:.1f}s (final loss {loss.item():.3f})")
    return fresh


def load_or_pretrain(lm: Any, tokenizer: Any, model_cfg: Any, root: Path, log: Callable[[str], None] = print) -> Any:
    """`lm` with the cached pre-trained weights, pre-training (and caching) them on a miss."""
    from safetensors.torch import load_file, save_file

    path = pretrained_path(model_cfg, tokenizer, root)
    if path.is_file():
        lm.load_state_dict(load_file(str(path)))
        return lm
    state = pretrain(lm, tokenizer, model_cfg, log).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    # Clones: safetensors refuses tensors that share memory (tied embeddings).
    save_file({k: v.detach().clone().contiguous() for k, v in state.items()}, tmp)
    os.replace(tmp, path)  # atomic: concurrent trials never read half a file
    lm.load_state_dict(state)
    return lm


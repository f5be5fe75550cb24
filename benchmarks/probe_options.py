"""Does a tiny generative LM learn to answer with one of the prompt's listed options, and how fast?

O-LoRA's premise on a released instruction-tuned LM is that it answers inside the options a prompt lists.
This probe trains a fresh tiny-t5 or tiny-gpt2 (hidden 128, 2 layers) on option prompts alone, in O-LoRA's
layout (a random instruction of prompt words, 2-4 listed words, up to 12 synthetic words, "Answer:"), whose
answer is one listed word drawn at random, so the best it can do is to name some listed word. Every
`--every` steps it reports how often greedy answers to 200 new such prompts name a listed word, and how often
its answers to the synthetic suite's own prompts (tasklists/synthetic_text2text.yaml, no task trained) are
among that task's options. Issue 17's notes (BENCHMARKS.md, "Reading the figures") quote its figures.

    HF_HUB_OFFLINE=1 python benchmarks/probe_options.py --backbone tiny-gpt2 --lr 1e-3 --steps 2000
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import save

ROOT = Path(__file__).resolve().parents[1]
SUITE = ("topic", "sentiment", "intent", "register")


def _example(rng: random.Random) -> tuple[str, str]:
    from clsweep.models.tiny import PROMPT_WORDS
    from clsweep.tasks.synthetic import VOCABULARY, generate
    from clsweep.tasks.template import OLORA_FORMAT

    options = rng.sample(PROMPT_WORDS + VOCABULARY, rng.randint(2, 4))
    words = generate("corpus", 1, rng.randrange(10**6), "pretrain")["text"][0].split()[:12]
    words_of_instruction = " ".join(rng.choice(PROMPT_WORDS) for _ in range(rng.randint(4, 10)))
    prompt = OLORA_FORMAT.format(instruction=words_of_instruction + "? choose one from the option.",
                                 options=", ".join(options), text=" ".join(words))
    return prompt, rng.choice(options)


def _batch(tok: Any, rows: list[tuple[str, str]]) -> dict[str, Any]:
    import torch

    from clsweep.tasks.task import Split
    from clsweep.training.batching import collate

    prompts = [tok(p, truncation=True, max_length=64)["input_ids"] for p, _ in rows]
    targets = [[*tok(a, add_special_tokens=False)["input_ids"], tok.eos_token_id] for _, a in rows]
    split = Split(prompts, None, [0] * len(rows), [p for p, _ in rows], targets)
    return collate(split, list(range(len(rows))), tok.pad_token_id, torch.device("cpu"))


def _answers(model: Any, tok: Any, prompts: list[str]) -> list[str]:
    import torch

    out: list[str] = []
    with torch.inference_mode():
        for i in range(0, len(prompts), 100):
            enc = tok(prompts[i : i + 100], padding=True, truncation=True, max_length=64, return_tensors="pt")
            rows, _ = model.generate("probe", enc, 4)
            out += [tok.decode(r, skip_special_tokens=True).strip() for r in rows]
    return out


def _suite_prompts() -> dict[str, tuple[list[str], tuple[str, ...]]]:
    import yaml

    from clsweep.tasks.synthetic import SYNTHETIC_TASKS, generate
    from clsweep.tasks.template import OLORA_FORMAT

    tasks = yaml.safe_load((ROOT / "tasklists" / "synthetic_text2text.yaml").read_text())["tasks"]
    out = {}
    for name in SUITE:
        labels = SYNTHETIC_TASKS.get(name).labels
        texts = generate(name, 100, 0, "dev")["text"]
        instruction = tasks[name]["template"]["instruction"]
        out[name] = ([OLORA_FORMAT.format(instruction=instruction, options=", ".join(labels), text=t) for t in texts],
                     labels)
    return out


def probe(backbone: str, steps: int, lr: float, batch_size: int, every: int) -> list[dict[str, Any]]:
    import torch

    from clsweep.config import ModelConfig
    from clsweep.models.clmodel import task_loss
    from clsweep.models.generative import GenerativeLM
    from clsweep.models.tiny import tiny_lm, tiny_tokenizer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = ModelConfig(backbone=backbone, tiny={"hidden_size": 128, "intermediate_size": 256, "num_heads": 4})
    tok = tiny_tokenizer(generative=True)
    model = GenerativeLM(tiny_lm(backbone, cfg.tiny, tok, 64), ["probe"], tok).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * (1 - s / steps))
    rng, check = random.Random(1), random.Random(99)
    held_out = [_example(check) for _ in range(200)]
    suite = _suite_prompts()
    rows, losses, t0 = [], [], time.perf_counter()
    for step in range(1, steps + 1):
        batch = _batch(tok, [_example(rng) for _ in range(batch_size)])
        loss = task_loss(model("probe", batch), batch["labels"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % every == 0:
            model.eval()
            said = _answers(model, tok, [p for p, _ in held_out])
            listed = [re.search(r"Option: (.*) \n", p).group(1).split(", ") for p, _ in held_out]  # type: ignore[union-attr]
            in_suite = {name: sum(a in labels for a in _answers(model, tok, prompts)) / len(prompts)
                        for name, (prompts, labels) in suite.items()}
            model.train()
            rows.append({"backbone": backbone, "lr": lr, "step": step, "seconds": time.perf_counter() - t0,
                         "loss": sum(losses[-every:]) / every,
                         "listed_word_rate": sum(a in opts for a, opts in zip(said, listed, strict=True)) / len(said),
                         "suite_in_options": in_suite})
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--backbone", default="tiny-gpt2", choices=("tiny-gpt2", "tiny-t5"))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, nargs="+", default=[1e-3, 3e-3])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    rows = [r for lr in args.lr for r in probe(args.backbone, args.steps, lr, args.batch_size, args.every)]
    save("option_probe", {"settings": vars(args) | {"out": str(args.out)}, "rows": rows}, args.out)


if __name__ == "__main__":
    main()

"""Which learning rate suits the tiny LMs' pre-training: its own objective's held-out loss after N steps.

The pre-training (clsweep/models/pretrain.py) copies or continues synthetic sentences. For each backbone and
learning rate this trains it exactly as `model.pretrain` would (same seed, one thread) and reports the mean
loss on 640 examples of the same objective drawn with another seed. The default `pretrain.lr` was chosen
from this (BENCHMARKS.md, "Reading the figures"); no task's data or score is read.

    HF_HUB_OFFLINE=1 python benchmarks/probe_pretrain_lr.py --steps 1000 --lr 3e-3 1e-3 3e-4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import save


def held_out_loss(backbone: str, lr: float, steps: int) -> dict[str, Any]:
    import torch

    from clsweep.config import ModelConfig
    from clsweep.models.clmodel import task_loss
    from clsweep.models.generative import GenerativeLM
    from clsweep.models.pretrain import _batches, pretrain
    from clsweep.models.tiny import tiny_lm, tiny_tokenizer

    size = {"hidden_size": 128, "intermediate_size": 256, "num_heads": 4}
    cfg = ModelConfig(backbone=backbone, max_length=64, tiny=size, pretrain={"steps": steps, "lr": lr})
    tok = tiny_tokenizer(generative=True)
    trained = pretrain(tiny_lm(backbone, cfg.tiny, tok, 64), tok, cfg, log=lambda m: None)
    model = GenerativeLM(trained, ["pretrain"], tok).eval()
    held = ModelConfig(backbone=backbone, max_length=64, pretrain={"steps": 20, "seed": 123}).pretrain
    with torch.inference_mode():
        losses = [task_loss(model("pretrain", b), b["labels"]).item() for b in _batches(tok, held, 64)]
    row = {"backbone": backbone, "lr": lr, "steps": steps, "held_out_loss": sum(losses) / len(losses)}
    print(row, flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--backbones", nargs="+", default=["tiny-gpt2", "tiny-t5"])
    p.add_argument("--lr", type=float, nargs="+", default=[3e-3, 1e-3, 3e-4])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    rows = [held_out_loss(b, lr, args.steps) for b in args.backbones for lr in args.lr]
    save("pretrain_lr", {"steps": args.steps, "rows": rows}, args.out)


if __name__ == "__main__":
    main()

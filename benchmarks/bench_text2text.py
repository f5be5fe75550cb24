"""Text-to-text on the tiny generative LMs: what the approaches do, and what decoding costs.

behaviour  The synthetic suite written as prompts (tasklists/synthetic_text2text.yaml) on tiny-t5 and
           tiny-gpt2 (hidden 128), both pre-trained briefly on synthetic text, over its two orderings (forward,
           reverse) at one seed: fine-tuning, replay and O-LoRA, paired by ordering. Goals (issue 17): fine-tuning's
           diagonal of R >= 0.85 and forgetting >= 0.10; replay and O-LoRA forget >= 30% less than
           fine-tuning on the same orderings while their diagonal stays >= 0.70.
throughput clsweep's evaluation of one task's train split (640 examples) (decode, score) against a plain loop of
           `model.generate` over the same left-padded batches, alternated, medians (goal: at most 1.1x).

    HF_HUB_OFFLINE=1 python benchmarks/bench_text2text.py [--parts behaviour,throughput]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import save

ROOT = Path(__file__).resolve().parents[1]
APPROACHES = {"finetune": {}, "replay": {}, "olora": {"olora": {"target_modules": "all-linear"}}}
ORDERS = ("forward", "reverse")
SPLIT = "train"  # throughput: the largest split (640 examples), for timings well above the noise
SETTINGS = {"epochs": 12, "lr": 1e-3, "olora_lr": 3e-3, "pretrain_steps": 1000, "train_size": 640, "hidden_size": 128}


def _experiment(backbone: str, approach: str, order: str, cache: Path, tmp: Path, epochs: int | None = None) -> Path:
    import yaml

    tl = yaml.safe_load((ROOT / "tasklists" / "synthetic_text2text.yaml").read_text())
    tl["defaults"]["source"]["train_size"] = SETTINGS["train_size"]
    (tmp / "tl.yaml").write_text(yaml.safe_dump(tl))
    lr = SETTINGS["olora_lr"] if approach == "olora" else SETTINGS["lr"]
    raw = {"tasklist": "tl.yaml", "order": tl["orders"][order],
           "model": {"backbone": backbone, "max_length": 64, "pretrain": {"steps": SETTINGS["pretrain_steps"]},
                     "tiny": {"hidden_size": SETTINGS["hidden_size"], "intermediate_size": 2 * SETTINGS["hidden_size"],
                              "num_heads": 4}},
           "approach": {"name": approach, **APPROACHES[approach]},
           "train": {"lr": lr, "epochs": epochs or SETTINGS["epochs"], "batch_size": 16, "warmup_ratio": 0.05,
                     "seed": 0, "num_threads": 1},
           "observe": {"misclassified": False}, "run": {"cache_dir": str(cache), "tensorboard": False}}
    path = tmp / f"{backbone}-{approach}-{order}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _train(exp: Path, out: Path) -> dict[str, Any]:
    subprocess.run([sys.executable, "-m", "clsweep", "train", str(exp), "--out", str(out), "--quiet"], check=True,
                   capture_output=True)
    return json.loads((out / "result.json").read_text())


def behaviour(workers: int, approaches: list[str], keep: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs `approaches` (both backbones, both orderings); `keep` holds earlier rows of the others (--merge)."""
    rows = [r for r in keep if r["approach"] not in approaches]
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        cache = tmp / "cache"
        for backbone in ("tiny-t5", "tiny-gpt2"):  # pre-train and tokenize once, before the parallel runs
            _train(_experiment(backbone, "finetune", "forward", cache, tmp, epochs=1), tmp / f"warm-{backbone}")
        jobs = [(b, a, o) for b in ("tiny-t5", "tiny-gpt2") for a in approaches for o in ORDERS]
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(lambda j: _train(_experiment(j[0], j[1], j[2], cache, tmp), tmp / "-".join(j)),
                                    jobs))
        for (backbone, approach, order), r in zip(jobs, results, strict=True):
            m = r["matrix"]
            rows.append({"backbone": backbone, "approach": approach, "order": order,
                         "diagonal_min": min(m[i][i] for i in range(len(m))),
                         "diagonal": dict(zip(r["order"], (m[i][i] for i in range(len(m))), strict=True)),
                         "forgetting": r["metrics"]["forgetting"], "acc": r["metrics"]["acc"]})
            print(rows[-1], flush=True)
    return {"settings": SETTINGS, "rows": rows, "verdicts": _verdicts(rows)}


def _verdicts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for backbone in ("tiny-t5", "tiny-gpt2"):
        mine = {(r["approach"], r["order"]): r for r in rows if r["backbone"] == backbone}
        ft = [mine["finetune", o] for o in ORDERS]
        out.append({"backbone": backbone, "approach": "finetune",
                    "diagonal_min": min(r["diagonal_min"] for r in ft),
                    "forgetting_mean": statistics.mean(r["forgetting"] for r in ft),
                    "holds": all(r["diagonal_min"] >= 0.85 and r["forgetting"] >= 0.10 for r in ft)})
        for a in ("replay", "olora"):
            ratio = statistics.mean(1 - mine[a, o]["forgetting"] / max(mine["finetune", o]["forgetting"], 1e-9)
                                    for o in ORDERS)
            diag = min(mine[a, o]["diagonal_min"] for o in ORDERS)
            out.append({"backbone": backbone, "approach": a, "diagonal_min": diag,
                        "forgetting_mean": statistics.mean(mine[a, o]["forgetting"] for o in ORDERS),
                        "less_forgetting_than_finetune": ratio, "holds": ratio >= 0.30 and diag >= 0.70})
    return out


def throughput(repeats: int, batch_size: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as t:
        rows = [_throughput_one(b, Path(t), repeats, batch_size) for b in ("tiny-t5", "tiny-gpt2")]
    return {"batch_size": batch_size, "rows": rows}


def _throughput_one(backbone: str, tmp: Path, repeats: int, batch_size: int) -> dict[str, Any]:
    import torch
    import yaml

    from clsweep.loading import load_experiment
    from clsweep.models import HeadSpec, build_model
    from clsweep.models.generative import GenerativeLM
    from clsweep.training.decode import evaluate_generated
    from clsweep.training.run import prepare

    raw = {"tasklist": str(ROOT / "tasklists" / "synthetic_text2text.yaml"), "order": ["topic"],
           "model": {"backbone": backbone, "max_length": 64}, "run": {"cache_dir": str(tmp)}}
    (tmp / "exp.yaml").write_text(yaml.safe_dump(raw))
    cfg = load_experiment(tmp / "exp.yaml")
    tok, tasks = prepare(cfg, log=lambda m: None)
    task = tasks["topic"]
    built, _ = build_model(cfg.model, {"topic": HeadSpec("topic", "topic", "lm", 0)}, 0, tok)
    assert isinstance(built, GenerativeLM)
    model = built.eval()
    cpu = torch.device("cpu")
    sides = {"clsweep": lambda: evaluate_generated(model, task, SPLIT, batch_size, cpu, model.pad_id, _null),
             "plain": lambda: _plain_generate(model, task, batch_size)}
    times: dict[str, list[float]] = {k: [] for k in sides}
    for i in range(repeats):
        for name in (("clsweep", "plain") if i % 2 == 0 else ("plain", "clsweep")):
            t0 = time.perf_counter()
            sides[name]()
            times[name].append(time.perf_counter() - t0)
    n = len(task.splits[SPLIT])
    med = {k: statistics.median(v) for k, v in times.items()}
    row = {"backbone": backbone, "examples": n, "clsweep_s": med["clsweep"], "plain_s": med["plain"],
           "ratio": med["clsweep"] / med["plain"], "clsweep_per_s": n / med["clsweep"],
           "plain_per_s": n / med["plain"]}
    print(row, flush=True)
    return row


def _null() -> Any:
    import contextlib

    return contextlib.nullcontext()


def _plain_generate(model: Any, task: Any, batch_size: int) -> list[str]:
    """The reference: the same batches (sorted by length), left-padded by the tokenizer, `generate`, decode."""
    import torch

    tok = model.tokenizer
    data = task.splits[SPLIT]
    order = sorted(range(len(data)), key=lambda i: len(data.input_ids[i]))
    texts: list[str] = []
    tok.padding_side = "left" if not model.encoder_decoder else "right"
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            rows = [{"input_ids": data.input_ids[i]} for i in order[s : s + batch_size]]
            enc = tok.pad(rows, return_tensors="pt")
            seq = model.backbone.generate(**enc, max_new_tokens=task.max_new_tokens, do_sample=False,
                                          num_beams=1, pad_token_id=model.pad_id, eos_token_id=model.eos_id)
            new = seq[:, 1:] if model.encoder_decoder else seq[:, enc["input_ids"].shape[1]:]
            texts += tok.batch_decode(new, skip_special_tokens=True)
    tok.padding_side = "right"
    return texts


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--parts", default="behaviour,throughput")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--approaches", default=",".join(APPROACHES), help="behaviour: which approaches to run")
    p.add_argument("--merge", type=Path, help="a results file whose other rows (and throughput) to keep")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    earlier = json.loads(args.merge.read_text()) if args.merge else {}
    result: dict[str, Any] = {k: v for k, v in earlier.items() if k in ("behaviour", "throughput")}
    if "behaviour" in args.parts:
        keep = earlier.get("behaviour", {}).get("rows", [])
        result["behaviour"] = behaviour(args.workers, args.approaches.split(","), keep)
        if keep:  # say which rows are older than this file's machine facts
            result["behaviour"]["merged"] = {"rerun": args.approaches.split(","),
                                             "others_measured": earlier["machine"]["date"]}
    if "throughput" in args.parts:
        result["throughput"] = throughput(args.repeats, args.batch_size)
    save("text2text", result, args.out)


if __name__ == "__main__":
    main()

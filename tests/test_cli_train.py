"""`clsweep train` end to end on local files the tests write: JSON lines, a CSV sentence pair task, CoNLL NER.

Every run is tiny (a 32-wide two-layer BERT, one epoch, ~50 training rows per task, cpu) so the module
stays fast; one three-task run is shared by the tests that only read its result or its folder.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from clsweep.cli import main

SIZES = {"train": 48, "dev": 12, "test": 12}
METRIC_KEYS = {"acc", "bwt", "fwt", "forgetting", "learning_accuracy", "avg_incremental_acc"}

# --------------------------------------------------------------------------------------------- fixture data

SENTIMENT_WORDS = {"pos": ["great", "lovely", "superb"], "neg": ["awful", "boring", "dreadful"],
                   "neutral": ["okay", "average", "plain"]}
NOUNS = ["film", "meal", "hotel", "book", "show", "game"]
NAMES = ["alice", "bob", "carol", "dave", "erin"]
CITIES = ["paris", "rome", "oslo", "lima", "cairo"]


def sentiment_rows(n: int, rng: random.Random) -> list[dict[str, str]]:
    """String labels, decided by the keyword in the text."""
    rows = []
    for i in range(n):
        label = ("pos", "neg", "neutral")[i % 3]
        rows.append({"text": f"the {rng.choice(NOUNS)} was {rng.choice(SENTIMENT_WORDS[label])}", "label": label})
    return rows


def pair_rows(n: int, rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        noun, other = rng.sample(NOUNS, 2)
        entail = i % 2 == 0
        rows.append({"premise": f"a {noun} is on the table", "hypothesis": f"there is a {noun if entail else other}",
                     "label": "entailment" if entail else "contradiction"})
    return rows


def conll_text(n: int, rng: random.Random) -> str:
    """Four columns (token, POS, chunk, NER tag), -DOCSTART- lines, blank lines between sentences."""
    lines = ["-DOCSTART- -X- -X- O", ""]
    for i in range(n):
        if i and i % 10 == 0:
            lines += ["-DOCSTART- -X- -X- O", ""]
        name, city = rng.choice(NAMES), rng.choice(CITIES)
        words = [(name, "NNP", "B-NP", "B-PER"), ("lives", "VBZ", "B-VP", "O"), ("in", "IN", "B-PP", "O"),
                 (city, "NNP", "B-NP", "B-LOC")]
        if i % 2:
            words = [(city, "NNP", "B-NP", "B-LOC"), ("welcomed", "VBD", "B-VP", "O"), (name, "NNP", "B-NP", "B-PER")]
        lines += [" ".join(w) for w in words] + [""]
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    cols = list(rows[0])
    path.write_text(",".join(cols) + "\n" + "".join(",".join(r[c] for c in cols) + "\n" for r in rows),
                    encoding="utf-8")


TASKS: dict[str, dict[str, Any]] = {
    # Declared out of name order on purpose: the experiment's `order:` sorts them.
    "sentiment": {"source": {"kind": "files", "train": "data/sent_train.jsonl", "dev": "data/sent_dev.jsonl",
                             "test": "data/sent_test.jsonl"}},
    "nli": {"source": {"kind": "files", "train": "data/nli_train.csv", "dev": "data/nli_dev.csv",
                       "test": "data/nli_test.csv"},
            "text_column": "premise", "text_pair_column": "hypothesis"},
    "ner": {"type": "token", "source": {"kind": "conll", "train": "data/ner_train.conll",
                                        "dev": "data/ner_dev.conll", "test": "data/ner_test.conll"}},
}
BY_NAME = sorted(TASKS)  # ner, nli, sentiment


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-train")
    (root / "data").mkdir()
    rng = random.Random(0)
    for split, n in SIZES.items():
        rows = sentiment_rows(n, rng)
        (root / "data" / f"sent_{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        write_csv(root / "data" / f"nli_{split}.csv", pair_rows(n, rng))
        (root / "data" / f"ner_{split}.conll").write_text(conll_text(n, rng))
    (root / "all.yaml").write_text(yaml.safe_dump({"tasks": TASKS}, sort_keys=False))
    for name, spec in TASKS.items():
        (root / f"{name}.yaml").write_text(yaml.safe_dump({"tasks": {name: spec}}, sort_keys=False))
    return root


def write_experiment(folder: Path, tasklist: Path, cache: Path, name: str = "exp.yaml", **extra: Any) -> Path:
    exp = {
        "tasklist": str(tasklist),
        "model": {"backbone": "tiny", "max_length": 32, "tiny": {"hidden_size": 32, "intermediate_size": 64}},
        "approach": {"name": "finetune"},
        "train": {"lr": 2e-3, "epochs": 1, "batch_size": 16, "seed": 0, "device": "cpu"},
        "eval": {"batch_size": 64, "misclassified": 2},
        "run": {"cache_dir": str(cache)},
        **extra,
    }
    path = folder / name
    path.write_text(yaml.safe_dump(exp, sort_keys=False))
    return path


def run_cli(argv: Sequence[str]) -> tuple[int, str, str]:
    """main() with stdout and stderr captured (also usable from module-scoped fixtures)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def train(exp: Path, out: Path, *args: str) -> tuple[dict[str, Any], str]:
    rc, stdout, stderr = run_cli(["train", str(exp), "--out", str(out), "--quiet", *args])
    assert rc == 0, stderr
    assert "Traceback" not in stderr
    assert f"wrote {out / 'result.json'}" in stdout
    result = json.loads((out / "result.json").read_text())
    return result, stderr


def check_square(result: dict[str, Any], n: int) -> None:
    for key in ("matrix", "matrix_dev"):
        assert len(result[key]) == n and all(len(row) == n for row in result[key])
        assert all(0.0 <= v <= 1.0 for row in result[key] for v in row)
    assert set(result["metrics"]) == METRIC_KEYS


# --------------------------------------------------------------------------------------------- one task each


def test_jsonl_string_labels(data_dir: Path, tmp_path: Path) -> None:
    exp = write_experiment(tmp_path, data_dir / "sentiment.yaml", tmp_path / "cache")
    result, _ = train(exp, tmp_path / "run")
    assert result["order"] == ["sentiment"]
    assert result["labels"] == {"sentiment": ["neg", "neutral", "pos"]}  # sorted train values
    assert result["primary_metric"] == {"sentiment": "accuracy"}
    check_square(result, 1)
    stats = result["dataset_stats"]["sentiment"]
    assert stats["splits"]["train"]["labels"] == {"neg": 16, "neutral": 16, "pos": 16}
    assert stats["carved"] == []
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"config.json", "result.json", "checkpoints"}


def test_csv_sentence_pair(data_dir: Path, tmp_path: Path) -> None:
    exp = write_experiment(tmp_path, data_dir / "nli.yaml", tmp_path / "cache")
    result, _ = train(exp, tmp_path / "run")
    check_square(result, 1)
    assert result["labels"]["nli"] == ["contradiction", "entailment"]
    stats = result["dataset_stats"]["nli"]
    assert {s: stats["splits"][s]["size"] for s in SIZES} == SIZES
    assert stats["num_labels"] == 2 and stats["max_length"] == 32
    # Both sentences are counted: premise (6 words) + hypothesis (4 words).
    assert stats["splits"]["train"]["mean_words"] == 10.0
    assert result["config"]["tasklist"]["tasks"]["nli"]["text_pair_column"] == "hypothesis"


def test_conll_ner(data_dir: Path, tmp_path: Path) -> None:
    exp = write_experiment(tmp_path, data_dir / "ner.yaml", tmp_path / "cache")
    result, _ = train(exp, tmp_path / "run")
    check_square(result, 1)
    assert result["primary_metric"] == {"ner": "entity_f1"}
    assert result["labels"]["ner"] == ["B-LOC", "B-PER", "O"]
    train_stats = result["dataset_stats"]["ner"]["splits"]["train"]
    assert train_stats["size"] == SIZES["train"]  # -DOCSTART- lines are not sentences
    assert "-DOCSTART-" not in json.dumps(result["misclassified"])
    assert set(result["scores"]["rows"][0]["test"]["ner"]) >= {"entity_f1", "accuracy"}


# --------------------------------------------------------------------------------------------- all three


@pytest.fixture(scope="module")
def three(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One three-task run, ordered by name, with its own fresh tokenization cache."""
    folder = tmp_path_factory.mktemp("three")
    exp = write_experiment(folder, data_dir / "all.yaml", folder / "cache", order=BY_NAME)
    out = folder / "run"
    result, stderr = train(exp, out)
    return {"exp": exp, "out": out, "result": result, "stderr": stderr, "folder": folder}


def test_three_tasks_in_one_run(three: dict[str, Any]) -> None:
    result = three["result"]
    assert result["order"] == BY_NAME == result["tasks"]
    check_square(result, 3)
    assert result["primary_metric"] == {"ner": "entity_f1", "nli": "accuracy", "sentiment": "accuracy"}
    assert result["labels"]["sentiment"] == ["neg", "neutral", "pos"]
    assert set(result["dataset_stats"]) == set(TASKS)
    assert result["seed"] == 0 and result["approach"] == "finetune" and result["eval_split"] == "test"
    for m in ("bwt", "fwt", "forgetting"):
        assert result["metrics"][m] is not None  # defined with three tasks
    for task in TASKS:  # a fresh cache: every task was tokenized, none read from the cache
        assert f"task {task}: tokenized" in three["stderr"]
    assert "using cached tokenization" not in three["stderr"]


def test_cpu_run_records_no_gpu_timings_and_data_facts(three: dict[str, Any]) -> None:
    result, out = three["result"], three["out"]
    assert result["resources"]["gpu"] == {"available": False, "reason": "no GPU: the run uses the cpu device"}
    assert result["gpu"] == result["resources"]["gpu"]
    for task in TASKS:
        t = result["timings"]["tasks"][task]
        assert all(t[k] > 0 for k in ("data_s", "train_s", "eval_s", "checkpoint_s", "steps_per_s", "tokens_per_s"))
        assert 0 < t["eval_share"] < 1
        assert result["resources"]["tasks"][task]["train"]["cpu_s"] > 0
        assert (out / "misclassified" / f"{task}.jsonl").is_file()
    assert "train labels neg " in three["stderr"] or "train labels pos " in three["stderr"]  # the log at start


def test_profile_flag_writes_a_trace_and_a_py_spy_hint(three: dict[str, Any], tmp_path: Path) -> None:
    rc, stdout, stderr = run_cli(["train", str(three["exp"]), "--out", str(tmp_path / "run"), "--quiet",
                                  "--profile", "2"])
    assert rc == 0, stderr
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["matrix"] == three["result"]["matrix"]  # profiling observes, never changes training
    assert "evaluation " in stdout and "GPU: no GPU: the run uses the cpu device" in stdout  # the summary line
    traces = list((tmp_path / "run" / "profile").glob("*.pt.trace.json"))
    assert len(traces) == 1 and json.loads(traces[0].read_text())["traceEvents"]
    hints = [line for line in stderr.splitlines() if "py-spy record" in line]
    assert len(hints) == 1 and f"--pid {os.getpid()}" in hints[0]
    rc, _, err = run_cli(["train", str(three["exp"]), "--out", str(tmp_path / "zero"), "--profile", "0"])
    assert rc == 2 and "--profile" in err and "Traceback" not in err


def test_order_and_seed_flags(three: dict[str, Any], tmp_path: Path) -> None:
    order = ["sentiment", "ner", "nli"]
    result, _ = train(three["exp"], tmp_path / "run", "--order", ",".join(order), "--seed", "3")
    assert result["order"] == order
    assert result["seed"] == 3
    assert result["config"]["train"]["seed"] == 3
    assert result["config"]["order"] == order
    assert list(result["forgetting_per_task"]) == order[:-1]  # defined for all tasks but the last
    check_square(result, 3)


def test_second_run_reads_the_cache_and_matches(three: dict[str, Any], tmp_path: Path) -> None:
    result, stderr = train(three["exp"], tmp_path / "again")
    cache_lines = [line for line in stderr.splitlines() if "cache" in line]
    for task in TASKS:
        assert any(line.startswith(f"task {task}: using cached tokenization") for line in cache_lines), stderr
        assert f"task {task}: tokenized" not in stderr
    first = three["result"]
    assert result["matrix"] == first["matrix"]
    assert result["matrix_dev"] == first["matrix_dev"]
    assert result["initial"] == first["initial"]
    assert result["labels"] == first["labels"]
    assert result["dataset_stats"] == first["dataset_stats"]


def test_resume_completed_run_and_out_on_existing_run(three: dict[str, Any]) -> None:
    out = three["out"]
    before = sorted(p.name for p in out.rglob("*"))
    rc, stdout, stderr = run_cli(["train", str(three["exp"]), "--resume", str(out), "--quiet"])
    assert rc == 0
    assert "already complete" in stderr
    assert stdout == ""

    rc, stdout, stderr = run_cli(["train", str(three["exp"]), "--out", str(out), "--quiet"])
    assert rc == 2
    assert f"{out}: --out: already holds a run" in stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in out.rglob("*")) == before  # nothing touched
    assert json.loads((out / "result.json").read_text()) == three["result"]


# --------------------------------------------------------------------------------------------- local backbone


def test_backbone_from_local_directory(data_dir: Path, tmp_path: Path) -> None:
    from clsweep.config import TinyBackbone
    from clsweep.models.tiny import tiny_backbone, tiny_tokenizer

    bb = tmp_path / "bb"
    tok = tiny_tokenizer()
    tiny_backbone(TinyBackbone(hidden_size=32, intermediate_size=64), len(tok), 32).save_pretrained(bb)
    tok.save_pretrained(bb)

    exp = write_experiment(tmp_path, data_dir / "sentiment.yaml", tmp_path / "cache")
    result, _ = train(exp, tmp_path / "run", "--set", f"model.backbone={bb}")
    assert result["config"]["model"]["backbone"] == str(bb)
    check_square(result, 1)
    assert result["labels"]["sentiment"] == ["neg", "neutral", "pos"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["backbone"] == str(bb)

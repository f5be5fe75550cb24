"""The reference study's table: per approach ACC, BWT and forgetting with bootstrap CIs over orderings, the
learning accuracy (diagonal of R) per task, intransigence against joint, and the ranking against the
published one. `build` turns finished runs into a JSON-able dict; `markdown` renders that dict.

Numbers come from clsweep.analysis (result files, bootstrap intervals, paired tests) and
clsweep.metrics.matrix (intransigence); nothing here re-derives a metric from R by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from clsweep.analysis import load_results, paired, summarize
from clsweep.metrics.matrix import intransigence

# Published ranking (O-LoRA Table 1; de Masson d'Autume et al. 2019): multitask/joint on top, the replay
# family above regularisation, sequential fine-tuning last with the most forgetting. Lower tier = higher ACC.
TIERS: dict[str, int] = {"joint": 0, "replay": 1, "derpp": 1, "agem": 1, "ewc": 2, "lwf": 2, "l2": 2, "finetune": 3}
TIER_NAMES = ("joint", "replay family", "regularisation", "fine-tuning")
TOPIC_TASKS = ("agnews", "dbpedia")
DIAGONAL_GOAL = 0.8
METRICS = ("acc", "bwt", "forgetting", "learning_accuracy", "intransigence", "acc_dev")
# Approaches whose learning ability the settings are judged by: no penalty or projection holds them back.
PLAIN = ("finetune", "joint", "independent")


def _num(x: Any) -> float | None:
    """A JSON-safe float: NaN becomes None."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def run_records(results: Iterable[tuple[Path, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """One record per finished run: identity, metrics, diagonal and final score per task, cost."""
    out = []
    for path, data in results:
        tasks = [str(t) for t in data["tasks"]]
        matrix = data["matrix"]
        sweep = data.get("sweep") or {}
        res = (data.get("resources") or {}).get("tasks") or {}
        cpu = sum(float((phases.get("all") or {}).get("cpu_s") or 0.0) for phases in res.values())
        timings = data.get("timings") or {}
        out.append({
            "path": str(path), "approach": data["approach"], "order_id": str(sweep.get("order_id", ">".join(tasks))),
            "order": tasks, "seed": data["seed"],
            "acc": data["metrics"]["acc"], "bwt": data["metrics"]["bwt"], "forgetting": data["metrics"]["forgetting"],
            "learning_accuracy": data["metrics"]["learning_accuracy"], "acc_dev": data["metrics_dev"]["acc"],
            "diag": {t: float(matrix[k][k]) for k, t in enumerate(tasks)},
            "final": {t: float(matrix[-1][k]) for k, t in enumerate(tasks)},
            "matrix": matrix,
            "total_s": _num(timings.get("total_s")), "cpu_s": cpu or None,
            "steps": int(timings.get("global_step") or 0),
        })
    _add_intransigence(out)
    return out


def _add_intransigence(records: list[dict[str, Any]]) -> None:
    """I = mean_k (a*_k - R[k][k]) with a*_k the joint run's diagonal on the same ordering (Chaudhry et al. 2018)."""
    joint = {(r["order_id"], r["seed"]): r for r in records if r["approach"] == "joint"}
    for r in records:
        ref = joint.get((r["order_id"], r["seed"]))
        if ref is None or ref["order"] != r["order"]:
            r["intransigence"] = None
            continue
        a_star = [ref["diag"][t] for t in r["order"]]
        per_task = intransigence(r["matrix"], a_star)
        r["intransigence"] = sum(per_task) / len(per_task)


def _ci(row: Mapping[str, Any], m: str) -> dict[str, float | None]:
    return {k: _num(row.get(f"{m}_{k}")) for k in ("mean", "std", "ci_low", "ci_high", "min", "max")}


def build(sweep_dirs: Sequence[str | Path], settings: Mapping[str, Any] | None = None,
          machine: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The study's table as a JSON-able dict, from every result.json below `sweep_dirs`."""
    results = load_results([str(d) for d in sweep_dirs])
    records = run_records(results)
    if not records:
        raise ValueError(f"no finished runs below {', '.join(map(str, sweep_dirs))}")
    df = pd.DataFrame([{k: (math.nan if r.get(k) is None else r[k]) for k in ("approach", *METRICS)}
                       for r in records])
    summary = summarize(df, metrics=list(METRICS), by=("approach",))
    tasks = sorted({t for r in records for t in r["order"]})
    rows = []
    for _, s in summary.iterrows():
        name = str(s["approach"])
        mine = [r for r in records if r["approach"] == name]
        diag = {t: _mean(r["diag"][t] for r in mine if t in r["diag"]) for t in tasks}
        topic = [r["diag"][t] for r in mine for t in TOPIC_TASKS if t in r["diag"]]
        rows.append({
            "approach": name, "n": int(s["n"]), "tier": TIERS.get(name),
            **{m: _ci(s, m) for m in METRICS},
            "diag": diag, "topic_diag_min": min(topic) if topic else None,
            "final": {t: _mean(r["final"][t] for r in mine if t in r["final"]) for t in tasks},
            "minutes_per_trial": _mean((r["total_s"] or math.nan) / 60 for r in mine),
            "cpu_minutes": sum(r["cpu_s"] or 0.0 for r in mine) / 60,
        })
    return {"settings": dict(settings or {}), "machine": dict(machine or {}), "tasks": tasks,
            "split_sizes": split_sizes(results),
            "orderings": sorted({(r["order_id"], ">".join(r["order"])) for r in records}),
            "rows": rows, "ranking": ranking(records, rows),
            "diagonal_check": diagonal_check(rows),
            "runs": [{k: v for k, v in r.items() if k != "path"} for r in records]}


def split_sizes(results: Iterable[tuple[Path, Mapping[str, Any]]]) -> dict[str, dict[str, int]]:
    """Examples per task and split, as the runs saw them (the same in every run of the study)."""
    out: dict[str, dict[str, int]] = {}
    for _, data in results:
        for task, st in (data.get("dataset_stats") or {}).items():
            out.setdefault(task, {s: int(v["size"]) for s, v in (st.get("splits") or {}).items()})
    return out


def _mean(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return sum(vals) / len(vals) if vals else None


def diagonal_check(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Do the settings let the model learn the topic tasks? Judged on the approaches nothing holds back."""
    plain = [r for r in rows if r["approach"] in PLAIN and r["topic_diag_min"] is not None]
    worst = min((r["topic_diag_min"] for r in plain), default=None)
    return {"goal": DIAGONAL_GOAL, "tasks": list(TOPIC_TASKS), "judged_on": [r["approach"] for r in plain],
            "min": worst, "met": worst is not None and worst >= DIAGONAL_GOAL,
            "per_approach": {r["approach"]: r["topic_diag_min"] for r in rows}}


def ranking(records: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Measured ACC order against the published tiers; every inverted pair with its paired difference."""
    acc = {r["approach"]: r["acc"]["mean"] for r in rows}
    forg = {r["approach"]: r["forgetting"]["mean"] for r in rows}
    measured = sorted(acc, key=lambda a: -(acc[a] if acc[a] is not None else -math.inf))
    by_cell = {(r["approach"], r["order_id"], r["seed"]): r for r in records}
    inversions = []
    ranked = [a for a in measured if a in TIERS]
    for i, above in enumerate(ranked):
        for below in ranked[i + 1:]:
            if TIERS[below] < TIERS[above]:  # published above, measured below
                inversions.append({"expected_higher": below, "measured_higher": above,
                                   **_paired_acc(by_cell, above, below)})
    most_forgetting = max((a for a in forg if forg[a] is not None), key=lambda a: forg[a], default=None)
    return {"expected_tiers": {a: t for a, t in TIERS.items() if a in acc}, "tier_names": list(TIER_NAMES),
            "measured_acc_order": measured, "inversions": inversions,
            "most_forgetting": most_forgetting,
            "finetune_forgets_most": most_forgetting == "finetune" if "finetune" in forg else None}


def _paired_acc(by_cell: Mapping[tuple[str, str, int], Mapping[str, Any]], a: str, b: str) -> dict[str, Any]:
    """ACC of a minus ACC of b over the orderings both ran (bootstrap CI, sign counts)."""
    keys = sorted({(o, s) for (x, o, s) in by_cell if x == a} & {(o, s) for (x, o, s) in by_cell if x == b})
    if not keys:
        return {"n": 0}
    p = paired([by_cell[(a, *k)]["acc"] for k in keys], [by_cell[(b, *k)]["acc"] for k in keys])
    return {"n": p.n, "acc_diff": _num(p.mean_diff), "ci_low": _num(p.ci_low), "ci_high": _num(p.ci_high),
            "higher_in": p.a_higher, "lower_in": p.a_lower}


# ------------------------------------------------------------------------------------------ markdown


def _fmt_ci(c: Mapping[str, Any] | None, signed: bool = False) -> str:
    if not c or c.get("mean") is None:
        return "-"
    f = "{:+.3f}" if signed else "{:.3f}"
    if c.get("ci_low") is None or c.get("ci_high") is None:
        return f.format(c["mean"])
    return f"{f.format(c['mean'])} [{f.format(c['ci_low'])}, {f.format(c['ci_high'])}]"


def _f(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def markdown(d: Mapping[str, Any]) -> str:
    """The table and its verdicts, as a BENCHMARKS.md section body."""
    tasks = list(d["tasks"])
    head = ["approach", "runs", "ACC [95% CI]", "BWT [95% CI]", "forgetting [95% CI]", "learning acc.",
            *(f"R[k][k] {t}" for t in tasks), "intransigence vs joint [95% CI]", "min per trial"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in d["rows"]:
        cells = [f"`{r['approach']}`", str(r["n"]), _fmt_ci(r["acc"]), _fmt_ci(r["bwt"], signed=True),
                 _fmt_ci(r["forgetting"], signed=True), _f(r["learning_accuracy"]["mean"]),
                 *(_f(r["diag"].get(t)) for t in tasks), _fmt_ci(r["intransigence"], signed=True),
                 _f(r["minutes_per_trial"], ".1f")]
        lines.append("| " + " | ".join(cells) + " |")
    out = ["\n".join(lines), ""]
    out.append("ACC, BWT (GEM paper, 1/(T-1)), forgetting (Chaudhry, max-based) and learning accuracy (mean of the "
               "diagonal of R) on test, mean over the orderings with a 95% percentile bootstrap interval of the "
               "mean (10,000 resamples; with 4 orderings it is narrow by construction: read it with the min/max in "
               "the JSON). `R[k][k] <task>`: the task's score just after learning it, mean over orderings. "
               "Intransigence: joint's R[k][k] on the same ordering minus the approach's, mean over k.")
    out.append("")
    out.append(_diagonal_line(d["diagonal_check"]))
    out.append("")
    out.append(_ranking_lines(d["ranking"]))
    return "\n".join(out) + "\n"


def _epochs(st: Mapping[str, Any], tr: Mapping[str, Any]) -> str:
    per = {t: v.get("epochs", tr.get("epochs")) for t, v in (st.get("tasks") or {}).items()}
    if len(set(per.values())) <= 1:
        return f"{tr.get('epochs', '?')} epoch(s)"
    return "epochs " + ", ".join(f"{t} {e}" for t, e in sorted(per.items()))


def _head_lr(tr: Mapping[str, Any]) -> str:
    return f", heads {tr['head_lr']}" if tr.get("head_lr") else ""


def setup_line(d: Mapping[str, Any]) -> str:
    """What was run, in one paragraph: model, data sizes, training, design, wall time."""
    st = d.get("settings") or {}
    tr = st.get("train") or {}
    sizes = d.get("split_sizes") or {}
    data = ", ".join(f"{t} {v.get('train', '?')}/{v.get('dev', '?')}/{v.get('test', '?')}"
                     for t, v in sorted(sizes.items()))
    lengths = sorted({v.get("max_length") for v in (st.get("tasks") or {}).values()} - {None})
    parts = [f"`{st.get('model', '?')}` ({st.get('pooling', '?')} pooling, max length "
             f"{'/'.join(map(str, lengths)) or '?'}), one head per task",
             f"train/dev/test examples per task: {data}" if data else "",
             f"{_epochs(st, tr)}, batch {tr.get('batch_size', '?')}, {tr.get('optimizer', '?')} lr "
             f"{tr.get('lr', '?')}{_head_lr(tr)} ({tr.get('scheduler', '?')}, warmup {tr.get('warmup_ratio', '?')})"
             if tr else "",
             f"{len(d.get('orderings') or [])} Williams orderings x {len(st.get('seeds') or [0])} seed"]
    wall = d.get("wall") or {}
    if wall.get("seconds"):
        parts.append(f"the sweep took {wall['seconds'] / 60:.0f} minutes with "
                     f"{(st.get('resources') or {}).get('max_concurrent_trials', '?')} one-CPU trials at a time "
                     f"(load {wall['load_before'][0]:.1f} before, {wall['load_after'][0]:.1f} after)")
    return "; ".join(p for p in parts if p) + "."


def section(d: Mapping[str, Any], notes: Path | None = None) -> str:
    """The BENCHMARKS.md section: set-up, table, verdicts, and the study's reading of them (NOTES.md) if any."""
    text = setup_line(d) + "\n\n" + markdown(d)
    if notes is not None and notes.is_file():
        text += "\n" + notes.read_text(encoding="utf-8")
    return text


def _diagonal_line(c: Mapping[str, Any]) -> str:
    if c["min"] is None:
        return "Diagonal goal: not judged (no fine-tuning or joint runs)."
    verdict = "**goal met**" if c["met"] else "**goal missed**"
    return (f"Diagonal goal (R[k][k] >= {c['goal']} on {', '.join(c['tasks'])} in every run of "
            f"{', '.join(c['judged_on'])}): lowest {c['min']:.3f}, {verdict}.")


def _ranking_lines(rk: Mapping[str, Any]) -> str:
    names = rk["tier_names"]
    tiers: dict[int, list[str]] = {}
    for a, t in rk["expected_tiers"].items():
        tiers.setdefault(t, []).append(a)
    expected = " > ".join(f"{names[t]} ({', '.join(sorted(tiers[t]))})" for t in sorted(tiers))
    lines = [f"Published ranking (O-LoRA Table 1; de Masson d'Autume et al. 2019): {expected}; fine-tuning "
             f"forgets most.", f"Measured ACC order: {' > '.join(rk['measured_acc_order'])}."]
    if rk.get("finetune_forgets_most") is not None:
        lines.append(f"Most forgetting: `{rk['most_forgetting']}`"
                     + ("" if rk["finetune_forgets_most"] else " (published: fine-tuning)") + ".")
    if not rk["inversions"]:
        lines.append("No pair is ranked against the published order.")
    for inv in rk["inversions"]:
        if inv.get("n"):
            ci = {"mean": inv["acc_diff"], "ci_low": inv["ci_low"], "ci_high": inv["ci_high"]}
            lines.append(f"- `{inv['measured_higher']}` above `{inv['expected_higher']}`: ACC difference "
                         f"{_fmt_ci(ci, signed=True)}, higher in {inv['higher_in']} of {inv['n']} orderings.")
        else:
            lines.append(f"- `{inv['measured_higher']}` above `{inv['expected_higher']}` (no shared orderings).")
    return "\n".join(lines)

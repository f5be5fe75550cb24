"""Sweep progress for the terminal: trials done / running / pending / errored and the best so far.

With shared prefixes a Tune trial is a group of runs under one first task, of several configurations: the line
counts groups and the runs finished in them, and names no best (a group is no configuration; the
per-configuration summary follows the sweep)."""

from __future__ import annotations

import sys
import time
from typing import Any

from ray.tune import Callback


class SweepProgress(Callback):
    def __init__(self, metric: str, mode: str, total: int, every_s: float = 10.0, runs: int | None = None) -> None:
        """`total` Tune trials; `runs`: the runs they hold when they are shared groups (None: one trial each)."""
        self.metric, self.mode, self.total, self.every_s, self.runs = metric, mode, total, every_s, runs
        self.t0 = time.perf_counter()
        self.last = 0.0

    def _line(self, trials: list[Any]) -> str:
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.status] = counts.get(t.status, 0) + 1
        done = counts.get("TERMINATED", 0)
        if self.runs is None:
            best = self._best(trials)
            what, best_txt = "", f"; best {self.metric}={best[0]:.4f} ({best[1]})" if best else ""
        else:
            finished = sum(int((t.last_result or {}).get("runs_finished", 0)) for t in trials)
            what, best_txt = f" shared groups ({finished}/{self.runs} runs)", ""
        return (f"[sweep {time.perf_counter() - self.t0:5.0f}s] {done}/{self.total}{what} done, "
                f"{counts.get('RUNNING', 0)} running, {counts.get('PENDING', 0)} pending, "
                f"{counts.get('ERROR', 0)} errored{best_txt}")

    def _best(self, trials: list[Any]) -> tuple[float, str] | None:
        scored = [(t.last_result[self.metric], str(t)) for t in trials
                  if t.status == "TERMINATED" and self.metric in (t.last_result or {})]
        if not scored:
            return None
        return max(scored) if self.mode == "max" else min(scored)

    def _print(self, trials: list[Any], force: bool = False) -> None:
        now = time.perf_counter()
        if force or now - self.last >= self.every_s:
            self.last = now
            print(self._line(trials), file=sys.stderr, flush=True)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._print(trials, force=True)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._print(trials, force=True)

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self._print(trials)

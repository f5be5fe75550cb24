"""ContinualTrainer: learn tasks in order; after each, evaluate every task (one row of R) and checkpoint."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from clsweep.approaches import Approach, TaskEnv
from clsweep.config import ExperimentConfig
from clsweep.metrics.task_metrics import TASK_METRICS
from clsweep.models import CLModel, task_loss
from clsweep.scenario import visible_classes
from clsweep.seeds import derived_seed
from clsweep.tasks.task import Task
from clsweep.training.batching import Batch, batch_indices, collate, interleave, length_grouped
from clsweep.training.best_epoch import BestEpoch
from clsweep.training.callbacks import Callback, CallbackList, StepInfo
from clsweep.training.evaluate import EvalResult, evaluate
from clsweep.training.faults import OutOfMemory, nonfinite_loss
from clsweep.training.mistakes import stage_mistakes
from clsweep.training.optim import build_optimizer, build_scheduler
from clsweep.training.state import Row, RunState, save_checkpoint

PHASE_KEYS = ("train_s", "after_task_s", "eval_s", "checkpoint_s")


def needed_cells(order: Sequence[str], stage: int, policy: str) -> list[str]:
    """Tasks scored after `stage` tasks. `needed`: what some metric reads: row b from the second task on (FWT),
    then tasks 1..stage (ACC, BWT, forgetting, learning accuracy) and task stage+1 (FWT's R[i-1][i])."""
    if policy == "full":
        return list(order)
    return list(order[1:]) if stage == 0 else list(order[: stage + 1])


def autocast_factory(device: torch.device, precision: str) -> Callable[[], contextlib.AbstractContextManager[Any]]:
    if precision == "fp32":
        return contextlib.nullcontext
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return lambda: torch.autocast(device.type, dtype=dtype)


class ContinualTrainer:
    def __init__(self, cfg: ExperimentConfig, tasks: dict[str, Task], model: CLModel, approach: Approach,
                 device: torch.device, pad_id: int, callbacks: Sequence[Callback] = (),
                 checkpoint_dir: Path | None = None) -> None:
        self.cfg, self.tasks, self.model, self.approach = cfg, tasks, model, approach
        self.device, self.pad_id = device, pad_id
        self.callbacks = CallbackList(callbacks)
        self.checkpoint_dir = checkpoint_dir
        self.autocast = autocast_factory(device, cfg.train.precision)
        self.env = TaskEnv(device=device, batches=self._batches, batch_loss=self._batch_loss, pad_id=pad_id,
                           autocast=self.autocast)
        self.global_step = 0
        self._where: tuple[str | None, str] = (None, "setup")  # for fault messages

    # ------------------------------------------------------------------------------------------ run
    def run(self, order: list[str], state: RunState | None = None, stop_after: int | None = None,
            defer_after_task: bool = False) -> RunState:
        """Train `order` from `state` (a boundary of this run, or of a run sharing its first tasks) up to
        `stop_after` tasks; `defer_after_task` leaves the last task's `after_task` to whoever continues."""
        try:
            return self._run(order, state, len(order) if stop_after is None else stop_after, defer_after_task)
        except torch.cuda.OutOfMemoryError as e:
            raise OutOfMemory.from_error(e, *self._where, self.device) from e

    def _run(self, order: list[str], state: RunState | None, stop_after: int, defer: bool) -> RunState:
        resumed = state is not None and state.completed > 0
        state = state or RunState(order=list(order))
        state.order = list(order)  # a shared prefix continues as this run: the tasks after it are ours
        if state.initial is None:
            with self._phase(None, "eval", state.timings, "initial_eval_s"):
                state.initial = self._evaluate_stage(order, state, 0, None)  # row b, needed for FWT
        self.global_step = int(state.timings.get("global_step", 0))
        self.callbacks.on_run_start(state, resumed)
        if state.pending_after_task is not None:
            # The shared first task was trained as fine-tuning; this run's approach now does its own after_task
            # on those weights, as it would have before the evaluation (which reads no RNG and no approach state).
            task, state.pending_after_task = state.pending_after_task, None
            with self._phase(task, "after_task", state.timings["tasks"][task]):
                self.approach.after_task(task, self.env)
        for position in range(state.completed, stop_after):
            task = order[position]
            t: dict[str, Any] = {}
            with self._phase(task, "train", t):
                steps, tokens, kept = self._learn(position, order[: position + 1])
            if kept is not None:
                t["kept_epoch"] = kept + 1  # 1-based, as epochs are counted in logs
            if defer and position == stop_after - 1:
                state.pending_after_task, t["after_task_s"] = task, 0.0
            else:
                with self._phase(task, "after_task", t):
                    self.approach.after_task(task, self.env)
            with self._phase(task, "eval", t):
                row = self._evaluate_stage(order, state, position + 1, task)
            state.rows.append(row)
            # tokens: non-padding training tokens, counted on the host (no device sync per step).
            t.update(steps=steps, steps_per_s=steps / max(t["train_s"], 1e-9), tokens=tokens,
                     tokens_per_s=tokens / max(t["train_s"], 1e-9))
            state.timings["tasks"][task] = t
            state.timings["global_step"] = self.global_step
            ckpt = None
            if self.checkpoint_dir is not None:
                with self._phase(task, "checkpoint", t):
                    ckpt = save_checkpoint(self.checkpoint_dir, state, self.model, self.approach,
                                           keep=self.cfg.run.keep_checkpoints)
            t["eval_share"] = t["eval_s"] / max(sum(v for k, v in t.items() if k in PHASE_KEYS), 1e-9)
            self.callbacks.on_task_end(position, task, state, ckpt)
        return state

    @contextlib.contextmanager
    def _phase(self, task: str | None, phase: str, into: dict[str, Any], key: str | None = None) -> Iterator[None]:
        """Time one phase of a task into `into[key]` and tell the observers when it starts and ends."""
        self.callbacks.on_phase_start(task, phase)
        self._where = (task, phase)
        t0 = time.perf_counter()
        yield
        seconds = time.perf_counter() - t0
        into[key or f"{phase}_s"] = seconds
        self.callbacks.on_phase_end(task, phase, seconds)

    # ------------------------------------------------------------------------------------- training
    def _learn(self, position: int, seen: list[str]) -> tuple[int, int, int | None]:
        task = seen[-1]
        train = self.cfg.train
        lr = self.tasks[task].spec.lr or train.lr
        train_on = self.approach.training_tasks(seen)
        self.env.epoch_steps = sum(math.ceil(len(self.tasks[t].splits["train"]) / train.batch_size) for t in train_on)
        self.approach.before_task(task, self.env)
        epochs = {t: self._epochs(t) for t in train_on}  # each task keeps its own epochs in a mixed stream
        total = sum(epochs[t] * math.ceil(len(self.tasks[t].splits["train"]) / train.batch_size) for t in train_on)
        named = [(n, p) for n, p in self._trainable(self.approach.stepped_tasks(seen)) if p.requires_grad]
        stepped = [p for _, p in named]
        self.env.stepped = stepped
        opt = build_optimizer(named, train, lr, self.device)
        sched = build_scheduler(opt, train, total)
        scaler = torch.amp.GradScaler(self.device.type, enabled=train.precision == "fp16")
        self.callbacks.on_task_start(position, task, total)
        self.model.train()
        step = tokens = checked = 0
        # Checked where the loss is read anyway (log points): a check every step would sync the GPU every step.
        finite = torch.ones((), dtype=torch.bool, device=self.device)
        best = BestEpoch() if train.keep_epoch == "best_dev" else None
        for epoch in range(max(epochs.values())):
            for name, idx in self._epoch(position, epoch, [t for t in train_on if epoch < epochs[t]]):
                data = self.tasks[name].splits["train"]
                batch = collate(data, idx, self.pad_id, self.device)
                tokens += sum(len(data.input_ids[i]) for i in idx)
                with self.autocast():
                    logits = self.model(name, batch)
                loss = self.approach.loss(name, batch, logits, task_loss(logits, batch["labels"]))
                finite &= torch.isfinite(loss.detach())
                # Every parameter, not only the optimizer's: replayed examples and distillation also reach
                # heads that are not stepped, and a gradient left there would grow across steps and tasks.
                self.model.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                self.approach.after_backward(name)
                if train.grad_clip is not None:
                    scaler.unscale_(opt)  # unscales exactly the optimizer's parameters: the ones clipped
                    torch.nn.utils.clip_grad_norm_(stepped, train.grad_clip)
                scaler.step(opt)
                scaler.update()
                sched.step()
                step += 1
                self.global_step += 1
                self.callbacks.on_batch(self.global_step)
                if step % train.log_every == 0 or step == total:
                    if not bool(finite):
                        raise nonfinite_loss(task, step, checked, float(loss.detach()))
                    checked = step
                    self.callbacks.on_step(StepInfo(position, task, step, total, self.global_step,
                                                    float(loss.detach()), float(sched.get_last_lr()[0])))
            if best is not None:
                best.consider(epoch, self._dev_score(train_on, seen), stepped)
                self.model.train()
        self.model.zero_grad(set_to_none=True)
        return step, tokens, best.restore(stepped) if best is not None else None

    def _dev_score(self, tasks: list[str], seen: list[str]) -> float:
        """Mean primary metric of `tasks` on dev (negated where lower is better), predicted as the scenario allows
        after `seen`; never test."""
        scores = []
        for t in tasks:
            classes = visible_classes(self.cfg.scenario, t, seen, self.model.task_head, self.model.task_classes)
            res = evaluate(self.model, self.tasks[t], "dev", self.cfg.eval.batch_size, self.device, self.pad_id,
                           self.autocast, False, classes)
            metric = self.tasks[t].metric_names[0]
            sign = 1.0 if TASK_METRICS.get(metric).higher_is_better else -1.0  # perplexity: lower is better
            scores.append(sign * float(res.scores[metric]))
        return sum(scores) / len(scores)

    def _epochs(self, task: str) -> int:
        return self.tasks[task].spec.epochs or self.cfg.train.epochs

    def _trainable(self, tasks: list[str]) -> Iterator[tuple[str, torch.nn.Parameter]]:
        heads = {self.model.task_head[t] for t in tasks}
        for name, p in self.model.named_parameters():
            if name.startswith("heads.") and name.split(".")[1] not in heads:
                continue  # heads the approach does not step: no update, and no weight decay creeping into them
            yield name, p

    def _epoch(self, position: int, epoch: int, train_on: list[str]) -> Iterator[tuple[str, list[int]]]:
        seed, bs = self.cfg.train.seed, self.cfg.train.batch_size
        # Data order comes from (seed, position, epoch, task) alone, so a resumed run sees the same batches.
        per_task = {t: self._train_batches(t, bs, derived_seed(seed, position, epoch, t)) for t in train_on}
        if len(per_task) == 1:
            yield from ((train_on[0], idx) for idx in per_task[train_on[0]])
        else:
            yield from interleave(per_task, derived_seed(seed, position, epoch, "mix"))

    def _train_batches(self, task: str, batch_size: int, seed: int) -> list[list[int]]:
        data = self.tasks[task].splits["train"]
        if self.cfg.train.group_by_length:
            return length_grouped([len(x) for x in data.input_ids], batch_size, seed)
        return batch_indices(len(data), batch_size, seed)

    # ------------------------------------------------------------------------------ approach access
    def _batches(self, task: str, split: str = "train", batch_size: int | None = None,
                 limit: int | None = None, sample: bool = False) -> Iterator[Batch]:
        """The split's batches in file order; `limit` keeps the first rows, or with `sample` a random subset
        seeded by (run seed, task, split) alone: files are often ordered by class or document."""
        data = self.tasks[task].splits[split]
        n = len(data) if limit is None else min(limit, len(data))
        if sample:
            g = torch.Generator().manual_seed(derived_seed(self.cfg.train.seed, task, split, "sample"))
            rows = sorted(torch.randperm(len(data), generator=g)[:n].tolist())
        else:
            rows = list(range(n))
        for idx in batch_indices(n, batch_size or self.cfg.train.batch_size, None):
            yield collate(data, [rows[i] for i in idx], self.pad_id, self.device)

    def _batch_loss(self, task: str, batch: Batch) -> torch.Tensor:
        with self.autocast():
            logits = self.model(task, batch)
        return task_loss(logits, batch["labels"])

    # ----------------------------------------------------------------------------------- evaluation
    def _evaluate_stage(self, order: list[str], state: RunState, stage: int, after: str | None) -> Row:
        """Evaluate every task on dev and test (one row of R); note the eval split's mistakes in `state`."""
        scores: dict[str, dict[str, dict[str, float]]] = {"dev": {}, "test": {}}
        seen = order[:stage]
        for split in ("dev", "test"):
            details = self.cfg.observe.misclassified and split == self.cfg.eval.split
            for t in needed_cells(order, stage, self.cfg.eval.cells):
                classes = visible_classes(self.cfg.scenario, t, seen, self.model.task_head, self.model.task_classes)
                res = evaluate(self.model, self.tasks[t], split, self.cfg.eval.batch_size, self.device,
                               self.pad_id, self.autocast, details, classes)
                scores[split][t] = res.scores
                if details and self.tasks[t].type != "mlm":  # masked-LM text has no per-example label
                    self._note_mistakes(state, t, split, res, stage, after)
        return Row(task=after, dev=scores["dev"], test=scores["test"])

    def _note_mistakes(self, state: RunState, task: str, split: str, res: EvalResult, stage: int,
                       after: str | None) -> None:
        m = stage_mistakes(task, self.tasks[task].type, split, self.tasks[task].splits[split].texts, res.truth,
                           res.preds, res.confidence, state.correct.get(task), stage, after,
                           self.cfg.eval.misclassified)
        state.misclassified[task] = m.records
        state.mistakes.setdefault(task, []).append(m.counts)
        state.correct[task] = m.correct

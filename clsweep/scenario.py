"""CL scenarios (van de Ven et al.): how tasks map to heads and which classes a prediction may choose from.

- task_il: a head per task (or shared by name), the task id known at test: a prediction chooses among the
  task's own labels, even on a head shared over a union of labels.
- domain_il: every task on one head over one label set; no task id at test.
- class_il: every task on one head over the union of all labels; no task id at test: after k tasks a
  prediction chooses among every class of tasks 1..k. Before any training (row b) it chooses among all
  classes, since none has been seen; FWT is not defined in class-IL (the classes of a task not yet
  learned cannot be predicted).
- generative: text2text tasks on a language model: every task writes strings with the one LM head over the
  vocabulary, so the output space is shared and no task id is given at test, unless the approach itself
  selects a per-task variant by task name (per-task adapters or prompts; result.json says so in
  `task_id_at_test`).
Training is the same in every scenario: the loss runs over the whole head.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

Scenario = Literal["task_il", "domain_il", "class_il", "generative"]
SCENARIOS: tuple[Scenario, ...] = ("task_il", "domain_il", "class_il", "generative")
SHARED_HEAD = "shared"  # the one head of domain_il and class_il, unless the tasklist names another
DESCRIPTIONS = {
    "task_il": "task-incremental: a head per task, task id at test",
    "domain_il": "domain-incremental: one head over one label set, no task id at test",
    "class_il": "class-incremental: one head over the union of labels, no task id at test, predictions over "
                "every class seen so far",
    "generative": "text-to-text: one LM head (the vocabulary) shared by every task, no task id at test unless the "
                  "approach selects by task; set by itself for text2text tasklists",
}


def visible_classes(scenario: str, task: str, seen: Sequence[str], task_head: Mapping[str, str],
                    task_classes: Mapping[str, Sequence[int] | None]) -> list[int] | None:
    """The label ids a prediction for `task` may choose after training `seen`; None: the whole head."""
    if scenario == "task_il":
        own = task_classes.get(task)
        return None if own is None else sorted(own)
    if scenario in ("domain_il", "generative") or not seen:
        return None
    head = task_head[task]
    ids: set[int] = set()
    for t in seen:
        if task_head[t] == head:
            own = task_classes.get(t)
            if own is None:
                return None
            ids.update(own)
    return sorted(ids)

"""Cross-section checks of an experiment: an approach against the scenario and the task types it runs on, and
the one-head scenarios against the tasklist."""

from __future__ import annotations

from typing import Any

from clsweep.scenario import SCENARIOS
from clsweep.tasks.spec import Tasklist


def is_generative(tasklist: Tasklist) -> bool:
    return any(s.type == "text2text" for s in tasklist.tasks.values())


def approach_scenarios(name: str) -> tuple[str, ...]:
    from clsweep.approaches import APPROACHES

    return tuple(APPROACHES.get(name).scenarios) if name in APPROACHES else ()


def approach_names() -> list[str]:
    from clsweep.approaches import APPROACHES

    return APPROACHES.names()


def check_approach_scenario(name: str, scenario: str, where: str = "scenario") -> None:
    """An approach runs only in the scenarios it defines itself for."""
    from clsweep.approaches import APPROACHES

    cls = APPROACHES.get(name)
    if scenario == "generative" and scenario not in cls.scenarios:
        valid = [n for n in APPROACHES.names() if "generative" in APPROACHES.get(n).scenarios]
        raise ValueError(f"approach '{name}' has no generative form (text2text tasks on a language model); valid "
                         f"approaches: {', '.join(valid)}" + ("" if where == "scenario" else f" ({where})"))
    if scenario not in cls.scenarios:
        valid = [s for s in SCENARIOS if s in cls.scenarios]
        raise ValueError(f"approach '{name}' does not support scenario {scenario} ({cls.scenario_note}); "
                         f"valid for {name}: {', '.join(valid)}" + ("" if where == "scenario" else f" ({where})"))


def check_approach_params(name: str, params: Any, task_types: frozenset[str]) -> None:
    from clsweep.approaches import APPROACHES

    if name not in APPROACHES:
        return  # reported by the approach's own validator
    problem = APPROACHES.get(name).params_problem(params, task_types)
    if problem:
        raise ValueError(problem)


def check_one_head(tasklist: Tasklist, scenario: str) -> None:
    """domain_il and class_il put every task on one classification head."""
    specs = list(tasklist.tasks.values())
    kinds = sorted({s.type for s in specs})
    if "mlm" in kinds or len(kinds) > 1:
        raise ValueError(f"scenario {scenario} puts every task on one head, so every task must be of one type, "
                         f"sequence or token (the tasklist has {', '.join(kinds)}); valid for mixed or masked-LM "
                         "tasklists: task_il")
    heads = sorted({s.head for s in specs if s.head})
    if len(heads) > 1:
        raise ValueError(f"scenario {scenario} puts every task on one head, but the tasklist names heads "
                         f"{', '.join(heads)}; name one head (or none) or use scenario task_il")


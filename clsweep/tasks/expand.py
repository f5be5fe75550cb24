"""Tasklist rewriting before validation: a data_dir maps hub tasks onto local copies; split_by makes tasks."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from clsweep.schema import Strict
from clsweep.tasks.types import TASK_TYPES


class SplitBy(Strict):
    """One task per value (or named group of values) of a column, e.g. CLINC150's ten domains."""

    column: str
    values: list[str] | None = Field(None, description="one task per value, named <task>_<value>")
    groups: dict[str, list[str]] | None = Field(None, description="one task per group, named <task>_<group>")
    keep: list[str] = Field(default_factory=list, description="values kept in every task (e.g. oos)")
    tasks: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                             description="per derived task settings, keyed by value or group")

    @field_validator("values", "keep", mode="before")
    @classmethod
    def _as_str(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _one_kind(self) -> SplitBy:
        if (self.values is None) == (self.groups is None):
            raise ValueError("give exactly one of values (one task per value) or groups (one task per group)")
        parts = self.parts()
        if not parts or any(not vals for vals in parts.values()):
            raise ValueError("list at least one value for every task")
        unknown = sorted(set(self.tasks) - set(parts))
        if unknown:
            raise ValueError(f"tasks names {', '.join(unknown)}, not a value or group; valid: {', '.join(parts)}")
        return self

    def parts(self) -> dict[str, list[str]]:
        """Suffix of each derived task -> the column values it keeps (besides `keep`)."""
        if self.groups is not None:
            return {g: [str(v) for v in vals] for g, vals in self.groups.items()}
        return {v: [v] for v in self.values or []}


def with_data_dir(tasks: dict[str, Any], data_dir: str | None) -> dict[str, Any]:
    """Hub tasks without their own `local:` read <data_dir>/<task name>/ instead of the hub."""
    if data_dir is None:
        return tasks
    out = {}
    for name, spec in tasks.items():
        if isinstance(spec, dict) and isinstance(spec.get("source"), dict) and spec["source"].get("kind") == "hub" \
                and spec.get("local") is None:
            spec = {**spec, "local": {"dir": str(PurePath(data_dir) / name)}}
        out[name] = spec
    return out


def split_tasks(tasks: dict[str, Any], deep_merge: Any) -> dict[str, Any]:
    """Replace every task with a valid `split_by` by its derived tasks; an invalid one stays for pydantic to report."""
    out: dict[str, Any] = {}
    for name, spec in tasks.items():
        if not isinstance(spec, dict) or spec.get("split_by") is None:
            out[name] = spec
            continue
        try:
            split = SplitBy.model_validate(spec["split_by"])
        except ValidationError:
            out[name] = spec
            continue
        for suffix, values in split.parts().items():
            new = f"{name}_{suffix}"
            if new in tasks or new in out:
                raise ValueError(f"tasks.{name}.split_by makes a task '{new}', a name the tasklist already has")
            derived = deep_merge(_derived(spec, split, values), split.tasks.get(suffix, {}))
            out[new] = {**derived, "name": new}
    return out


def _derived(spec: dict[str, Any], split: SplitBy, values: list[str]) -> dict[str, Any]:
    keep = [*values, *[k for k in split.keep if k not in values]]
    filters = dict(spec.get("filter") or {})
    filters[split.column] = keep
    derived = {k: v for k, v in spec.items() if k != "split_by"}
    derived["filter"] = filters
    task_type = spec.get("type", "sequence")
    default = TASK_TYPES.get(task_type).label_column if task_type in TASK_TYPES else None
    if split.column == (spec.get("label_column") or default) and not spec.get("labels"):
        mapping = {str(k): v for k, v in (spec.get("label_map") or {}).items()}
        # The split column holds the labels: the task's label list is exactly the values it keeps.
        derived["labels"] = [str(mapping.get(v, v)) for v in keep]
    return derived

"""The stable label list of a task and the mapping of raw label values to label ids."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Number
from typing import Any

from clsweep.errors import ConfigError
from clsweep.tasks.columns import RawSplit
from clsweep.tasks.errors import TaskErrors
from clsweep.tasks.spec import TaskSpec


def class_names(feature: Any) -> list[str] | None:
    """The names of a ClassLabel feature, or of a list-of-ClassLabel feature (token tags)."""
    from datasets import ClassLabel

    if isinstance(feature, ClassLabel):
        return list(feature.names)
    inner = getattr(feature, "feature", None)
    return list(inner.names) if isinstance(inner, ClassLabel) else None


def _flat(values: list[Any], token: bool) -> Iterable[Any]:
    return (v for row in values for v in row) if token else iter(values)


def _sorted_unique(values: Iterable[Any]) -> list[str]:
    unique = set(values)
    if all(isinstance(v, Number) and not isinstance(v, bool) for v in unique):
        return [str(v) for v in sorted(unique)]
    return sorted({str(v) for v in unique})


def dataset_names(spec: TaskSpec, classlabel: list[str] | None, err: TaskErrors) -> list[str] | None:
    """The names of int-coded labels: the dataset's ClassLabel, else the tasklist's `label_names`."""
    if spec.label_names is None:
        return classlabel
    if classlabel is not None and classlabel != spec.label_names:
        raise err.error("label_names", f"the dataset's own label names differ: [{', '.join(classlabel)}]; "
                                       "drop label_names or list exactly these")
    return list(spec.label_names)


def as_names(raw: RawSplit, names: list[str] | None, token: bool, mapping: dict[str, str] | None = None) -> RawSplit:
    """Raw values as label-name strings: ids become their names, anything else str(value); then `label_map`."""
    rename = mapping or {}

    def name(v: Any) -> str:
        if names is not None and isinstance(v, int) and 0 <= v < len(names):
            v = names[v]
        return rename.get(str(v), str(v))

    labels = [[name(v) for v in row] for row in raw.labels] if token else [name(v) for v in raw.labels]
    return RawSplit(raw.texts, raw.pairs, labels)


def resolve_labels(spec: TaskSpec, train: RawSplit, names: list[str] | None) -> list[str]:
    """Explicit `labels:` win; then the dataset's ClassLabel names; then sorted train values."""
    rename = spec.label_map or {}
    if spec.labels:
        return list(spec.labels)
    if names is not None:
        return list(dict.fromkeys(rename.get(n, n) for n in names))
    return list(dict.fromkeys(rename.get(v, v) for v in _sorted_unique(_flat(train.labels, spec.type == "token"))))


def check_labels(spec: TaskSpec, splits: dict[str, RawSplit], labels: list[str], origin: str,
                 err: TaskErrors) -> None:
    """Every label value of every split (already as names) must be in the label list."""
    known = set(labels)
    token = spec.type == "token"
    for split, raw in splits.items():
        bad = next((v for v in _flat(raw.labels, token) if v not in known), None)
        if bad is None:
            continue
        shown = ", ".join(labels)
        if origin == "explicit":
            raise err.error("labels", f"label '{bad}' in {split} split is not one of the listed labels: {shown}")
        if origin == "classlabel":
            raise err.error("label_column", f"label '{bad}' in {split} split is not a class of the dataset "
                                            f"({shown}); -1 marks an unlabelled split")
        raise err.error("labels", f"label '{bad}' in {split} split does not occur in train ({shown}); "
                                  "list every label under labels:")


def label_origin(spec: TaskSpec, names: list[str] | None) -> str:
    return "explicit" if spec.labels else "classlabel" if names is not None else "train"


def encode(raw: RawSplit, labels: list[str], token: bool) -> list[Any]:
    ids = {name: i for i, name in enumerate(labels)}
    if token:
        return [[ids[v] for v in row] for row in raw.labels]
    return [ids[v] for v in raw.labels]


def check_shared_heads(tasks: list[tuple[TaskSpec, list[str]]], errs: dict[str, TaskErrors]) -> None:
    """Tasks naming the same head must agree on type and on the exact label list."""
    first: dict[str, tuple[TaskSpec, list[str]]] = {}
    issues = []
    for spec, labels in tasks:
        head = spec.head_name
        if head not in first:
            first[head] = (spec, labels)
            continue
        other, other_labels = first[head]
        if other.type != spec.type:
            issues.append(errs[spec.name].issue("head", f"task '{spec.name}' ({spec.type}) shares head '{head}' "
                                                        f"with task '{other.name}' ({other.type}); types differ"))
        elif other.label_space != spec.label_space:
            issues.append(errs[spec.name].issue(
                "label_space", f"task '{spec.name}' shares head '{head}' with task '{other.name}' but their "
                               f"label_space differs ({spec.label_space} vs {other.label_space}); set both to union"))
        elif spec.label_space == "union":
            continue
        elif other_labels != labels:
            issues.append(errs[spec.name].issue(
                "head", f"task '{spec.name}' shares head '{head}' with task '{other.name}' but their labels "
                        f"differ: [{', '.join(labels)}] vs [{', '.join(other_labels)}]; map them onto one list "
                        "with label_map, or predict over their union (label_space: union; scenario class_il)"))
    if issues:
        raise ConfigError(issues)


def union_labels(tasks: list[tuple[str, str, list[str]]]) -> dict[str, list[str]]:
    """Head -> the union of the labels of its tasks (head, task, labels), in first-seen order."""
    out: dict[str, list[str]] = {}
    for head, _, labels in tasks:
        out[head] = list(dict.fromkeys([*out.get(head, []), *labels]))
    return out


def remap(ids: list[Any], own: list[str], union: list[str]) -> list[Any]:
    """Label ids of a task's own list as ids of the union list; token rows keep their ignore marks (< 0)."""
    index = [union.index(name) for name in own]

    def one(y: int) -> int:
        return index[y] if y >= 0 else y

    return [[one(y) for y in row] if isinstance(row, list) else one(row) for row in ids]

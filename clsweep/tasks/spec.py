"""Validated task specifications: where a task's data comes from and how it is read, keyed by name."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from clsweep.registry import UnknownNameError
from clsweep.schema import Strict
from clsweep.tasks.expand import SplitBy, split_tasks, with_data_dir
from clsweep.tasks.source_spec import ConllSource, DevSplit, HubSource, LocalFiles, Source, SyntheticSource
from clsweep.tasks.template import Template, field_names
from clsweep.tasks.types import TASK_TYPES


class TaskSpec(Strict):
    """One task of a tasklist. Columns default by task type; metrics' first entry fills R."""

    name: str
    type: str = "sequence"
    source: Source
    local: LocalFiles | None = Field(None, description="read a hub task from local files with the hub's columns")
    text_column: str | list[str] | None = Field(None, description="several columns are joined as 'column: value'")
    text_pair_column: str | list[str] | None = None
    label_column: str | None = None
    labels: list[str] | None = None
    label_names: list[str] | None = Field(None, description="names of int-coded labels, as a ClassLabel gives them")
    label_map: dict[str, str] | None = Field(None, description="rename label values, e.g. onto another task's labels")
    head: str | None = Field(None, description="tasks naming the same head share it")
    label_space: Literal["task", "union"] = Field(
        "task", description="union: tasks sharing a head predict over the union of their labels")
    metrics: list[str] | None = None
    filter: dict[str, Any] | None = Field(None, description="keep rows whose column holds the value (or one of a list)")
    empty_text: Literal["error", "empty", "drop"] = Field(
        "error", description="a null text cell (an empty CSV cell): stop, read it as '', or drop its row")
    split_by: SplitBy | None = None
    per_class: int | None = Field(None, ge=1, description="at most this many train examples per label")
    max_train_samples: int | None = Field(None, ge=1)
    max_eval_samples: int | None = Field(None, ge=1)
    eval_per_class: int | None = Field(None, ge=1, description="at most this many examples per label in the "
                                       "dataset's dev and test splits, drawn before dev is carved from them")
    dev: DevSplit | None = Field(None, description="carve dev label by label (from train or test) instead of "
                                                   "a random dev_fraction of train")
    dev_fraction: float = Field(0.1, gt=0, lt=1)
    split_seed: int = 0
    max_length: int | None = Field(None, ge=4)
    template: Template | None = Field(None, description="text2text: how the input is written (default: O-LoRA's "
                                                        "layout with an empty instruction)")
    target_column: str | None = Field(None, description="text2text: generate this column's free text instead of "
                                                        "the label name")
    max_target_length: int | None = Field(None, ge=1, description="text2text: most target tokens trained and "
                                                                  "generated (default: the longest train target)")
    epochs: int | None = Field(None, ge=1, description="overrides train.epochs for this task")
    lr: float | None = Field(None, gt=0, description="overrides train.lr for this task")

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in TASK_TYPES:
            raise ValueError(str(UnknownNameError("task type", v, TASK_TYPES.names())))
        return v

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_as_str(cls, v: Any) -> Any:
        # Labels may be written as ints or strings; names are strings everywhere downstream.
        if isinstance(v, list):
            return [str(x) for x in v]
        return v

    @field_validator("label_names", mode="before")
    @classmethod
    def _names_as_str(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v

    @field_validator("label_map", mode="before")
    @classmethod
    def _map_as_str(cls, v: Any) -> Any:
        # YAML reads `0: World` with an int key; raw values are compared as strings.
        return {str(k): str(x) for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("filter")
    @classmethod
    def _filter_values(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        out = {}
        for col, want in v.items():
            values = want if isinstance(want, list) else [want]
            if not values or any(isinstance(x, dict | list) for x in values):
                raise ValueError(f"filter.{col} must be a value or a non-empty list of values")
            out[col] = [str(x) for x in values]
        return out

    @field_validator("labels", "label_names")
    @classmethod
    def _unique_labels(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("labels must be unique")
        if v is not None and len(v) < 2 and v != []:
            raise ValueError("a task needs at least two labels")
        return v

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        from clsweep.metrics.task_metrics import TASK_METRICS, metrics_for

        if v is not None:
            if not v:
                raise ValueError("list at least one metric (the first fills R)")
            for name in v:
                if name not in TASK_METRICS:
                    raise ValueError(str(UnknownNameError("metric", name, TASK_METRICS.names())))
            task_type = str(info.data.get("type"))  # declared before `metrics`, so already validated
            valid = metrics_for(task_type) if task_type in TASK_TYPES else None
            bad = [m for m in v if valid is not None and m not in valid]
            if bad and valid is not None:
                raise ValueError(f"metric(s) {', '.join(bad)} do not apply to {task_type} tasks; "
                                 f"valid: {', '.join(valid)}")
        return v

    @model_validator(mode="after")
    def _fits_type(self) -> TaskSpec:
        if self.type == "mlm" and (self.text_pair_column or self.label_column or self.labels):
            raise ValueError("mlm tasks read raw text from one text_column; they take no pair or label settings")
        if self.type == "token" and self.empty_text == "empty":
            raise ValueError("empty_text: empty reads a null cell as ''; a token task needs words: use error or drop")
        if self.type == "token" and self.text_pair_column:
            raise ValueError("token tasks take one token column; text_pair_column is for sequence tasks")
        if isinstance(self.source, ConllSource) and self.type != "token":
            raise ValueError("conll sources hold token tags: set type: token")
        labelled = self.type == "sequence" or (self.type == "text2text" and self.target_column is None)
        if not labelled and (isinstance(self.text_column, list) or self.per_class or self.eval_per_class
                             or self.dev is not None):
            raise ValueError("lists of text columns and per-label sampling (per_class, eval_per_class, dev) are for "
                             "sequence tasks and labelled text2text tasks")
        if self.eval_per_class is not None and not {"dev", "test"} & mapped_splits(self):
            raise ValueError("eval_per_class caps the dataset's own dev and test splits, but this source gives "
                             "neither (both are carved from train); drop eval_per_class or map a test split")
        if self.dev is not None and "dev" in mapped_splits(self):
            raise ValueError("dev: carves a dev split, but the source already gives one; drop dev: or the source's "
                             "dev split")
        if self.local is not None and not isinstance(self.source, HubSource):
            raise ValueError("local: stands in for a hub source; point files/conll sources at the files directly")
        generative = (self.template is not None, self.target_column is not None, self.max_target_length is not None)
        if self.type != "text2text" and any(generative):
            raise ValueError("template, target_column and max_target_length are for text2text tasks")
        if self.template is not None:
            _check_column_formats(self.template, self.text_cols, self.pair_cols)
        if self.free_text and self.metrics and set(self.metrics) & {"accuracy", "invalid_rate"}:
            raise ValueError("a free-text target (target_column) has no label names: score it with exact_match "
                             "and rouge_l, not accuracy or invalid_rate")
        if self.type == "text2text" and self.target_column is not None and (self.labels or self.label_column):
            raise ValueError("a text2text task generates either label names (label_column, labels) or free text "
                             "(target_column), not both")
        if self.split_by is not None:
            raise ValueError("split_by could not be expanded")  # unreachable: the tasklist expands valid ones
        return self

    @property
    def text_cols(self) -> list[str]:
        col = self.text_column or TASK_TYPES.get(self.type).text_column
        return list(col) if isinstance(col, list) else [col]

    @property
    def pair_cols(self) -> list[str] | None:
        col = self.text_pair_column
        return None if col is None else list(col) if isinstance(col, list) else [col]

    @property
    def text_col(self) -> str:
        return self.text_cols[0]

    @property
    def label_col(self) -> str:
        return self.target_column or self.label_column or TASK_TYPES.get(self.type).label_column

    @property
    def metric_names(self) -> list[str]:
        if self.metrics is None and self.free_text:
            return ["exact_match", "rouge_l"]
        return list(self.metrics or TASK_TYPES.get(self.type).default_metrics)

    @property
    def free_text(self) -> bool:
        """A text2text task whose targets are a column's text, not label names."""
        return self.type == "text2text" and self.target_column is not None

    @property
    def prompt(self) -> Template:
        return self.template or Template()

    @property
    def head_name(self) -> str:
        return self.head or self.name


def _check_column_formats(template: Template, text: list[str], pair: list[str] | None) -> None:
    """template.text_format / pair_format must write exactly the columns of their slot, each at least once."""
    for key, fmt, cols, slot in (("text_format", template.text_format, text, "text_column"),
                                 ("pair_format", template.pair_format, pair, "text_pair_column")):
        if fmt is None:
            continue
        if cols is None:
            raise ValueError(f"template.{key} writes the {slot} columns, but the task has no {slot}")
        named = set(field_names(fmt))
        unknown, unused = sorted(named - set(cols)), [c for c in cols if c not in named]
        if unknown or unused:
            what = "; ".join([*([f"names {', '.join(unknown)}, not among them"] if unknown else []),
                              *([f"leaves out {', '.join(unused)}"] if unused else [])])
            raise ValueError(f"template.{key} must name each {slot} column ({', '.join(cols)}) in braces: it {what}")


def mapped_splits(spec: TaskSpec) -> set[str]:
    """The splits the source itself provides; the others are carved."""
    src = spec.source
    if spec.local is not None and spec.local.dir is None:
        return set(spec.local.paths())
    if isinstance(src, HubSource):
        return set(src.splits)
    if isinstance(src, SyntheticSource):
        return {"train", "dev", "test"}
    return set(src.paths())


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, merging nested mappings key by key."""
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class Tasklist(Strict):
    """`defaults:` apply to every task; each entry of `tasks:` (keyed by name) may override any of them."""

    defaults: dict[str, Any] = Field(default_factory=dict)
    data_dir: str | None = Field(None, description="hub tasks read <data_dir>/<task name>/<hub split>.<ext>")
    tasks: dict[str, TaskSpec]
    orders: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict):
            return data
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            return data
        tasks = {}
        for name, spec in data["tasks"].items():
            if isinstance(spec, TaskSpec):
                spec = spec.model_dump(exclude_unset=True)
            merged = deep_merge(defaults, spec) if isinstance(spec, dict) else spec
            if isinstance(merged, dict):
                merged = {**merged, "name": str(name)}
            tasks[str(name)] = merged
        data_dir = data.get("data_dir")
        tasks = with_data_dir(tasks, data_dir if isinstance(data_dir, str) else None)
        return {**data, "tasks": split_tasks(tasks, deep_merge)}

    @field_validator("tasks")
    @classmethod
    def _nonempty(cls, v: dict[str, TaskSpec]) -> dict[str, TaskSpec]:
        if not v:
            raise ValueError("a tasklist needs at least one task")
        return v

    @model_validator(mode="after")
    def _one_model_kind(self) -> Tasklist:
        kinds = {n: s.type == "text2text" for n, s in self.tasks.items()}
        if any(kinds.values()) and not all(kinds.values()):
            raise ValueError("text2text tasks train one generative LM, so every task must be text2text; not: "
                             + ", ".join(n for n, k in kinds.items() if not k))
        return self

    @model_validator(mode="after")
    def _orders_known(self) -> Tasklist:
        for oname, order in self.orders.items():
            check_order(order, list(self.tasks), f"orders.{oname}")
        return self


def check_order(order: list[str], known: list[str], where: str = "order") -> None:
    """An order lists known task names, each once."""
    for name in order:
        if name not in known:
            raise ValueError(str(UnknownNameError("task", name, known)) + f" (in {where})")
    dup = sorted({n for n in order if order.count(n) > 1})
    if dup:
        raise ValueError(f"{where} names {', '.join(dup)} more than once")
    if not order:
        raise ValueError(f"{where} is empty")

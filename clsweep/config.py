"""Experiment configuration: strict pydantic models, YAML loading, dotted overrides, readable errors."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from clsweep.registry import UnknownNameError
from clsweep.schema import Strict
from clsweep.tasks.spec import Tasklist, TaskSpec, check_order


class TinyBackbone(Strict):
    """Size of the built-in random-init BERT used by tests and the demo."""

    hidden_size: int = Field(64, ge=8)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(2, ge=1)
    intermediate_size: int = Field(128, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)


class ModelConfig(Strict):
    backbone: str = Field("tiny", description="'tiny', a hub model id, or a local directory")
    revision: str | None = None
    trust_remote_code: bool = False
    pooling: Literal["cls", "mean"] = "cls"
    max_length: int = Field(64, ge=4)
    head_dropout: float = Field(0.1, ge=0, lt=1)
    tiny: TinyBackbone = TinyBackbone()


class ApproachConfig(Strict):
    """`name` picks the approach; a block keyed by an approach's name holds that approach's Params."""

    name: str = "finetune"
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_blocks(cls, data: Any) -> Any:
        if isinstance(data, dict) and "params" not in data:
            blocks = {k: v for k, v in data.items() if k != "name"}
            return {"params": blocks, **({"name": data["name"]} if "name" in data else {})}
        return data

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        from clsweep.approaches import APPROACHES

        if v not in APPROACHES:
            raise ValueError(str(UnknownNameError("approach", v, APPROACHES.names())))
        return v

    @field_validator("params")
    @classmethod
    def _known_blocks(cls, v: dict[str, Any]) -> dict[str, Any]:
        from clsweep.approaches import APPROACHES

        for key, block in v.items():
            if key not in APPROACHES:
                valid = ["name", *APPROACHES.names()]
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValueError(f"unknown key '{key}'{hint}; valid keys: {', '.join(valid)} "
                                 "(a block named after an approach holds its parameters)")
            if not isinstance(block, BaseModel):
                v = {**v, key: APPROACHES.get(key).Params.model_validate(block or {})}
        return v

    def params_for(self, name: str | None = None) -> BaseModel:
        from clsweep.approaches import APPROACHES

        name = name or self.name
        block = self.params.get(name)
        return block if isinstance(block, BaseModel) else APPROACHES.get(name).Params()

    def model_dump_flat(self) -> dict[str, Any]:
        return {"name": self.name, **{k: v.model_dump(mode="json", by_alias=True) for k, v in self.params.items()}}


class TrainConfig(Strict):
    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1, description="sgd only")
    scheduler: Literal["constant", "linear", "cosine"] = "linear"
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    epochs: int = Field(1, ge=1)
    batch_size: int = Field(16, ge=1)
    grad_clip: float | None = Field(1.0, gt=0)
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    num_threads: int | None = Field(None, ge=1, description="torch CPU threads; default: torch's choice")
    log_every: int = Field(20, ge=1, description="steps between loss log points")


class EvalConfig(Strict):
    split: Literal["test", "dev"] = Field("test", description="the split whose scores fill `matrix`")
    batch_size: int = Field(128, ge=1)
    misclassified: int = Field(20, ge=0, description="misclassified samples kept per task")


class Distribution(Strict):
    """One search dimension: exactly one of the keys."""

    grid: list[Any] | None = None
    choice: list[Any] | None = None
    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    randint: tuple[int, int] | None = None
    quniform: tuple[float, float, float] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Distribution:
        set_keys = [k for k, v in self.__dict__.items() if v is not None]
        if len(set_keys) != 1:
            raise ValueError(f"give exactly one of {', '.join(type(self).model_fields)} (got {set_keys or 'none'})")
        for k in ("uniform", "loguniform", "randint", "quniform"):
            b = getattr(self, k)
            if b is not None and not b[0] < b[1]:
                raise ValueError(f"{k} needs low < high, got {list(b)}")
        if self.loguniform is not None and self.loguniform[0] <= 0:
            raise ValueError("loguniform needs low > 0")
        for k in ("grid", "choice"):
            if getattr(self, k) == []:
                raise ValueError(f"{k} needs at least one value")
        return self

    @property
    def kind(self) -> str:
        return next(k for k, v in self.__dict__.items() if v is not None)


class RandomOrderings(Strict):
    random: int = Field(ge=1)


Orderings = Literal["given", "all", "latin_square"] | RandomOrderings | list[list[str]] | list[str]


class SearchConfig(Strict):
    orderings: Orderings = "given"
    max_orderings: int = Field(120, ge=1, description="'all' above this many orders is refused unless force")
    force: bool = False
    seeds: list[int] = Field(default_factory=lambda: [0])
    space: dict[str, Distribution] = Field(default_factory=dict)
    algorithm: Literal["grid", "random", "optuna"] = "grid"
    num_samples: int = Field(1, ge=1)
    metric: str = Field("dev_acc", description="a reported key; dev_acc: mean dev score over seen tasks")
    mode: Literal["max", "min"] = "max"
    scheduler: Literal["fifo", "asha"] = "fifo"

    @field_validator("space")
    @classmethod
    def _space_keys(cls, v: dict[str, Distribution]) -> dict[str, Distribution]:
        roots = ("model", "approach", "train", "eval")
        for key in v:
            if key.split(".")[0] not in roots:
                raise ValueError(f"space key '{key}' must start with one of {', '.join(roots)}")
        return v


class ResourcesConfig(Strict):
    cpu: float = Field(1.0, gt=0)
    gpu: float | Literal["auto"] = "auto"

    @field_validator("gpu")
    @classmethod
    def _nonneg(cls, v: float | str) -> float | str:
        if isinstance(v, float) and v < 0:
            raise ValueError("gpu must be >= 0 or 'auto'")
        return v


class RunConfig(Strict):
    name: str | None = Field(None, description="experiment name; default: the YAML file's stem")
    storage_path: str = "./runs"
    cache_dir: str | None = Field(None, description="tokenization cache; default $CLSWEEP_CACHE or ~/.cache/clsweep")
    max_concurrent_trials: int | None = Field(None, ge=1)
    max_failures: int = Field(2, ge=0)
    keep_checkpoints: int = Field(1, ge=1, description="task-boundary checkpoints kept per run")
    tensorboard: bool = Field(True, description="per-task TensorBoard curves in <run folder>/tb")


class ExperimentConfig(Strict):
    tasklist: Tasklist
    order: list[str] | None = Field(None, description="training order by task name; default: tasklist order")
    model: ModelConfig = ModelConfig()
    approach: ApproachConfig = ApproachConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    search: SearchConfig = SearchConfig()
    resources: ResourcesConfig = ResourcesConfig()
    run: RunConfig = RunConfig()

    @model_validator(mode="after")
    def _order_known(self) -> ExperimentConfig:
        if self.order is not None:
            check_order(self.order, list(self.tasklist.tasks))
        search = self.search.orderings
        if isinstance(search, list) and search and isinstance(search[0], list):
            for i, o in enumerate(search):
                check_order(o, list(self.tasklist.tasks), f"search.orderings[{i}]")
        elif isinstance(search, list):
            for name in map(str, search):
                if name not in self.tasklist.orders:
                    raise ValueError(str(UnknownNameError("tasklist order", name, sorted(self.tasklist.orders)))
                                     + " (search.orderings)")
        return self

    @property
    def task_order(self) -> list[str]:
        return list(self.order or self.tasklist.tasks)

    def task(self, name: str) -> TaskSpec:
        return self.tasklist.tasks[name]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-able dict that `ExperimentConfig.model_validate` turns back into this config."""
        data = self.model_dump(mode="json")
        data["approach"] = self.approach.model_dump_flat()
        return data


# --------------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Issue:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """Bad user input: carries every issue found, each naming the file and the key path."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    @classmethod
    def one(cls, file: str | Path, path: str, message: str) -> ConfigError:
        return cls([Issue(str(file), path, message)])


@dataclass(frozen=True)
class Sources:
    """Which file each part of the merged config came from, for error messages."""

    experiment: str
    tasklist: str | None  # None when the tasklist is inline

    def locate(self, path: str) -> tuple[str, str]:
        if self.tasklist and (path == "tasklist" or path.startswith("tasklist.")):
            return self.tasklist, path[len("tasklist."):] if path != "tasklist" else ""
        return self.experiment, path


class _DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load keeps the last of two equal mapping keys silently (e.g. two tasks named alike): refuse."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable: the base class reports it
            if key in seen:
                raise _DuplicateKeyError(
                    problem=f"duplicate key '{key}' (first on line {seen[key] + 1})",
                    problem_mark=key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError.one(path, "", "file not found" if not path.exists() else "not a file")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError.one(path, "", f"invalid YAML: {where}{getattr(e, 'problem', None) or e}") from None


def parse_override(item: str) -> tuple[str, Any]:
    """`train.lr=1e-4` -> ("train.lr", 0.0001); values are read as YAML so lists and bools work."""
    if "=" not in item or not item.split("=", 1)[0].strip():
        raise ConfigError.one("--set", item, "expected KEY=VALUE with a dotted key, e.g. train.lr=1e-4")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    # YAML 1.1 reads "1e-4" as a string; a number is what anyone writing it means.
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value) if any(c in value for c in ".eE") else value
    return key.strip(), value


def apply_override(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError.one("--set", key, f"'{'.'.join(parts[: i + 1])}' is not a section")
        node = nxt
    node[parts[-1]] = value


def load_raw(path: Path, overrides: Sequence[str] = ()) -> tuple[dict[str, Any], Sources]:
    """The experiment YAML with its tasklist inlined and overrides applied, not yet validated."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError.one(path, "", "expected a mapping of sections (tasklist, model, approach, train ...)")
    tasklist_file = None
    tl = data.get("tasklist")
    if isinstance(tl, str):
        tl_path = (path.parent / tl).resolve() if not Path(tl).is_absolute() else Path(tl)
        if not tl_path.is_file():
            raise ConfigError.one(path, "tasklist", f"file not found: {tl_path}")
        tl_data = read_yaml(tl_path)
        if not isinstance(tl_data, dict):
            raise ConfigError.one(tl_path, "", "expected a mapping with `tasks:` (and optional `defaults:`, `orders:`)")
        data = {**data, "tasklist": tl_data}
        tasklist_file = str(tl_path)
    for item in overrides:
        apply_override(data, *parse_override(item))
    return data, Sources(str(path), tasklist_file)


def validate(data: dict[str, Any], sources: Sources, base_dir: Path | None = None) -> ExperimentConfig:
    base = base_dir or Path(sources.tasklist or sources.experiment).parent
    issues: list[Issue] = []
    if "approach" in data:
        data = {**data, "approach": _approach_params(data["approach"], sources, issues)}
    try:
        cfg = ExperimentConfig.model_validate(data, context={"base_dir": str(base)})
    except ValidationError as e:
        issues.extend(_issues(e, data, sources))
    if issues:
        raise ConfigError(issues)
    return cfg


def _approach_params(block: Any, sources: Sources, issues: list[Issue]) -> Any:
    """Validate each approach's own Params block here, where the key path can be kept exact."""
    from clsweep.approaches import APPROACHES

    if not isinstance(block, dict) or "params" in block:
        return block
    out: dict[str, Any] = {}
    for key, value in block.items():
        if key == "name" or key not in APPROACHES:
            out[key] = value  # pydantic reports unknown names with the valid ones
            continue
        if value is not None and not isinstance(value, dict):
            issues.append(Issue(sources.experiment, f"approach.{key}", f"expected a mapping of {key} parameters"))
            continue
        try:
            out[key] = APPROACHES.get(key).Params.model_validate(value or {})
        except ValidationError as e:
            issues.extend(_issues(e, {}, sources, prefix=["approach", key]))
    return out


def load_experiment(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    raw, sources = load_raw(Path(path), overrides)
    return validate(raw, sources)


# ------------------------------------------------------------------------------------- error messages


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _clean_loc(loc: Sequence[Any]) -> list[Any]:
    # Pydantic adds union-member and discriminator tags (e.g. 'files', 'function-after[...]') to locations.
    drop = ("function-", "list[", "dict[", "tuple[", "literal[", "RandomOrderings", "int", "float", "str")
    kinds = ("hub", "files", "conll", "synthetic")  # the source union's discriminator tags
    return [p for i, p in enumerate(loc) if not (isinstance(p, str) and p.startswith(drop))
            and not (i > 0 and loc[i - 1] == "source" and p in kinds)]


def _issues(err: ValidationError, data: dict[str, Any], sources: Sources, prefix: Sequence[Any] = ()) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for e in err.errors(include_url=False):
        loc = [*prefix, *_clean_loc(e["loc"])]
        if loc[:1] == ["approach"] and len(loc) >= 2 and loc[1] == "params":
            loc = ["approach", *loc[2:]]
        path = _dotted(loc)
        msg = _message(e, loc, data)
        if path in seen:  # one message per key: union members repeat the same complaint
            continue
        seen.add(path)
        file, inner = sources.locate(path)
        issues.append(Issue(file, inner, msg))
    return issues


def _message(e: Any, loc: list[Any], data: dict[str, Any]) -> str:
    kind = e["type"]
    if kind == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key '{loc[-1]}'{hint}; valid keys: {', '.join(valid)}"
    if kind == "missing":
        return "required key is missing"
    msg = str(e["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if kind not in ("value_error",) and "input" in e and not isinstance(e["input"], dict):
        msg += f" (got {e['input']!r})"
    return msg


def _valid_keys(loc: list[Any]) -> list[str]:
    """Field names of the model found at `loc`, for 'did you mean' hints on unknown keys."""
    from clsweep.tasks import spec

    model: Any = ExperimentConfig
    for part in loc:
        if model is Tasklist and part == "tasks":
            return _source_or_task_keys(loc, spec)
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            break
        model = field.annotation
    if loc[:1] == ["approach"]:
        return _approach_keys(loc)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(model.model_fields)
    return []


def _source_or_task_keys(loc: list[Any], spec: Any) -> list[str]:
    if "source" in loc:
        keys: set[str] = set()
        for cls in (spec.HubSource, spec.FilesSource, spec.ConllSource, spec.SyntheticSource):
            keys |= set(cls.model_fields)
        return sorted(keys)
    return sorted(k for k in spec.TaskSpec.model_fields if k != "name")


def _approach_keys(loc: list[Any]) -> list[str]:
    from clsweep.approaches import APPROACHES

    if len(loc) >= 2 and loc[1] in APPROACHES:
        # The names users write: `lambda`, not the Python field `lam`.
        return sorted(f.alias or n for n, f in APPROACHES.get(loc[1]).Params.model_fields.items())
    return ["name", *APPROACHES.names()]

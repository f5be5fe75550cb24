"""Reading experiment YAML: strict parsing, tasklist inlining, `--set` overrides, validation, readable errors."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from clsweep.config import ExperimentConfig
from clsweep.errors import ConfigError, Issue, Sources
from clsweep.tasks.spec import Tasklist, deep_merge


class _DuplicateKeyError(yaml.MarkedYAMLError):
    def __init__(self, key_path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key_path = key_path


def _node_paths(root: yaml.Node) -> dict[int, str]:
    """id(mapping node) -> its dotted key path in the document ('' for the top), so errors can name it."""
    paths: dict[int, str] = {}
    todo: list[tuple[yaml.Node, str]] = [(root, "")]
    while todo:
        node, path = todo.pop()
        if id(node) in paths:  # an alias: the anchor's path stands
            continue
        paths[id(node)] = path
        if isinstance(node, yaml.MappingNode):
            todo += [(v, f"{path}.{k.value}".lstrip(".")) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
        elif isinstance(node, yaml.SequenceNode):
            todo += [(v, f"{path}[{i}]") for i, v in enumerate(node.value)]
    return paths


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load keeps the last of two equal mapping keys silently (e.g. two tasks named alike): refuse."""

    def construct_document(self, node: yaml.Node) -> Any:
        self._paths = _node_paths(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable: the base class reports it
            if key in seen:
                parent = getattr(self, "_paths", {}).get(id(node), "")
                raise _DuplicateKeyError(
                    f"{parent}.{key}".lstrip("."), problem=f"duplicate key '{key}' (first on line {seen[key] + 1})",
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
        key_path = e.key_path if isinstance(e, _DuplicateKeyError) else ""
        raise ConfigError.one(path, key_path, f"invalid YAML: {where}{getattr(e, 'problem', None) or e}") from None


def read_tasklist(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A tasklist YAML with its `extends:` chain resolved: this file's keys on top of the base's."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError.one(path, "", "expected a mapping with `tasks:` (and optional `defaults:`, `orders:`)")
    base = data.get("extends")
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError.one(path, "extends", "expected the path of a tasklist YAML, relative to this file")
    base_path = (path.parent / base).resolve()
    if base_path in seen or base_path == path.resolve():
        raise ConfigError.one(path, "extends", f"{base_path} extends itself (a cycle)")
    if not base_path.is_file():
        raise ConfigError.one(path, "extends", f"file not found: {base_path}")
    return merge_tasklists(read_tasklist(base_path, (*seen, path.resolve())), data)


def merge_tasklists(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Defaults and tasks merge key by key (a task set to null is dropped); `orders:` replaces the base's."""
    out = {**base, **{k: v for k, v in child.items() if k not in ("extends", "defaults", "tasks")}}
    out["defaults"] = deep_merge(base.get("defaults") or {}, child.get("defaults") or {})
    tasks = dict(base.get("tasks") or {})
    for name, spec in (child.get("tasks") or {}).items():
        if spec is None:
            tasks.pop(name, None)
        elif isinstance(spec, dict) and isinstance(tasks.get(name), dict):
            tasks[name] = deep_merge(tasks[name], spec)
        else:
            tasks[name] = spec
    out["tasks"] = tasks
    return out


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


_CWD_PATHS = ("run.storage_path", "run.cache_dir")

# Keys of `search.space` are dotted names themselves (`train.lr`): below this prefix the rest is one key.
_DOTTED_KEYS = "search.space."


def apply_override(data: dict[str, Any], key: str, value: Any) -> list[str]:
    """Set the dotted `key` in `data`, making missing sections (returned, dotted); a value in the way is an error."""
    node = data
    if key.startswith(_DOTTED_KEYS) and len(key) > len(_DOTTED_KEYS):
        parts = [*_DOTTED_KEYS.rstrip(".").split("."), key[len(_DOTTED_KEYS):]]
    else:
        parts = key.split(".")
    created = []
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
            created.append(".".join(parts[: i + 1]))
        if not isinstance(nxt, dict):
            raise ConfigError.one("--set", key, f"'{'.'.join(parts[: i + 1])}' is not a section")
        node = nxt
    node[parts[-1]] = value
    return created


def apply_cli_overrides(data: dict[str, Any], overrides: Sequence[str],
                        options: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """Apply `KEY=VALUE` items to `data`; (dotted key, option) for each key set and each section created.

    `options` names the option that produced a key when it was not `--set` (e.g. {"order": "--order"}).
    """
    blamed: list[tuple[str, str]] = []
    for item in overrides:
        key, value = parse_override(item)
        if key in _CWD_PATHS and isinstance(value, str) and "://" not in value:
            value = str(Path(value).expanduser().absolute())  # typed on the command line: relative to the cwd
        option = (options or {}).get(key, "--set")
        blamed += [(k, option) for k in (*apply_override(data, key, value), key)]
    return tuple(blamed)


def load_raw(path: Path, overrides: Sequence[str] = (),
             options: Mapping[str, str] | None = None) -> tuple[dict[str, Any], Sources]:
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
        data = {**data, "tasklist": read_tasklist(tl_path)}
        tasklist_file = str(tl_path)
    blamed = apply_cli_overrides(data, overrides, options)
    return data, Sources(str(path), tasklist_file, blamed)


def validate(data: dict[str, Any], sources: Sources, base_dir: Path | None = None) -> ExperimentConfig:
    base = base_dir or Path(sources.tasklist or sources.experiment).parent
    issues: list[Issue] = []
    if "approach" in data:
        data = {**data, "approach": _approach_params(data["approach"], sources, issues)}
    try:
        context = {"base_dir": str(base), "config_dir": str(Path(sources.experiment).parent)}
        cfg = ExperimentConfig.model_validate(data, context=context)
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
        msg = _message(e, loc, data)
        path = _dotted(_from_defaults(loc, data))
        if path in seen:  # one message per key: union members repeat the same complaint
            continue
        seen.add(path)
        file, inner = sources.locate(path)
        issues.append(Issue(file, inner, msg))
    return issues


def _from_defaults(loc: list[Any], data: dict[str, Any]) -> list[Any]:
    """A mistake a task inherited from the tasklist's `defaults:` is reported where it was written."""
    tl = data.get("tasklist")
    if len(loc) < 4 or loc[:2] != ["tasklist", "tasks"] or not isinstance(tl, dict):
        return loc
    task, defaults = (tl.get("tasks") or {}).get(loc[2]), tl.get("defaults")
    if isinstance(task, dict) and isinstance(defaults, dict) and loc[3] not in task and loc[3] in defaults:
        return ["tasklist", "defaults", *loc[3:]]
    return loc


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
    from clsweep.tasks import source_spec as src

    if "source" in loc:
        keys: set[str] = set()
        for cls in (src.HubSource, src.FilesSource, src.ConllSource, src.SyntheticSource):
            keys |= set(cls.model_fields)
        return sorted(keys)
    block = {"dev": src.DevSplit, "local": src.LocalFiles, "split_by": spec.SplitBy}.get(loc[-1])
    if len(loc) > 3 and block is not None:  # a key inside a task's nested block, as the user writes it
        return sorted(f.alias or n for n, f in block.model_fields.items())
    return sorted(k for k in spec.TaskSpec.model_fields if k != "name")


def _approach_keys(loc: list[Any]) -> list[str]:
    from clsweep.approaches import APPROACHES

    if len(loc) >= 2 and loc[1] in APPROACHES:
        # The names users write: `lambda`, not the Python field `lam`.
        return sorted(f.alias or n for n, f in APPROACHES.get(loc[1]).Params.model_fields.items())
    return ["name", *APPROACHES.names()]

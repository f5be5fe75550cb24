"""Validated data sources of a task: a Hub dataset, files, CoNLL files or the synthetic suite, local copies of
a Hub dataset, and how dev is carved; no two split roles may read the same data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from clsweep.registry import UnknownNameError
from clsweep.schema import Strict
from clsweep.tasks.split_overlap import check_hub_splits, own_file

SplitName = Literal["train", "dev", "test"]
FILE_FORMATS = ("csv", "tsv", "json", "jsonl", "parquet")
SCRIPT_FIX = ("load a script-free copy: the Hub's automatic Parquet conversion (source.revision: "
              "refs/convert/parquet, with source.config unset), a Parquet mirror, or local files (local: or data_dir)")


def _resolve(path: str, info: ValidationInfo) -> str:
    """Relative data paths are relative to the YAML that names them, so configs can move as a folder."""
    base = (info.context or {}).get("base_dir")
    p = Path(path).expanduser()
    if not p.is_absolute() and base is not None:
        p = Path(base) / p
    return str(p)


class HubSource(Strict):
    """A dataset on the Hugging Face hub (or a local dataset script/folder) loaded with `load_dataset`."""

    kind: Literal["hub"]
    name: str
    config: str | None = None
    revision: str | None = None
    splits: dict[SplitName, str] = Field(
        default_factory=lambda: {"train": "train", "test": "test"},  # type: ignore[arg-type]
        description="our split name -> the dataset's split name (or a slice such as 'train[:10%]')",
    )
    trust_remote_code: bool = Field(False, description="no effect: datasets >= 4 runs no loading scripts")

    @field_validator("trust_remote_code")
    @classmethod
    def _no_scripts(cls, v: bool) -> bool:
        if v:
            raise ValueError(f"datasets >= 4 runs no dataset loading scripts, so remote code cannot be trusted in; "
                             f"drop trust_remote_code and {SCRIPT_FIX}")
        return v

    @field_validator("name")
    @classmethod
    def _local_name(cls, v: str, info: ValidationInfo) -> str:
        # A local dataset folder is named relative to the YAML, like every other path; a hub id
        # ("glue") stays as it is unless such a folder really sits next to the YAML.
        base = (info.context or {}).get("base_dir")
        explicit = v.startswith(("./", "../", "~", "/"))
        if explicit or (base is not None and (Path(base) / v).exists()):
            return _resolve(v, info)
        return v

    @field_validator("splits")
    @classmethod
    def _needs_train(cls, v: dict[str, str]) -> dict[str, str]:
        if "train" not in v:
            raise ValueError("must map 'train' to a split of the dataset")
        check_hub_splits(v)
        return v


class _SplitFiles(Strict):
    """One local file per split; dev and test are carved from train when absent."""

    train: str
    dev: str | None = None
    test: str | None = None

    @field_validator("train", "dev", "test")
    @classmethod
    def _abs(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else own_file(info.field_name or "", _resolve(v, info), info.data)

    def paths(self) -> dict[str, str]:
        return {s: p for s, p in (("train", self.train), ("dev", self.dev), ("test", self.test)) if p}


class FilesSource(_SplitFiles):
    """Local csv/tsv/json/jsonl/parquet files, one per split, read with `datasets`."""

    kind: Literal["files"]
    format: Literal["auto", "csv", "tsv", "json", "jsonl", "parquet"] = "auto"


class ConllSource(_SplitFiles):
    """CoNLL-style column files: one token per line, blank lines between sentences."""

    kind: Literal["conll"]
    token_column: int = 0
    tag_column: int = -1
    separator: str | None = None  # None splits on any whitespace


class SyntheticSource(Strict):
    """A task of the built-in synthetic suite, generated deterministically from a seed."""

    kind: Literal["synthetic"]
    task: str
    train_size: int = Field(600, ge=8)
    dev_size: int = Field(200, ge=4)
    test_size: int = Field(200, ge=4)
    seed: int = 0

    @field_validator("task")
    @classmethod
    def _known(cls, v: str) -> str:
        from clsweep.tasks.synthetic import SYNTHETIC_TASKS

        if v not in SYNTHETIC_TASKS:
            raise ValueError(str(UnknownNameError("synthetic task", v, SYNTHETIC_TASKS.names())))
        return v


class LocalFiles(Strict):
    """Local copies standing in for a hub dataset, with its columns: a folder of <hub split>.<ext> files or files."""

    dir: str | None = Field(None, description="holds one file per hub split, e.g. train.jsonl, validation.jsonl")
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    format: Literal["auto", "csv", "tsv", "json", "jsonl", "parquet"] = "auto"

    @field_validator("dir", "train", "dev", "test")
    @classmethod
    def _abs(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else own_file(info.field_name or "", _resolve(v, info), info.data)

    @model_validator(mode="after")
    def _dir_or_files(self) -> LocalFiles:
        if (self.dir is None) == (self.train is None):
            raise ValueError("give either dir (a folder with one file per hub split) or train (and dev/test) files")
        if self.dir is not None and (self.dev or self.test):
            raise ValueError("dev/test files go with train files, not with dir")
        return self

    def paths(self) -> dict[str, str]:
        return {s: p for s, p in (("train", self.train), ("dev", self.dev), ("test", self.test)) if p}


class DevSplit(Strict):
    """Dev carved label by label from another split: `per_class` examples of each label, or a `fraction` of each."""

    # `from` as users write it, also in config.json (to_dict), which validates back to the same config.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)

    from_: Literal["train", "test"] = Field("train", alias="from", description="the split dev is carved from")
    per_class: int | None = Field(None, ge=1, description="this many examples of each label")
    fraction: float | None = Field(None, gt=0, lt=1, description="this share of each label, rounded down")

    @model_validator(mode="after")
    def _one_size(self) -> DevSplit:
        if (self.per_class is None) == (self.fraction is None):
            raise ValueError("give exactly one of per_class (examples of each label) or fraction (share of each label)")
        return self


Source = Annotated[HubSource | FilesSource | ConllSource | SyntheticSource, Field(discriminator="kind")]
